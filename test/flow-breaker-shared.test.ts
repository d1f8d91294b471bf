/**
 * Circuit breakers shared through Redis (REDIS_URL): two worker processes — this one and a child —
 * each with flow control built from the same settings. Failures seen by either count in one window;
 * a breaker one worker opens is open in the other at once (without a failure of its own), and a
 * probe that succeeds in one closes it in both. Without REDIS_URL each process still learns alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config';
import { CircuitOpenError, createFlowControl, type FlowControl } from '../src/flow';
import { startRedis, type RedisServer } from './fixtures/flow-redis';
import { sleep } from './helpers';

let redis: RedisServer;
let child: ChildProcess;
let lines: AsyncIterator<string>;
let here: FlowControl;
const settings = () => ({
  REDIS_URL: redis.url,
  BRAID_BREAKER_FAILURES: '3',
  BRAID_BREAKER_WINDOW_MS: '30000',
  BRAID_BREAKER_COOLDOWN_MS: '20000',
});

/** Sends one command to the child worker and reads its answer. */
async function there(cmd: string, key: string): Promise<{ state: string }> {
  child.stdin!.write(`${cmd} ${key}\n`);
  const next = await lines.next();
  if (next.done) throw new Error('the child worker exited');
  return JSON.parse(next.value) as { state: string };
}

const stateHere = (key: string): string => {
  try {
    here.breakers.check(key);
    return here.breakers.snapshot().find((b) => b.key === key)?.state ?? 'closed';
  } catch (err) {
    if (err instanceof CircuitOpenError) return 'open';
    throw err;
  }
};

/** Polls until `fn` is true (a Redis round trip and a pub/sub message away), for at most 3 s. */
async function eventually(fn: () => Promise<boolean> | boolean): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < 3000; await sleep(20)) if (await fn()) return true;
  return false;
}

beforeAll(async () => {
  redis = await startRedis();
  const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
  child = spawn(tsx, [path.join(__dirname, 'fixtures', 'breaker-process.ts')], {
    env: { ...process.env, ...settings() },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  expect(JSON.parse((await lines.next()).value as string)).toEqual({ ready: true });
  here = createFlowControl(readConfig(settings()), { log: () => {} });
  await here.ready();
}, 60_000);

afterAll(async () => {
  child?.stdin?.end();
  if (child && child.exitCode === null) await new Promise((r) => child.once('exit', r));
  await here?.close();
  await redis?.close();
});

describe('circuit breakers shared through Redis', () => {
  it('one worker opens a breaker and the other sees it open without a failure of its own', async () => {
    const key = `model:${randomUUID()}`;
    for (let i = 0; i < 3; i++) await there('fail', key);
    expect((await there('check', key)).state).toBe('open');
    expect(await eventually(() => stateHere(key) === 'open')).toBe(true);
    const err = (() => {
      try {
        here.breakers.check(key);
      } catch (e) {
        return e as CircuitOpenError;
      }
    })();
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err!.message).toContain('HTTP 500 from the endpoint'); // the other worker's last error travels with it
    expect(here.breakers.snapshot().find((b) => b.key === key)?.recentFailures).toBe(0);
  });

  it('counts failures of both workers in one window: 2 there and 1 here open it in both', async () => {
    const key = `model:${randomUUID()}`;
    await there('fail', key);
    await there('fail', key);
    expect((await there('check', key)).state).toBe('closed');
    expect(stateHere(key)).toBe('closed');
    here.breakers.failure(key, 'HTTP 503 here');
    expect(await eventually(() => stateHere(key) === 'open')).toBe(true);
    expect(await eventually(async () => (await there('check', key)).state === 'open')).toBe(true);
  });

  it('a success in one worker closes the breaker in the other', async () => {
    const key = `tool:${randomUUID()}`;
    for (let i = 0; i < 3; i++) here.breakers.failure(key, 'the tool crashed');
    expect(await eventually(async () => (await there('check', key)).state === 'open')).toBe(true);
    here.breakers.success(key);
    expect(await eventually(async () => (await there('check', key)).state === 'closed')).toBe(true);
  });

  it('without REDIS_URL each worker learns alone', async () => {
    const key = `model:${randomUUID()}`;
    const alone = createFlowControl(readConfig({ BRAID_BREAKER_FAILURES: '3' }), { log: () => {} });
    for (let i = 0; i < 3; i++) alone.breakers.failure(key, 'HTTP 500');
    expect(() => alone.breakers.check(key)).toThrow(CircuitOpenError);
    await sleep(300);
    expect(stateHere(key)).toBe('closed');
    expect((await there('check', key)).state).toBe('closed');
    await alone.close();
  });
});
