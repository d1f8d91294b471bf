/**
 * Content-addressed blob store: large data (chunk texts, manifests, intermediate results) lives
 * here and workflows pass only references (`sha256:<hex>`), keeping every payload far below
 * Temporal's 2 MB limit and history small. The key is the SHA-256 of the bytes, so a retried or
 * re-executed activity that writes the same result writes the same blob: writes are idempotent.
 *
 * Two backends implement `BlobStore` with the same references and the same layout
 * (`<prefix>/<first two hex digits>/<the other 62>`): this module's directory store, shared by the
 * workers and the CLI of one host, and the S3-compatible store of s3-store.ts, shared by many hosts.
 * Which one a process uses is decided in one place, `openBlobStore` (open.ts).
 */
import { LRUCache } from 'lru-cache';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fsProblem } from '../fs-errors';

/** A content address in the blob store: `sha256:` and the hex digest of the bytes. */
export type BlobRef = `sha256:${string}`;

/** Where large content lives so that only references travel in payloads (a local directory or an S3-compatible bucket). */
export interface BlobStore {
  put(data: string | Uint8Array): Promise<BlobRef>;
  get(ref: string): Promise<Buffer>;
  has(ref: string): Promise<boolean>;
  /** Where blobs live, for messages ("blob … is missing from /path"). */
  readonly location: string;
  /** Lets go of connections (a bucket's HTTP sockets); the store is not used afterwards. */
  close?(): void;
}

/** Thrown for a reference the store does not hold (the failure type `BlobNotFound` is not retried). */
export class BlobNotFound extends Error {
  override name = 'BlobNotFound';
}

/** The store cannot be written or read (a directory's permissions or a full disk; a bucket that is missing, refused or unreachable). */
export class BlobStoreUnavailable extends Error {
  override name = 'BlobStoreUnavailable';
}

const REF = /^sha256:([0-9a-f]{64})$/;

/** The content address of these bytes. */
export function blobRef(data: Uint8Array): BlobRef {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Where a blob lives below a store's root: `ab/cdef…` (256 fan-out directories on disk; the same key names in a bucket). */
export function blobPath(ref: string): string {
  const m = REF.exec(ref);
  if (!m) throw new Error(`not a blob reference: ${ref.slice(0, 80)}`);
  return `${m[1]!.slice(0, 2)}/${m[1]!.slice(2)}`;
}

/**
 * Recently written or read blobs, kept in memory up to a byte budget (least recently used out
 * first). A blob never changes under its name, so a cached copy is never stale: a map-reduce reads
 * back what the same worker wrote moments before without touching the disk or the network.
 */
export function recentBlobs(cacheBytes = 64 * 1024 * 1024): LRUCache<string, Buffer> {
  // A blob above a sixteenth of the budget is not kept: one large read would push out many small ones.
  return new LRUCache({ maxSize: cacheBytes, maxEntrySize: cacheBytes / 16, sizeCalculation: (b) => Math.max(1, b.length) });
}

/** A content-addressed blob store in a directory (BRAID_BLOB_DIR), shared by the clients and workers of one host. */
export class FsBlobStore implements BlobStore {
  private readonly recent: LRUCache<string, Buffer>;
  /** The 256 fan-out directories already made, so a write does not ask for them again. */
  private readonly dirs = new Set<string>();

  /** `cacheBytes`: how much of the recently written or read blobs to keep in memory (default 64 MB). */
  constructor(
    readonly location: string,
    o: { cacheBytes?: number } = {},
  ) {
    this.recent = recentBlobs(o.cacheBytes);
  }

  private file(ref: string): string {
    return path.join(this.location, ...blobPath(ref).split('/'));
  }

  async put(data: string | Uint8Array): Promise<BlobRef> {
    const bytes = Buffer.from(data); // a copy: the cache must not change with the caller's array
    const ref = blobRef(bytes);
    if (this.recent.get(ref)) return ref; // written or read by this process: already on disk
    const file = this.file(ref);
    try {
      // Same bytes, same name: already there. Its time is renewed, so `braid gc` counts its age from this write.
      const now = new Date();
      await fs.utimes(file, now, now);
      this.recent.set(ref, bytes);
      return ref;
    } catch {
      // not there yet
    }
    // Write to a private name and rename, so readers never see a half-written blob.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const dir = path.dirname(file);
      if (!this.dirs.has(dir)) {
        await fs.mkdir(dir, { recursive: true });
        this.dirs.add(dir);
      }
      await fs.writeFile(tmp, bytes);
      await fs.rename(tmp, file);
    } catch (err) {
      throw new BlobStoreUnavailable(`cannot write to the blob store at ${this.location} (BRAID_BLOB_DIR): ${fsProblem(err)}`);
    }
    this.recent.set(ref, bytes);
    return ref;
  }

  /** The blob's bytes; callers must not modify the buffer (it may be the cached copy). */
  async get(ref: string): Promise<Buffer> {
    const hit = this.recent.get(ref);
    if (hit) return hit;
    try {
      const b = await fs.readFile(this.file(ref));
      this.recent.set(ref, b);
      return b;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new BlobNotFound(
          `blob ${ref} is missing from ${this.location}: the workers and the CLI must share one blob store (BRAID_BLOB_DIR), and this local store serves one host`,
        );
      throw new BlobStoreUnavailable(`cannot read the blob store at ${this.location} (BRAID_BLOB_DIR): ${fsProblem(err)}`);
    }
  }

  async has(ref: string): Promise<boolean> {
    if (this.recent.get(ref)) return true;
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
