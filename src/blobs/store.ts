/**
 * Content-addressed blob store: large data (chunk texts, manifests, intermediate results) lives
 * here and workflows pass only references (`sha256:<hex>`), keeping every payload far below
 * Temporal's 2 MB limit and history small. The key is the SHA-256 of the bytes, so a retried or
 * re-executed activity that writes the same result writes the same blob: writes are idempotent.
 *
 * The disk implementation is shared by every worker of one host (and the CLI, which writes the
 * corpus); the `BlobStore` interface is what an S3-style backend would implement for many hosts.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fsProblem } from '../fs-errors';

/** A content address in the blob store: `sha256:` and the hex digest of the bytes. */
export type BlobRef = `sha256:${string}`;

/** Where large content lives so that only references travel in payloads; an S3 backend would implement the same. */
export interface BlobStore {
  put(data: string | Uint8Array): Promise<BlobRef>;
  get(ref: string): Promise<Buffer>;
  has(ref: string): Promise<boolean>;
  /** Where blobs live, for messages ("blob … is missing from /path"). */
  readonly location: string;
}

/** Thrown for a reference the store does not hold (the failure type `BlobNotFound` is not retried). */
export class BlobNotFound extends Error {
  override name = 'BlobNotFound';
}

/** The store's directory cannot be written or read (its permissions, a file in its path, a full disk). */
export class BlobStoreUnavailable extends Error {
  override name = 'BlobStoreUnavailable';
}

const REF = /^sha256:([0-9a-f]{64})$/;

function blobRef(data: string | Uint8Array): BlobRef {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A content-addressed blob store in a directory (BRAID_BLOB_DIR), shared by the clients and workers of one host. */
export class FsBlobStore implements BlobStore {
  constructor(readonly location: string) {}

  private file(ref: string): string {
    const m = REF.exec(ref);
    if (!m) throw new Error(`not a blob reference: ${ref.slice(0, 80)}`);
    const hex = m[1]!;
    return path.join(this.location, hex.slice(0, 2), hex.slice(2));
  }

  async put(data: string | Uint8Array): Promise<BlobRef> {
    const ref = blobRef(data);
    const file = this.file(ref);
    try {
      await fs.access(file);
      return ref; // same bytes, same name: already there
    } catch {
      // not there yet
    }
    // Write to a private name and rename, so readers never see a half-written blob.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(tmp, data);
      await fs.rename(tmp, file);
    } catch (err) {
      throw new BlobStoreUnavailable(`cannot write to the blob store at ${this.location} (BRAID_BLOB_DIR): ${fsProblem(err)}`);
    }
    return ref;
  }

  async get(ref: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.file(ref));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new BlobNotFound(
          `blob ${ref} is missing from ${this.location}: the workers and the CLI must share one blob store (BRAID_BLOB_DIR), and this local store serves one host`,
        );
      throw new BlobStoreUnavailable(`cannot read the blob store at ${this.location} (BRAID_BLOB_DIR): ${fsProblem(err)}`);
    }
  }

  async has(ref: string): Promise<boolean> {
    try {
      await fs.access(this.file(ref));
      return true;
    } catch {
      return false;
    }
  }
}

export async function putJson(store: BlobStore, value: unknown): Promise<BlobRef> {
  return store.put(JSON.stringify(value));
}

export async function getJson<T>(store: BlobStore, ref: string): Promise<T> {
  return JSON.parse((await store.get(ref)).toString('utf8')) as T;
}
