/**
 * The blob store for many hosts: an S3-compatible bucket (AWS S3, or any server speaking its API)
 * named by BRAID_BLOB_URL=s3://bucket/prefix, with the standard AWS credential and endpoint
 * settings. References and key names are the directory store's (`<prefix>ab/cdef…`), so a local
 * store can be copied into a bucket with any S3 tool and keep working.
 *
 * Content addressing makes puts idempotent without a lock or a conditional write: two hosts that
 * write the same bytes write the same object. A put is one PUT (no HEAD first): a chunk costs as
 * much to check as to send, and rewriting an object refreshes its age for a lifecycle rule. The
 * in-memory cache of recent blobs (store.ts) is per process, as on disk, and never stale.
 *
 * Failures become the store's two errors: `BlobNotFound` (the object is not there; not retried)
 * and `BlobStoreUnavailable` (bucket missing, credentials refused, endpoint unreachable), each one
 * line naming BRAID_BLOB_URL or the AWS setting at fault.
 *
 * The AWS SDK is loaded when the first S3 store is made, so a worker or library user without
 * BRAID_BLOB_URL neither loads nor needs it (it is an optional peer of the library package).
 */
import type * as S3 from '@aws-sdk/client-s3';
import type { LRUCache } from 'lru-cache';
import { BlobNotFound, blobPath, blobRef, BlobStoreUnavailable, recentBlobs, type BlobRef, type BlobStore } from './store';

/** Where the bucket is and who Braid is to it (config.ts reads them from the AWS_* variables). */
export interface S3Settings {
  /** The bucket's name (BRAID_BLOB_URL's host part). */
  bucket: string;
  /** Key prefix, '' or ending in '/'. */
  prefix: string;
  /** AWS_REGION (default us-east-1). */
  region: string;
  /** An S3-compatible server's URL (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL); addressed path-style. */
  endpoint?: string;
  /** Unset: the AWS SDK's default chain (environment, ~/.aws, instance or task role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

function loadSdk(): typeof S3 {
  // The SDK warns on Node 20 about its releases after January 2027, on stderr, in every CLI command;
  // the version here is pinned, so the notice is for whoever upgrades it (set the variable to false to see it).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@aws-sdk/client-s3') as typeof S3;
  } catch {
    throw new Error('BRAID_BLOB_URL needs the @aws-sdk/client-s3 package; install it with `npm install @aws-sdk/client-s3`');
  }
}

/** A content-addressed blob store in an S3-compatible bucket (BRAID_BLOB_URL), shared by every host. */
export class S3BlobStore implements BlobStore {
  readonly location: string;
  private readonly sdk = loadSdk();
  private readonly s3: S3.S3Client;
  private readonly recent: LRUCache<string, Buffer>;

  constructor(
    private readonly settings: S3Settings,
    o: { cacheBytes?: number } = {},
  ) {
    this.location = `s3://${settings.bucket}${settings.prefix ? `/${settings.prefix.replace(/\/$/, '')}` : ''}`;
    this.recent = recentBlobs(o.cacheBytes);
    this.s3 = new this.sdk.S3Client({
      region: settings.region,
      endpoint: settings.endpoint,
      // Servers other than AWS are rarely set up for bucket-named host names.
      forcePathStyle: Boolean(settings.endpoint),
      credentials: settings.credentials,
      // Checksums only where S3 requires them: several S3-compatible servers reject the newer default ones.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Two quick attempts for a dropped connection or a 503; the activity's own retries do the rest.
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 5000, requestTimeout: 60_000, httpAgent: { keepAlive: true, maxSockets: 256 } },
    });
  }

  private key(ref: string): string {
    return this.settings.prefix + blobPath(ref);
  }

  async put(data: string | Uint8Array): Promise<BlobRef> {
    const bytes = Buffer.from(data); // a copy: the cache must not change with the caller's array
    const ref = blobRef(bytes);
    if (this.recent.get(ref)) return ref; // written or read by this process: already stored
    try {
      await this.s3.send(
        new this.sdk.PutObjectCommand({
          Bucket: this.settings.bucket,
          Key: this.key(ref),
          Body: bytes,
          ContentType: 'application/octet-stream',
        }),
      );
    } catch (err) {
      throw new BlobStoreUnavailable(`cannot write to the blob store at ${this.location} (BRAID_BLOB_URL): ${this.problem(err)}`);
    }
    this.recent.set(ref, bytes);
    return ref;
  }

  /** The blob's bytes; callers must not modify the buffer (it may be the cached copy). */
  async get(ref: string): Promise<Buffer> {
    const hit = this.recent.get(ref);
    if (hit) return hit;
    const key = this.key(ref);
    try {
      const out = await this.s3.send(new this.sdk.GetObjectCommand({ Bucket: this.settings.bucket, Key: key }));
      const b = Buffer.from(await out.Body!.transformToByteArray());
      this.recent.set(ref, b);
      return b;
    } catch (err) {
      if (this.missingObject(err))
        throw new BlobNotFound(`blob ${ref} is missing from ${this.location} (BRAID_BLOB_URL): it was never written there, or was deleted`);
      throw new BlobStoreUnavailable(`cannot read the blob store at ${this.location} (BRAID_BLOB_URL): ${this.problem(err)}`);
    }
  }

  async has(ref: string): Promise<boolean> {
    if (this.recent.get(ref)) return true;
    try {
      await this.s3.send(new this.sdk.HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.key(ref) }));
      return true;
    } catch (err) {
      if (this.missingObject(err)) return false;
      throw new BlobStoreUnavailable(`cannot read the blob store at ${this.location} (BRAID_BLOB_URL): ${this.problem(err)}`);
    }
  }

  /** Closes the HTTP connections. */
  close(): void {
    this.s3.destroy();
  }

  /** What went wrong, in words that name the setting to fix. */
  private problem(err: unknown): string {
    const name = err instanceof Error ? err.name : '';
    const code = (err as { code?: string }).code ?? '';
    const status = err instanceof this.sdk.S3ServiceException ? err.$metadata.httpStatusCode : undefined;
    if (name === 'NoSuchBucket') return `the bucket ${this.settings.bucket} does not exist`;
    if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'CredentialsProviderError'].includes(name) || status === 403)
      return `access refused (${name || status}): check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket's policy`;
    const endpoint = this.settings.endpoint ?? `AWS S3 in ${this.settings.region}`;
    if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH'].includes(code))
      return `${endpoint} cannot be reached (${code}); check AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL`;
    if (name === 'TimeoutError' || code === 'ETIMEDOUT') return `${endpoint} did not answer in time`;
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return `${name || 'error'}${status ? ` (HTTP ${status})` : ''}: ${message}`;
  }

  private missingObject(err: unknown): boolean {
    if (!(err instanceof this.sdk.S3ServiceException)) return false;
    // HEAD has no body, so a missing key is only a 404 there; a missing bucket is a 404 too, but named.
    return err.name === 'NoSuchKey' || (err.name !== 'NoSuchBucket' && err.$metadata.httpStatusCode === 404);
  }
}
