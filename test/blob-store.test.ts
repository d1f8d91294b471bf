/** The disk blob store: content addressing, atomic writes, and the in-memory copies of recent blobs. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openConfiguredBlobStore } from '../src/blobs/open';
import { BlobNotFound, FsBlobStore, getJson, putJson } from '../src/blobs/store';
import { KeyRing } from '../src/encryption/keys';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-blobs-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const fileOf = (ref: string) => path.join(dir, ref.slice(7, 9), ref.slice(9));

describe('FsBlobStore', () => {
  it('names a blob by the SHA-256 of its bytes and leaves no temporary files', async () => {
    const store = new FsBlobStore(dir);
    const ref = await store.put('hello');
    expect(ref).toBe(`sha256:${createHash('sha256').update('hello').digest('hex')}`);
    expect(fs.readFileSync(fileOf(ref), 'utf8')).toBe('hello');
    expect(await store.put(Buffer.from('hello'))).toBe(ref);
    expect(fs.readdirSync(path.dirname(fileOf(ref)))).toEqual([path.basename(fileOf(ref))]);
  });

  it('is read by another store (another process) from disk', async () => {
    const ref = await putJson(new FsBlobStore(dir), { a: [1, 2] });
    const other = new FsBlobStore(dir);
    expect(await getJson(other, ref)).toEqual({ a: [1, 2] });
    expect(await other.has(ref)).toBe(true);
    expect(await other.has(`sha256:${'0'.repeat(64)}`)).toBe(false);
    await expect(other.get(`sha256:${'0'.repeat(64)}`)).rejects.toBeInstanceOf(BlobNotFound);
  });

  it('keeps its own copy of what it wrote: changing the caller’s array afterwards changes nothing', async () => {
    const store = new FsBlobStore(dir);
    const bytes = new Uint8Array([1, 2, 3]);
    const ref = await store.put(bytes);
    bytes[0] = 9;
    expect([...(await store.get(ref))]).toEqual([1, 2, 3]);
  });

  it('serves recent blobs from memory and the rest from disk, within its byte budget', async () => {
    const store = new FsBlobStore(dir, { cacheBytes: 1600 });
    const refs = [];
    for (let i = 0; i < 20; i++) refs.push(await store.put(`blob ${i} `.padEnd(100, '.')));
    // Take every file away: only what the store still holds in memory can be read.
    for (const ref of refs) fs.rmSync(fileOf(ref));
    const readable = await Promise.all(
      refs.map((r) =>
        store.get(r).then(
          () => true,
          (e: unknown) => (e instanceof BlobNotFound ? false : Promise.reject(e)),
        ),
      ),
    );
    expect(readable.slice(-16)).toEqual(Array(16).fill(true)); // 16 × 100 bytes fit
    expect(readable.slice(0, 4)).toEqual(Array(4).fill(false)); // the oldest were let go
  });
});

describe('openConfiguredBlobStore', () => {
  const key = Buffer.alloc(32, 7).toString('base64');
  const settings = (encryption: { key?: string }) => ({ blobDir: dir, s3: { region: 'us-east-1' }, encryption });

  it('opens the store the settings name, encrypted with their key when one is set', async () => {
    const plain = openConfiguredBlobStore(settings({}));
    const ref = await plain.put('hello');
    expect(fs.readFileSync(fileOf(ref), 'utf8')).toBe('hello');

    const sealed = openConfiguredBlobStore(settings({ key }));
    const sealedRef = await sealed.put('a secret document');
    expect((await sealed.get(sealedRef)).toString()).toBe('a secret document');
    const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((p) => path.join(dir, p));
    expect(files.filter((f) => fs.statSync(f).isFile() && fs.readFileSync(f).includes('a secret document'))).toEqual([]);
  });

  it('takes a key ring given in place of the settings (the worker plugin’s `encryption` option), or none', async () => {
    const ring = KeyRing.fromBase64([key]);
    const store = openConfiguredBlobStore(settings({}), ring);
    const ref = await store.put('given ring');
    expect((await openConfiguredBlobStore(settings({ key })).get(ref)).toString()).toBe('given ring');
    await expect(new FsBlobStore(dir).get(ref).then((b) => b.toString())).resolves.not.toBe('given ring');
  });
});
