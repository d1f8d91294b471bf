// `read_file`: reads text files from one allowed directory (data/files by default).
//
// The path comes from a model, so it is treated as hostile. It is checked twice: lexically, so
// `../x` or an absolute path elsewhere is refused before the file system is even asked (and a
// refusal never reveals whether something exists out there), and again after realpath, so a
// symlink inside the root that points outside it is refused too. Only regular files are opened,
// which keeps FIFOs and devices from blocking the worker. Every message names paths relative to
// the root, never the root itself: what the model sees should not map the worker's file system.
// A bad path (a NUL byte, a symlink loop, a name too long, no permission) is the model's to fix,
// so it is a ToolError, not a fault to retry.
import { constants } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { defineTool, ToolError } from './registry';
import { directoryVersion } from './data-version';

export const READ_FILE_MAX_BYTES = 200_000;
const DEFAULT_MAX_BYTES = 100_000;
const LIST_LIMIT = 20;

export const READ_FILE_DESCRIPTION =
  'Read a UTF-8 text file from the shared files folder (planning notes, meeting minutes, CSV exports) and return its content. ' +
  "Paths are relative to that folder, e.g. 'notes/q3-plan.md'; read 'README.txt' first to see what is there. " +
  'Passing a directory returns an error that lists its entries. Binary files and paths outside the folder are refused. ' +
  `Files longer than maxBytes (default ${DEFAULT_MAX_BYTES}) are cut off and marked truncated.`;

const isInside = (root: string, target: string): boolean => {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

const toPosix = (p: string): string => p.split(sep).join('/');

const errnoCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/** File system errors that say the path itself is unusable, in words for the model. */
const BAD_PATH: Record<string, string> = {
  ELOOP: 'it runs into a loop of symbolic links',
  ENAMETOOLONG: 'the path or one of its names is too long',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EINVAL: 'the path is not valid',
};

/** Rethrows a file system error without the absolute paths Node puts in its messages. */
function translate(err: unknown, requested: string): never {
  if (err instanceof ToolError) throw err;
  const code = errnoCode(err);
  const why = code ? BAD_PATH[code] : undefined;
  if (why) throw new ToolError(`Cannot read ${JSON.stringify(requested)}: ${why}.`);
  throw new Error(`Reading ${JSON.stringify(requested)} failed${code ? ` (${code})` : ''}.`);
}

async function listEntries(dir: string): Promise<string> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const names = entries.slice(0, LIST_LIMIT).map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
  const more = entries.length > LIST_LIMIT ? ` … and ${entries.length - LIST_LIMIT} more` : '';
  return names.length > 0 ? names.join(', ') + more : '(empty)';
}

/** Decodes UTF-8 strictly. When the read was cut short, up to 3 trailing bytes of a split character are dropped. */
function decodeText(buf: Buffer, cut: boolean): string | undefined {
  if (buf.includes(0)) return undefined;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let drop = 0; drop <= (cut ? 3 : 0) && drop <= buf.length; drop++) {
    try {
      return decoder.decode(buf.subarray(0, buf.length - drop)).replace(/^\uFEFF/, '');
    } catch {
      // try again without the last byte
    }
  }
  return undefined;
}

export interface ReadFileResult extends Record<string, unknown> {
  /** Path relative to the allowed root, with '/' separators. */
  path: string;
  /** The file's full size in bytes (content may be shorter when truncated). */
  bytes: number;
  truncated: boolean;
  content: string;
}

export async function readAllowedFile(rootDir: string, requested: string, maxBytes: number, signal?: AbortSignal): Promise<ReadFileResult> {
  if (requested.includes('\0')) throw new ToolError('The path contains a NUL byte; file paths cannot.');
  const root = await realpath(rootDir).catch((err: unknown) => {
    throw new Error(`The shared files folder is not readable (${errnoCode(err) ?? 'error'}); check BRAID_FILES_DIR on the worker.`);
  });
  try {
    return await readInside(root, requested, maxBytes, signal);
  } catch (err) {
    return translate(err, requested);
  }
}

async function readInside(root: string, requested: string, maxBytes: number, signal?: AbortSignal): Promise<ReadFileResult> {
  const outside = new ToolError(
    `${JSON.stringify(requested)} is outside the allowed directory; use a path relative to it, e.g. 'README.txt'.`,
  );
  const candidate = resolve(root, requested);
  if (!isInside(root, candidate)) throw outside;

  let real: string;
  try {
    real = await realpath(candidate);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ENOTDIR') throw err;
    // List the parent to help the model, but only if it really is inside the root (it may be a symlink).
    const parent = await realpath(dirname(candidate)).catch(() => undefined);
    const listing =
      parent && isInside(root, parent)
        ? await listEntries(parent).then(
            (l) => ` Entries in ${toPosix(relative(root, parent)) || '.'}/: ${l}`,
            () => '',
          )
        : '';
    throw new ToolError(`No such file: ${JSON.stringify(requested)}.${listing}`);
  }
  if (!isInside(root, real)) throw outside;
  const shown = toPosix(relative(root, real)) || '.';

  const info = await stat(real);
  if (info.isDirectory()) {
    throw new ToolError(`${JSON.stringify(shown)} is a directory, not a file. It contains: ${await listEntries(real)}`);
  }
  if (!info.isFile()) throw new ToolError(`${JSON.stringify(shown)} is not a regular file.`);

  signal?.throwIfAborted();
  const handle = await open(real, constants.O_RDONLY);
  try {
    const want = Math.min(info.size, maxBytes);
    const buf = Buffer.alloc(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await handle.read(buf, got, want - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    const truncated = info.size > got;
    const content = decodeText(buf.subarray(0, got), truncated);
    if (content === undefined) {
      throw new ToolError(`${JSON.stringify(shown)} is a binary file (not UTF-8 text), so it cannot be read with this tool.`);
    }
    return { path: shown, bytes: info.size, truncated, content };
  } finally {
    await handle.close();
  }
}

export function createReadFileTool(opts: { rootDir: string }) {
  return defineTool({
    name: 'read_file',
    description: READ_FILE_DESCRIPTION,
    input: z.object({
      path: z.string().min(1).max(1_000).describe("File path relative to the shared files folder, e.g. 'notes/q3-plan.md'"),
      maxBytes: z
        .number()
        .int()
        .min(1)
        .max(READ_FILE_MAX_BYTES)
        .optional()
        .describe(`Read at most this many bytes (default ${DEFAULT_MAX_BYTES}, max ${READ_FILE_MAX_BYTES})`),
    }),
    timeoutMs: 10_000,
    dataVersion: () => directoryVersion(opts.rootDir),
    async handler({ path, maxBytes }, ctx) {
      return readAllowedFile(opts.rootDir, path, maxBytes ?? DEFAULT_MAX_BYTES, ctx.signal);
    },
  });
}
