/**
 * The one place a blob store is made from the settings: the workers (api/worker.ts), the CLI
 * (publish, summarize, reading stored answers) and anything else that must find the same blobs
 * call `openBlobStore`. BRAID_BLOB_URL selects the S3-compatible store every host shares;
 * without it, the directory BRAID_BLOB_DIR, which serves one host. A wrapper that changes how
 * blobs are kept (encryption) wraps what this returns, so it applies to both backends.
 */
import { withBlobEncryption } from '../encryption/blobs';
import { configuredKeyRing, type KeyRing } from '../encryption/keys';
import { S3BlobStore, type S3Settings } from './s3-store';
import { FsBlobStore, type BlobStore } from './store';

/** The blob settings of `readConfig` (a whole `BraidConfig` will do). */
export interface BlobSettings {
  /** BRAID_BLOB_DIR: the directory store, used when `blobUrl` is unset. */
  blobDir: string;
  /** BRAID_BLOB_URL, parsed: the bucket and key prefix ('' or ending in '/'). */
  blobUrl?: { url: string; bucket: string; prefix: string };
  /** Region, endpoint and credentials from the AWS_* settings. */
  s3: Omit<S3Settings, 'bucket' | 'prefix'>;
}

/** The blob store the settings name; `cacheBytes` bounds its in-memory cache of recent blobs (default 64 MB). */
export function openBlobStore(cfg: BlobSettings, o: { cacheBytes?: number } = {}): BlobStore {
  if (cfg.blobUrl) return new S3BlobStore({ bucket: cfg.blobUrl.bucket, prefix: cfg.blobUrl.prefix, ...cfg.s3 }, o);
  return new FsBlobStore(cfg.blobDir, o);
}

/**
 * The blob store the settings name, encrypted with the settings' key ring when payload encryption is
 * on (BRAID_ENCRYPTION_KEY / _KEYS_FILE): what the CLI and the worker plugin read and write through.
 * `ring` overrides the settings' (the plugin's `encryption` option); undefined: no encryption.
 */
export function openConfiguredBlobStore(
  cfg: BlobSettings & { encryption: { key?: string; keysFile?: string } },
  ring: KeyRing | undefined = configuredKeyRing(cfg),
): BlobStore {
  return withBlobEncryption(openBlobStore(cfg), ring);
}

/** Which setting names this store, for messages ("… the blob store (BRAID_BLOB_URL) …"). */
export function blobSetting(cfg: BlobSettings): 'BRAID_BLOB_URL' | 'BRAID_BLOB_DIR' {
  return cfg.blobUrl ? 'BRAID_BLOB_URL' : 'BRAID_BLOB_DIR';
}
