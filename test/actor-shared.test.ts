/**
 * Agents sharing state through the versioned store, on a real redis-server (started here): 20
 * agents increment and append to one key at once. Through compare-and-swap nothing is lost; through
 * the naive read-modify-write (`write: 'blind'`) concurrent updates overwrite each other. Also the
 * store itself, on Redis and on SQLite: a stale version is refused, and a write retried after it
 * landed is reported as done, not applied twice.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, sendMessage } from '../src/cli/actor-messages';
import { ACTOR_WORKFLOW, actorWorkflowId, stopSignal, type ActorInput, type SharedOp } from '../src/shared/actor';
import type { Simulator } from '../src/simulator';
import { RedisVersionedStore, SqliteVersionedStore, type VersionedStore } from '../src/store/shared-state';
import { ToolRegistry } from '../src/tools';
import { startRedis, type RedisServer } from './fixtures/flow-redis';
import { connect, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

const AGENTS = 20;
const EACH = 5;

let redis: RedisServer;
let store: RedisVersionedStore;
let h: Harness;
let sim: Simulator;
let w: TestWorker;
let dir: string;
let n = 0;

beforeAll(async () => {
  [redis, h, sim] = await Promise.all([startRedis(), connect(), startSimulator()]);
  store = new RedisVersionedStore(redis.url);
  w = await startWorker(h, new ToolRegistry(), sim, {}, { sharedState: store });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-shared-'));
});
afterAll(async () => {
  await w?.shutdown();
  await store?.close();
  await Promise.all([sim?.close(), h?.close(), redis?.close()]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** 20 agents, each changing `key` EACH times (one message after another), all agents at once. */
async function crowd(key: string, op: (agent: number, i: number) => SharedOp, write: 'cas' | 'blind') {
  const tag = `${Date.now().toString(36)}-${n++}`;
  const addresses = Array.from({ length: AGENTS }, (_, i) => `counter-${tag}-${i}`);
  await Promise.all(
    addresses.map((address) =>
      h.client.workflow.start(ACTOR_WORKFLOW, {
        taskQueue: w.taskQueue,
        workflowId: actorWorkflowId(address),
        args: [{ address, spec: { role: 'counter' } } satisfies ActorInput],
      }),
    ),
  );
  const replies = await Promise.all(
    addresses.map(async (address, a) => {
      const out = [];
      for (let i = 0; i < EACH; i++)
        out.push((await sendMessage(h.client, address, envelope({ kind: 'shared', key, op: op(a, i), write }))).reply);
      return out;
    }),
  );
  await Promise.all(addresses.map((a) => h.client.workflow.getHandle(actorWorkflowId(a)).signal(stopSignal)));
  return { replies: replies.flat(), final: await store.read(key) };
}

describe('shared state between agents (real Redis)', () => {
  it('20 agents increment one key through compare-and-swap: nothing is lost', async () => {
    const key = `count-cas-${n}`;
    const { replies, final } = await crowd(key, () => ({ type: 'increment' }), 'cas');
    expect(replies.every((r) => r.ok)).toBe(true);
    expect(final.value).toBe(AGENTS * EACH);
    expect(final.version).toBe(AGENTS * EACH);
    // Conflicts happened and were retried: some change needed more than one round.
    expect(Math.max(...replies.map((r) => r.shared!.attempts))).toBeGreaterThan(1);
  });

  it('the same through a naive read-modify-write loses updates', async () => {
    const key = `count-blind-${n}`;
    const { replies, final } = await crowd(key, () => ({ type: 'increment' }), 'blind');
    expect(replies.every((r) => r.ok)).toBe(true);
    expect(final.version).toBe(AGENTS * EACH); // every write landed…
    expect(final.value as number).toBeLessThan(AGENTS * EACH); // …but overwrote others' updates
  });

  it('20 agents append to one list through compare-and-swap: every item is there once', async () => {
    const key = `list-cas-${n}`;
    const { final } = await crowd(key, (a, i) => ({ type: 'append', item: `${a}:${i}` }), 'cas');
    const items = final.value as string[];
    expect(items).toHaveLength(AGENTS * EACH);
    expect(new Set(items).size).toBe(AGENTS * EACH);
  });
});

describe.each([
  ['Redis', () => new RedisVersionedStore(redis.url, `braid:test:${n++}:`)],
  ['SQLite', () => new SqliteVersionedStore(path.join(dir, `s-${n++}.db`))],
])('versioned store on %s', (_name, open: () => VersionedStore) => {
  it('refuses a stale version and recognises a retried write', async () => {
    const s = open();
    try {
      expect(await s.read('k')).toEqual({ value: undefined, version: 0 });
      expect(await s.write({ key: 'k', value: 1, expectedVersion: 0, token: 'a' })).toEqual({ ok: true, version: 1 });
      expect(await s.write({ key: 'k', value: 5, expectedVersion: 0, token: 'b' })).toEqual({ ok: false, version: 1 });
      // 'a' again (its worker died before reporting): its own write, not a conflict, not applied twice.
      expect(await s.write({ key: 'k', value: 1, expectedVersion: 0, token: 'a' })).toEqual({ ok: true, version: 1 });
      expect(await s.write({ key: 'k', value: 2, expectedVersion: 1, token: 'c' })).toEqual({ ok: true, version: 2 });
      expect(await s.read('k')).toEqual({ value: 2, version: 2 });
    } finally {
      await s.close();
    }
  });
});
