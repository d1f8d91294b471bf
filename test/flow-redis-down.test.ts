/**
 * Issue #8, defect 5: REDIS_URL pointing at nothing. The decision (src/flow/redis-limiter.ts):
 * model calls go on under each worker's own in-process budget until Redis is back. Checked here:
 * the backend says so in one line when Redis becomes unreachable and one when it is back, never
 * ioredis's reconnect spam; the local budget really limits meanwhile; and a real `braid worker`
 * process started against a dead REDIS_URL prints one clear line, answers an ask, and `braid health`
 * names the unreachable Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBackend } from '../src/flow/redis-limiter';
import { ASK_WORKFLOW } from '../src/shared/ask';
import type { Simulator } from '../src/simulator';
import type { toolAgent } from '../src/workflows';
import { braid } from './cli-helpers';
import { freePort, startRedis, type RedisServer } from './fixtures/flow-redis';
import { connect, sleep, startSimulator, type Harness } from './helpers';

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}

describe('Redis limiter backend while Redis is down', () => {
  let redis: RedisServer | undefined;
  afterAll(() => redis?.close());

  it('says so once, keeps a local budget meanwhile, and goes back to the shared one when Redis returns', async () => {
    const port = await freePort();
    const lines: string[] = [];
    const backend = RedisBackend.connect(`redis://:s3cret@127.0.0.1:${port}`, { log: (l) => lines.push(l) });
    try {
      expect((await backend.ready()).state).toBe('unreachable');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ is unreachable \(.*ECONNREFUSED.*\); until it is back/);
      expect(lines[0]).not.toContain('s3cret');

      // The local budget limits: 600 requests/min with a 1 s burst admits 10 at once, then holds back.
      const limits = { requestsPerMinute: 600 };
      const waits = [];
      for (let i = 0; i < 11; i++) waits.push(await backend.tryAcquire('m', limits, 1000, 0));
      expect(waits.slice(0, 10)).toEqual(Array(10).fill(0));
      expect(waits[10]).toBeGreaterThan(0);

      await sleep(3000); // ioredis keeps reconnecting meanwhile
      expect(lines).toHaveLength(1);

      redis = await startRedis(port);
      await until(() => backend.status().state === 'connected', 15_000);
      expect(lines[1]).toMatch(/is reachable again: the rate budget is shared by every worker again/);
      expect(await backend.tryAcquire('shared-model', limits, 1000, 0)).toBe(0);
      const probe = new Redis(redis.url);
      expect(await probe.exists('braid:limit:{shared-model}:r')).toBe(1);
      probe.disconnect();
      expect(lines).toHaveLength(2);
    } finally {
      await backend.close();
    }
  }, 60_000);
});

describe('a braid worker with REDIS_URL pointing at nothing', () => {
  let h: Harness;
  let sim: Simulator;
  let worker: ChildProcess;
  let stderr = '';
  let redisUrl: string;
  const taskQueue = `no-store-${randomUUID()}`;

  beforeAll(async () => {
    [h, sim] = await Promise.all([connect(), startSimulator()]);
    redisUrl = `redis://127.0.0.1:${await freePort()}`;
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ANTHROPIC_|TEMPORAL_|BRAID_|REDIS_)/.test(k)));
    worker = spawn(process.execPath, [path.join(__dirname, '..', 'bin', 'braid'), 'worker'], {
      env: {
        ...clean,
        NO_COLOR: '1',
        TEMPORAL_ADDRESS: h.address,
        BRAID_TASK_QUEUE: taskQueue,
        BRAID_SIMULATOR_URL: sim.url,
        REDIS_URL: redisUrl,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (d: Buffer) => (stderr += d.toString()));
    worker.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await until(() => /worker on task queue/.test(stderr) || worker.exitCode !== null, 120_000);
    if (worker.exitCode !== null) throw new Error(`braid worker exited: ${stderr}`);
  }, 150_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      setTimeout(() => worker.kill('SIGKILL'), 10_000).unref();
      await exited;
    }
    await sim?.close();
    await h?.close();
  });

  it('says once, at start-up, that Redis is unreachable — no ioredis spam — and answers asks on its own budget', async () => {
    const r = await h.client.workflow.execute<typeof toolAgent>(ASK_WORKFLOW, {
      taskQueue,
      workflowId: `redis-down-${randomUUID()}`,
      args: [{ question: 'What is 6 * 7?', tools: ['calculator'], maxTurns: 3 }],
    });
    expect(r.answer.length).toBeGreaterThan(0);
    expect(r.stopReason).toBe('end_turn');
    await sleep(3000); // long enough for several reconnect attempts
    const redisLines = stderr.split('\n').filter((l) => /Redis|ioredis/.test(l));
    expect(redisLines).toHaveLength(1);
    expect(redisLines[0]).toMatch(new RegExp(`^braid worker: Redis at ${redisUrl} is unreachable \\(.*\\); until it is back`));
    expect(stderr).not.toContain('[ioredis]');
  }, 60_000);

  it('`braid health` says Redis is unreachable at its URL', async () => {
    const out = await braid(['health'], { TEMPORAL_ADDRESS: h.address, BRAID_TASK_QUEUE: taskQueue });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`Redis at ${redisUrl} is unreachable since`);
    expect(out.stdout).toMatch(/this worker uses its own in-process budget until it is back/);
    const json = await braid(['health', '--json'], { TEMPORAL_ADDRESS: h.address, BRAID_TASK_QUEUE: taskQueue });
    expect(JSON.parse(json.stdout).redis).toMatchObject({ url: redisUrl, state: 'unreachable' });
  }, 60_000);
});
