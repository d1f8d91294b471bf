/**
 * What Braid keeps outside Temporal, with a key configured (issue #14 §1): the answer cache (SQLite),
 * actors' shared state (Redis and SQLite) and the answer streams (Redis streams) hold sealed values
 * and keyed hashes, never the text; they read back equal; values from before encryption still read;
 * a ring without the writer's key is one clear error (the answer cache: a miss, its keys are keyed).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PayloadDecryptError } from '../src/encryption/codec';
import { KeyRing } from '../src/encryption/keys';
import { AnswerCache } from '../src/store/answer-cache';
import { RedisAnswerStreams } from '../src/store/answer-stream';
import { EncryptedVersionedStore } from '../src/store/sealed-state';
import { RedisVersionedStore, SqliteVersionedStore, type VersionedStore } from '../src/store/shared-state';
import { startRedis, type RedisServer } from './fixtures/flow-redis';

const newKey = () => randomBytes(32).toString('base64');
const ring = KeyRing.fromBase64([newKey()]);
const otherRing = KeyRing.fromBase64([newKey()]);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-seal-'));
let redis: RedisServer;
let raw: Redis;
let n = 0;

beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url);
});

afterAll(async () => {
  raw?.disconnect();
  await redis?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const sentinel = (what: string) => `SENTINEL-${what}-${randomBytes(6).toString('hex')}`;

/** Every byte of a SQLite database (main file and write-ahead log), as latin1 text to search. */
function sqliteBytes(file: string): string {
  return [file, `${file}-wal`]
    .filter((f) => fs.existsSync(f))
    .map((f) => fs.readFileSync(f).toString('latin1'))
    .join('');
}

/** Everything Redis holds: every key (SCAN) and its contents by type. */
async function redisContents(): Promise<string> {
  const out: string[] = [];
  for (const key of await raw.keys('*')) {
    out.push(key);
    const type = await raw.type(key);
    if (type === 'string') out.push((await raw.get(key)) ?? '');
    else if (type === 'hash') out.push(JSON.stringify(await raw.hgetall(key)));
    else if (type === 'list') out.push(JSON.stringify(await raw.lrange(key, 0, -1)));
    else if (type === 'stream') out.push(JSON.stringify(await raw.xrange(key, '-', '+')));
    else out.push(`<${type}>`);
  }
  return out.join('\n');
}

describe('the answer cache with a key', () => {
  const parts = (question: string) => ({ question, tools: ['lookup'], versions: { lookup: 'v1' } });

  it('keeps neither question nor answer in the file, and reads the answer back', () => {
    const file = path.join(dir, `cache-${n++}.db`);
    const question = sentinel('question');
    const answer = sentinel('answer');
    const cache = new AnswerCache(file, Date.now, ring);
    cache.put(parts(question), answer, 60_000);
    expect(cache.get(parts(question))).toMatchObject({ answer });
    cache.close();
    const bytes = sqliteBytes(file);
    expect(bytes).toContain('braid-sealed:1:');
    expect(bytes).not.toContain(answer);
    expect(bytes).not.toContain(question);
    expect(bytes).not.toContain(question.toLowerCase());
  });

  it('reads an answer cached before encryption; another key misses', () => {
    const file = path.join(dir, `cache-${n++}.db`);
    const question = sentinel('question');
    const answer = sentinel('answer');
    const plain = new AnswerCache(file);
    plain.put(parts(question), answer, 60_000);
    plain.close();
    expect(sqliteBytes(file)).toContain(answer); // the scan finds plain text where there is some
    const sealed = new AnswerCache(file, Date.now, ring);
    expect(sealed.get(parts(question))).toMatchObject({ answer });
    sealed.put(parts(question), answer, 60_000);
    sealed.close();
    expect(sqliteBytes(file)).not.toContain(answer); // the sealed answer replaced the plain row
    const rotated = new AnswerCache(file, Date.now, otherRing);
    expect(rotated.get(parts(question))).toEqual({ miss: 'no cached answer' });
    rotated.close();
  });
});

describe.each<[string, () => VersionedStore, () => Promise<string>]>([
  ['Redis', () => new RedisVersionedStore(redis.url, 'braid:seal:'), redisContents],
  ['SQLite', () => new SqliteVersionedStore(path.join(dir, 'shared.db')), async () => sqliteBytes(path.join(dir, 'shared.db'))],
])('actors shared state with a key (%s)', (_name, open, contents) => {
  it('keeps no value in the store, reads it back, reads plain values, and refuses a key it lacks clearly', async () => {
    const inner = open();
    const store = new EncryptedVersionedStore(inner, ring);
    const value = { note: sentinel('shared'), n: 3 };
    const key = `k-${n++}`;
    expect(await store.write({ key, value, expectedVersion: 0, token: 't1' })).toEqual({ ok: true, version: 1 });
    expect(await store.read(key)).toEqual({ value, version: 1 });
    const plainKey = `p-${n++}`;
    const plainValue = { note: sentinel('plain') };
    await inner.write({ key: plainKey, value: plainValue, token: 't2' });
    expect(await store.read(plainKey)).toEqual({ value: plainValue, version: 1 });
    await inner.close();
    const text = await contents();
    expect(text).toContain(plainValue.note); // the scan finds plain text where there is some
    expect(text).not.toContain(value.note);
    const stranger = new EncryptedVersionedStore(open(), otherRing);
    await expect(stranger.read(key)).rejects.toThrow(PayloadDecryptError);
    await expect(stranger.read(key)).rejects.toThrow(/encrypted with key [0-9a-f]{16}, which this process does not hold/);
    await stranger.close();
  });
});

describe('answer streams with a key (Redis)', () => {
  it('keeps no text in the stream, reads it back, reads plain chunks, and refuses a key it lacks clearly', async () => {
    const workflowId = `seal-${n++}`;
    const plain = new RedisAnswerStreams(redis.url);
    const plainText = sentinel('plain-chunk');
    await plain.append(workflowId, { branch: 'a', attempt: 1, kind: 'text', text: plainText });
    await plain.close();
    const writer = new RedisAnswerStreams(redis.url, ring);
    const text = sentinel('chunk');
    await writer.append(workflowId, { branch: 'a', attempt: 1, kind: 'text', text });
    const read = await writer.read(workflowId, '0', 100);
    expect(read.map((e) => e.chunk)).toEqual([
      { branch: 'a', attempt: 1, kind: 'text', text: plainText },
      { branch: 'a', attempt: 1, kind: 'text', text },
    ]);
    await writer.close();
    const all = await redisContents();
    expect(all).toContain(plainText);
    expect(all).not.toContain(text);
    const stranger = new RedisAnswerStreams(redis.url, otherRing);
    await expect(stranger.read(workflowId, '0', 100)).rejects.toThrow(
      /an answer stream's chunk of seal-\d+ is encrypted with key [0-9a-f]{16}/,
    );
    await stranger.close();
    const noKey = new RedisAnswerStreams(redis.url);
    await expect(noKey.read(workflowId, '0', 100)).rejects.toThrow(/cannot read: it has no key/);
    await noKey.close();
  });
});
