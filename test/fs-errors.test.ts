/**
 * File-system failures reach the user as words that name what is at fault — the blob store's
 * setting, the document, the directory — never as Node's raw "EACCES: permission denied, open …".
 *
 * The tests run as root here, where reading a mode-000 file or directory succeeds: a permission
 * failure is produced by a `readdir` that fails for one directory (the file-system boundary), and
 * by paths under a regular file (ENOTDIR), which fail for root too. The real mode-000 cases run
 * when the tests do not run as root.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BlobStoreUnavailable, FsBlobStore } from '../src/blobs/store';
import { fsProblem } from '../src/fs-errors';
import { expandArgs } from '../src/ingest/expand';

/** A directory whose listing the OS refuses, as it would for another user's mode-000 directory. */
const LOCKED = 'locked-dir';
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const refused = (path: string) => Object.assign(new Error(`EACCES: permission denied, scandir '${path}'`), { code: 'EACCES', path });
  return {
    ...fs,
    readdir: ((path: string, ...rest: unknown[]) =>
      String(path).includes(LOCKED)
        ? Promise.reject(refused(String(path)))
        : (fs.readdir as (...a: unknown[]) => unknown)(path, ...rest)) as typeof fs.readdir,
  };
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'braid-fs-errors-'));
  await mkdir(join(dir, LOCKED));
  await writeFile(join(dir, LOCKED, 'a.md'), '# A\n\ntext\n');
  await mkdir(join(dir, 'docs', LOCKED), { recursive: true });
  await writeFile(join(dir, 'docs', 'b.md'), '# B\n\ntext\n');
  await writeFile(join(dir, 'plain-file'), 'not a directory');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('file-system failures in words', () => {
  it('say what happened, with the code', () => {
    const errno = (code: string) => Object.assign(new Error(`${code}: something, open '/x'`), { code });
    expect(fsProblem(errno('EACCES'))).toBe('permission denied (EACCES)');
    expect(fsProblem(errno('ENOTDIR'))).toBe('part of the path is not a directory (ENOTDIR)');
    expect(fsProblem(errno('EWHATEVER'))).toBe('EWHATEVER');
    expect(fsProblem(new Error('plain\nsecond line'))).toBe('plain');
  });

  it('report a directory that cannot be read as unreadable, never as matching no files', async () => {
    expect(await expandArgs([LOCKED], dir)).toEqual([{ path: LOCKED, reason: 'unreadable directory: permission denied (EACCES)' }]);
    // Inside a directory that can be read, the unreadable one is reported beside what was found.
    const docs = await expandArgs(['docs'], dir);
    expect(docs.map((d) => ('reason' in d ? `${d.path}: ${d.reason}` : d.path))).toEqual([
      'docs/b.md',
      `docs/${LOCKED}: unreadable directory: permission denied (EACCES)`,
    ]);
  });

  it.skipIf(process.getuid?.() === 0)('report a real mode-000 directory as unreadable', async () => {
    const locked = join(dir, 'mode-000');
    await mkdir(locked);
    await chmod(locked, 0o000);
    try {
      expect(await expandArgs(['mode-000'], dir)).toEqual([
        { path: 'mode-000', reason: 'unreadable directory: permission denied (EACCES)' },
      ]);
    } finally {
      await chmod(locked, 0o755);
    }
  });

  it('name the blob store setting when the store cannot be written', async () => {
    const store = new FsBlobStore(join(dir, 'plain-file', 'blobs'));
    const err = await store.put('some chunk').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobStoreUnavailable);
    expect((err as Error).message).toBe(
      `cannot write to the blob store at ${join(dir, 'plain-file', 'blobs')} (BRAID_BLOB_DIR): part of the path is not a directory (ENOTDIR)`,
    );
  });
});
