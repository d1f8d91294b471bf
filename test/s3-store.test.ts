/**
 * The S3-compatible blob store against a real S3 server (the Versity S3 Gateway, started here):
 * the directory store's references and key layout, idempotent puts from two "hosts", a missing
 * blob, and one-line errors for a missing bucket, refused credentials and an unreachable endpoint;
 * and `openBlobStore` choosing the backend from the settings.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBlobStore } from '../src/blobs/open';
import { S3BlobStore } from '../src/blobs/s3-store';
import { BlobNotFound, BlobStoreUnavailable, FsBlobStore, getJson, putJson } from '../src/blobs/store';
import { ConfigError, readConfig } from '../src/config';
import { freePort } from './fixtures/flow-redis';
import { startS3Server, type S3Server } from './fixtures/s3-server';

let s3: S3Server;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-s3-store-'));

beforeAll(async () => {
  s3 = await startS3Server();
}, 60_000);
afterAll(async () => {
  await s3?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const storeFor = (env: Record<string, string>) => openBlobStore(readConfig({ BRAID_BLOB_DIR: tmp, ...env }));
const MISSING = `sha256:${'0'.repeat(64)}`;

describe('S3BlobStore', () => {
  it('stores under the same references and key names as the directory store', async () => {
    const store = storeFor(s3.env('team/prod'));
    expect(store).toBeInstanceOf(S3BlobStore);
    expect(store.location).toBe(`s3://${s3.bucket}/team/prod`);
    const ref = await store.put('hello from host A');
    expect(ref).toBe(await new FsBlobStore(tmp).put('hello from host A'));
    // The gateway keeps an object as a file under <dir>/<bucket>/<key>: the key is <prefix>/ab/cdef….
    const hex = ref.slice('sha256:'.length);
    expect(fs.readFileSync(path.join(s3.dir, s3.bucket, 'team', 'prod', hex.slice(0, 2), hex.slice(2)), 'utf8')).toBe('hello from host A');
    store.close?.();
  });

  it('is read by a store of another process (no shared memory), and puts of the same bytes are idempotent', async () => {
    const a = storeFor(s3.env('shared'));
    const b = storeFor(s3.env('shared'));
    const value = { chunks: Array.from({ length: 50 }, (_, i) => `chunk ${i}`) };
    const [r1, r2] = await Promise.all([putJson(a, value), putJson(b, value)]);
    expect(r1).toBe(r2);
    expect(await getJson(storeFor(s3.env('shared')), r1)).toEqual(value);
    expect(await b.has(r1)).toBe(true);
    expect(await b.has(MISSING)).toBe(false);
    // Another prefix is another store.
    expect(await storeFor(s3.env('other')).has(r1)).toBe(false);
    for (const s of [a, b]) s.close?.();
  });

  it('says a missing blob is missing (BlobNotFound, not retried), naming the bucket', async () => {
    const err = await storeFor(s3.env('shared'))
      .get(MISSING)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobNotFound);
    expect((err as Error).message).toMatch(new RegExp(`^blob ${MISSING} is missing from s3://${s3.bucket}/shared \\(BRAID_BLOB_URL\\)`));
  });

  it('fails with one line naming the setting for a missing bucket, refused credentials and an unreachable endpoint', async () => {
    const fail = (env: Record<string, string>) =>
      storeFor({ ...s3.env(), ...env })
        .put(`probe ${Math.random()}`)
        .then(
          () => new Error('the put succeeded'),
          (e: unknown) => e as Error,
        );
    const noBucket = await fail({ BRAID_BLOB_URL: 's3://no-such-bucket/x' });
    expect(noBucket).toBeInstanceOf(BlobStoreUnavailable);
    expect(noBucket.message).toBe(
      'cannot write to the blob store at s3://no-such-bucket/x (BRAID_BLOB_URL): the bucket no-such-bucket does not exist',
    );
    const refused = await fail({ AWS_SECRET_ACCESS_KEY: 'wrong-secret' });
    expect(refused).toBeInstanceOf(BlobStoreUnavailable);
    expect(refused.message).toMatch(/\(BRAID_BLOB_URL\): access refused \(\w+\): check AWS_ACCESS_KEY_ID \/ AWS_SECRET_ACCESS_KEY/);
    const closed = `http://127.0.0.1:${await freePort()}`;
    const unreachable = await fail({ AWS_ENDPOINT_URL_S3: closed });
    expect(unreachable).toBeInstanceOf(BlobStoreUnavailable);
    expect(unreachable.message).toContain(`${closed} cannot be reached (ECONNREFUSED); check AWS_ENDPOINT_URL_S3`);
    for (const e of [noBucket, refused, unreachable]) expect(e.message).not.toContain('\n');
  });
});

describe('openBlobStore', () => {
  it('uses the directory without BRAID_BLOB_URL, and rejects a URL that is not s3://bucket/prefix', () => {
    const local = storeFor({});
    expect(local).toBeInstanceOf(FsBlobStore);
    expect(local.location).toBe(tmp);
    expect(() => readConfig({ BRAID_BLOB_URL: 'https://bucket/x' })).toThrow(ConfigError);
    expect(() => readConfig({ BRAID_BLOB_URL: 's3://B/x' })).toThrow(/invalid setting BRAID_BLOB_URL: expected s3:\/\/<bucket>\/<prefix>/);
    expect(readConfig({ BRAID_BLOB_URL: 's3://my-bucket' }).blobUrl).toEqual({ url: 's3://my-bucket', bucket: 'my-bucket', prefix: '' });
    expect(readConfig({ BRAID_BLOB_URL: 's3://my-bucket/a/b/' }).blobUrl).toEqual({
      url: 's3://my-bucket/a/b',
      bucket: 'my-bucket',
      prefix: 'a/b/',
    });
  });
});
