/**
 * Data versions for tools that read files (see `ToolDefinition.dataVersion`): a hash of every file's
 * path, size and modification time under a directory, or of one file's — so adding, removing or
 * changing a file changes the version. Cheap enough to compute on every cache lookup for the
 * folders Braid's example tools read (a handbook, a sample database).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

async function entries(dir: string, out: string[]): Promise<void> {
  let list: import('node:fs').Dirent[];
  try {
    list = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    out.push(`${dir}:missing`);
    return;
  }
  for (const e of list.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await entries(p, out);
    else if (e.isFile()) {
      const st = await fs.stat(p);
      out.push(`${p}:${st.size}:${st.mtimeMs}`);
    }
  }
}

/** The version of everything under `dir` (recursively). */
export async function directoryVersion(dir: string): Promise<string> {
  const out: string[] = [];
  await entries(dir, out);
  return createHash('sha256').update(out.join('\n')).digest('hex').slice(0, 16);
}

/** The version of one file (a database and its write-ahead log, when there is one). */
export async function fileVersion(file: string): Promise<string> {
  const parts: string[] = [];
  for (const f of [file, `${file}-wal`]) {
    const st = await fs.stat(f).catch(() => undefined);
    parts.push(st ? `${f}:${st.size}:${st.mtimeMs}` : `${f}:missing`);
  }
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);
}
