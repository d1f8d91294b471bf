// Turns the user's command-line arguments (files, directories, globs) into the list of files to
// read, in a deterministic order, before anything is read.
//
// An argument that exists on disk is taken literally, even when it contains glob characters, so a
// file called `notes[1].md` is never mistaken for a pattern. Directories are walked here rather
// than with fast-glob so that symlinked directories are followed without looping (each real
// directory is visited once). Inside a directory or a glob, unsupported files are skipped
// silently; given explicitly, they are reported. A directory or glob that yields no supported file
// is itself reported, so a typo never passes as an empty corpus; a directory that cannot be read
// (its permissions) is reported as unreadable, never as empty.
import fg from 'fast-glob';
import type { Dirent } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { errnoCode, fsProblem } from '../fs-errors';
import { extensionOf, kindOf } from './kinds';
import type { BadFile, SourceKind } from './types';

/** A file to read: where it is, how to name it, and what it should contain. */
export interface Candidate {
  path: string;
  absPath: string;
  kind: SourceKind;
}

/** Files to read and arguments that yielded nothing, in argument order. */
export type Expansion = (Candidate | BadFile)[];

export const isBadFile = (item: { path: string }): item is BadFile => 'reason' in item;

const SKIPPED_DIRS = new Set(['node_modules']);

const errorCode = errnoCode;

/** One short clause for a failed file-system call. */
export const fsReason = (err: unknown): string => {
  const code = errorCode(err);
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'not found';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'ELOOP') return 'unreadable: symlink loop';
  return `unreadable: ${fsProblem(err)}`;
};

/** The display path: relative to cwd (POSIX separators) when inside it, else absolute. */
const displayPath = (cwd: string, absPath: string): string => {
  const rel = relative(cwd, absPath);
  const inside = rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
  return inside ? rel.split(sep).join('/') : absPath;
};

const noFilesReason = (unsupported: Set<string>): string =>
  unsupported.size === 0 ? 'matched no files' : `matched no files (only unsupported types: ${[...unsupported].sort().join(', ')})`;

const byPath = (a: Candidate, b: Candidate): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/**
 * Every supported file under `root`, skipping dot entries and node_modules, each real dir once;
 * directories that cannot be read are listed with the reason.
 */
async function walk(root: string, cwd: string, unsupported: Set<string>): Promise<{ found: Candidate[]; unreadable: BadFile[] }> {
  const found: Candidate[] = [];
  const unreadable: BadFile[] = [];
  const seen = new Set<string>();
  const visit = async (dir: string): Promise<void> => {
    const real = await realpath(dir).catch(() => undefined);
    if (real === undefined || seen.has(real)) return;
    seen.add(real);
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      unreadable.push({ path: displayPath(cwd, dir), reason: `unreadable directory: ${fsProblem(err)}` });
      return;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.') || SKIPPED_DIRS.has(entry.name)) continue;
      const abs = join(dir, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await stat(abs).catch(() => undefined);
        isDir = target?.isDirectory() ?? false;
        // A dangling link is kept so that reading it reports the problem by name.
        isFile = target === undefined || target.isFile();
      }
      if (isDir) {
        await visit(abs);
      } else if (isFile) {
        const kind = kindOf(abs);
        if (kind === undefined) unsupported.add(extensionOf(abs) || '(no extension)');
        else found.push({ path: displayPath(cwd, abs), absPath: abs, kind });
      }
    }
  };
  await visit(root);
  return { found: found.sort(byPath), unreadable };
}

async function glob(pattern: string, cwd: string, unsupported: Set<string>): Promise<Candidate[]> {
  // fast-glob passes over missing directories itself; any other error (a directory it may not read)
  // reaches the caller, which reports the pattern as unreadable rather than as matching nothing.
  const matches = await fg(pattern, {
    cwd,
    onlyFiles: true,
    dot: false,
    unique: true,
    suppressErrors: false,
    followSymbolicLinks: true,
    ignore: pattern.includes('node_modules') ? [] : ['**/node_modules/**'],
  });
  const found: Candidate[] = [];
  for (const match of matches) {
    const abs = resolve(cwd, match);
    const kind = kindOf(abs);
    if (kind === undefined) unsupported.add(extensionOf(abs) || '(no extension)');
    else found.push({ path: displayPath(cwd, abs), absPath: abs, kind });
  }
  return found.sort(byPath);
}

/** Expands one argument into candidates (and directories under it that could not be read), or says why it yields nothing. */
async function expandOne(arg: string, cwd: string): Promise<(Candidate | BadFile)[] | BadFile> {
  if (arg.trim() === '') return { path: arg, reason: 'empty path' };
  const abs = resolve(cwd, arg);
  const path = displayPath(cwd, abs);
  let info;
  try {
    info = await stat(abs);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      // A dangling symlink exists as a link but not as a file.
      if (
        await lstat(abs).then(
          () => true,
          () => false,
        )
      )
        return { path, reason: 'not found (broken symlink)' };
      if (fg.isDynamicPattern(arg)) {
        const unsupported = new Set<string>();
        let found: Candidate[];
        try {
          found = await glob(arg, cwd, unsupported);
        } catch (globErr) {
          return { path: arg, reason: `unreadable: ${fsProblem(globErr)}` };
        }
        return found.length > 0 ? found : { path: arg, reason: noFilesReason(unsupported) };
      }
    }
    return { path, reason: fsReason(err) };
  }
  if (info.isDirectory()) {
    const unsupported = new Set<string>();
    const { found, unreadable } = await walk(abs, cwd, unsupported);
    if (unreadable[0]?.path === path) return unreadable[0]; // the directory itself
    if (found.length > 0) return [...found, ...unreadable];
    return unreadable.length ? unreadable : { path, reason: noFilesReason(unsupported) };
  }
  const kind = kindOf(abs);
  if (kind === undefined) {
    const ext = extensionOf(abs);
    return { path, reason: ext === '' ? 'unsupported type (no extension)' : `unsupported type ${ext}` };
  }
  return [{ path, absPath: abs, kind }];
}

/**
 * Expands arguments in order; within one directory or glob, paths are sorted. A file reached twice
 * (same absolute path) is kept at its first position only.
 */
export async function expandArgs(args: readonly string[], cwd: string): Promise<Expansion> {
  const expanded = await Promise.all(args.map((arg) => expandOne(arg, cwd)));
  const items: Expansion = [];
  const seen = new Set<string>();
  const seenBad = new Set<string>();
  for (const result of expanded) {
    if (!Array.isArray(result)) {
      if (!seenBad.has(result.path)) items.push(result);
      seenBad.add(result.path);
      continue;
    }
    for (const item of result) {
      if (isBadFile(item)) {
        if (!seenBad.has(item.path)) items.push(item);
        seenBad.add(item.path);
        continue;
      }
      if (seen.has(item.absPath)) continue;
      seen.add(item.absPath);
      items.push(item);
    }
  }
  return items;
}
