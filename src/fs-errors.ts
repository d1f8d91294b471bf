/**
 * A failed file-system call in words, for one-line errors that name the file or setting at fault:
 * "permission denied (EACCES)" rather than Node's "EACCES: permission denied, open '…'" — whose
 * path is often an internal one (a temporary file, a blob's shard directory) rather than the one
 * the user chose.
 */
const WORDS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'part of the path is not a directory',
  EISDIR: 'it is a directory',
  ELOOP: 'symbolic link loop',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long',
};

export const errnoCode = (err: unknown): string | undefined =>
  typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;

export function fsProblem(err: unknown): string {
  const code = errnoCode(err);
  if (code && WORDS[code]) return `${WORDS[code]} (${code})`;
  if (code) return code;
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}
