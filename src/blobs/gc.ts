/**
 * Garbage collection of a local blob directory (`braid gc`). Blobs are written once and never
 * changed, and nothing records who uses them, so what may go is decided from two facts: a blob's
 * age (the file's modification time: when it was last written, a rewrite of the same bytes renews
 * it) and whether any open run still refers to it. References are found in the open runs'
 * histories (inputs, activity results, signals) and, transitively, inside the blobs they name
 * (summarize's manifest names every chunk). A blob older than the cut-off that no open run reaches
 * is deleted; so are temporary files an interrupted write left behind.
 *
 * S3 stores are not swept here: a bucket lifecycle rule expiring objects after the same age does
 * it there (README: "Blob lifecycle").
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BlobRef } from './store';

/** Every blob reference written in `text` (a history, a JSON blob). */
export function refsIn(text: string): BlobRef[] {
  return [...text.matchAll(/sha256:[0-9a-f]{64}/g)].map((m) => m[0] as BlobRef);
}

/** One blob file of a directory store. */
export interface BlobFile {
  ref: BlobRef;
  file: string;
  bytes: number;
  modifiedMs: number;
}

/** The blobs of a directory store, and the temporary files interrupted writes left. */
export async function listBlobDir(dir: string): Promise<{ blobs: BlobFile[]; temporary: BlobFile[] }> {
  const blobs: BlobFile[] = [];
  const temporary: BlobFile[] = [];
  let fanout: string[];
  try {
    fanout = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { blobs, temporary };
    throw err;
  }
  for (const sub of fanout) {
    if (!/^[0-9a-f]{2}$/.test(sub)) continue; // not the store's: other files in the data directory stay
    for (const name of await fs.readdir(path.join(dir, sub))) {
      const file = path.join(dir, sub, name);
      const st = await fs.stat(file);
      const hex = sub + name.slice(0, 62);
      const entry = { ref: `sha256:${hex}` as BlobRef, file, bytes: st.size, modifiedMs: st.mtimeMs };
      if (/^[0-9a-f]{62}$/.test(name)) blobs.push(entry);
      else if (/^[0-9a-f]{62}\.\d+\.[0-9a-f]+\.tmp$/.test(name)) temporary.push(entry);
    }
  }
  return { blobs, temporary };
}

/** What a sweep would delete (or deleted) and what it keeps. */
export interface GcPlan {
  /** Blobs older than the cut-off that no open run reaches. */
  delete: BlobFile[];
  /** Temporary files of interrupted writes older than the cut-off (or an hour, whichever is shorter). */
  temporary: BlobFile[];
  /** Old blobs kept because an open run reaches them. */
  keptReferenced: number;
  /** Blobs younger than the cut-off. */
  keptRecent: number;
}

/**
 * Decides what goes: `roots` are the references found in open runs; blobs they name are read to
 * follow the references inside them (only JSON-looking blobs, and each once). `reveal` turns a
 * blob's stored bytes into its content (decryption, when the store is encrypted: a manifest's
 * ciphertext names no chunk, and its chunks would go); a blob it cannot read stops the plan.
 */
export async function planGc(
  dir: string,
  roots: Iterable<string>,
  olderThanMs: number,
  now = Date.now(),
  reveal?: (ref: string, stored: Buffer) => Buffer,
): Promise<GcPlan> {
  const { blobs, temporary } = await listBlobDir(dir);
  const byRef = new Map(blobs.map((b) => [b.ref as string, b]));
  const reached = new Set<string>();
  const queue = [...roots];
  while (queue.length) {
    const ref = queue.pop()!;
    if (reached.has(ref)) continue;
    reached.add(ref);
    const b = byRef.get(ref);
    if (!b) continue;
    if (reveal) {
      const text = reveal(ref, await fs.readFile(b.file)).toString('utf8');
      if (text.startsWith('{') || text.startsWith('[')) queue.push(...refsIn(text));
      continue;
    }
    const head = await readHead(b.file);
    if (head === '{' || head === '[') queue.push(...refsIn(await fs.readFile(b.file, 'utf8')));
  }
  const cutoff = now - olderThanMs;
  const old = blobs.filter((b) => b.modifiedMs < cutoff);
  return {
    delete: old.filter((b) => !reached.has(b.ref)),
    temporary: temporary.filter((t) => t.modifiedMs < now - Math.min(olderThanMs, 3_600_000)),
    keptReferenced: old.filter((b) => reached.has(b.ref)).length,
    keptRecent: blobs.length - old.length,
  };
}

async function readHead(file: string): Promise<string> {
  const fh = await fs.open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(1), 0, 1, 0);
    return bytesRead ? buffer.toString('latin1') : '';
  } finally {
    await fh.close();
  }
}

/** Deletes what the plan says; a file already gone is not an error (another sweep, or a rewrite in between is kept). */
export async function sweep(plan: GcPlan, olderThanMs: number, now = Date.now()): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const b of [...plan.delete, ...plan.temporary]) {
    try {
      // Checked again right before deleting: a put of the same bytes since the plan renews the blob.
      const st = await fs.stat(b.file);
      if (st.mtimeMs >= now - olderThanMs && plan.delete.includes(b)) continue;
      await fs.rm(b.file);
      files++;
      bytes += b.bytes;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return { files, bytes };
}
