/**
 * The shared rate limiter across processes: a real redis-server (started here, on a free port),
 * two Braid worker PROCESSES using it, and one simulator with a tokens/min limit that both talk to.
 * Also: the Redis scripts' atomicity under concurrent callers, and a forced 429 burst whose
 * retries must spread out (full jitter) instead of arriving together.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBackend } from '../src/flow/redis-limiter';
import { ASK_WORKFLOW, type AgentResult } from '../src/shared/ask';
import type { Simulator } from '../src/simulator';
import type { toolAgent } from '../src/workflows';
import { startRedis, type RedisServer } from './fixtures/flow-redis';
import { WorkerProcesses } from './fixtures/worker-processes';
import { connect, startSimulator, workflowBundle, type Harness } from './helpers';

const FAST = 'claude-haiku-4-5';
const TPM = 180_000; // Braid's budget for the fast model: 3,000 tokens/s
const PROVIDER_TPM = TPM * 1.1; // the simulator's limit: a budget is set a little under the tier

let redis: RedisServer;
let sim: Simulator;
let h: Harness;
let dir: string;
const workers = new WorkerProcesses();
const taskQueue = `flow-${randomUUID()}`;

beforeAll(async () => {
  [redis, sim, h] = await Promise.all([
    startRedis(),
    startSimulator({ rateLimits: { tokensPerMinute: PROVIDER_TPM }, latency: { ttftMs: 60, perTokenMs: 0 } }),
    connect(),
  ]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-flow-'));
  const bundlePath = path.join(dir, 'workflows.js');
  fs.writeFileSync(bundlePath, (await workflowBundle()).code);
  const env = {
    TEMPORAL_ADDRESS: h.address,
    BRAID_TASK_QUEUE: taskQueue,
    BRAID_SIMULATOR_URL: sim.url,
    REDIS_URL: redis.url,
    FLOW_BUNDLE_PATH: bundlePath,
    // Only the fast model has a budget; the capable one is used unlimited for the 429-burst test.
    BRAID_LLM_MODEL_LIMITS: JSON.stringify({ [FAST]: { tokensPerMinute: TPM } }),
    BRAID_RETRY_BASE_MS: '1000',
    // The rate is measured over ~10 s, not a minute, so the bucket's burst must stay well under 5 % of that window.
    BRAID_LIMIT_BURST_MS: '250',
    BRAID_STREAM_IDLE_TIMEOUT_MS: '5000',
  };
  await Promise.all([workers.start(env), workers.start(env)]);
}, 120_000);

afterAll(async () => {
  await workers.stop();
  await h?.close();
  await sim?.close();
  await redis?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const start = (question: string, role: 'fast' | 'capable') =>
  h.client.workflow.start<typeof toolAgent>(ASK_WORKFLOW, {
    taskQueue,
    workflowId: `flow-${randomUUID()}`,
    args: [{ question, maxTurns: 1, tools: ['calculator'], role }],
  });

describe('Redis limiter scripts', () => {
  it('never admit more than burst + rate·elapsed, however many clients race', async () => {
    const clients = Array.from({ length: 4 }, () => new RedisBackend(new Redis(redis.url)));
    // Until a client has connected it answers from its own local budget (see redis-limiter.ts).
    expect((await Promise.all(clients.map((c) => c.ready()))).map((s) => s.state)).toEqual(Array(4).fill('connected'));
    const limits = { requestsPerMinute: 600 }; // 10/s, burst of 1 s = 10 requests
    const model = `race-${randomUUID()}`;
    const t0 = Date.now();
    let admitted = 0;
    await Promise.all(
      clients.map(async (c) => {
        while (Date.now() - t0 < 1000) {
          if ((await c.tryAcquire(model, limits, 1000, 0)) === 0) admitted++;
        }
      }),
    );
    const elapsed = Date.now() - t0;
    await Promise.all(clients.map((c) => c.close()));
    expect(admitted).toBeLessThanOrEqual(10 + Math.ceil((elapsed / 1000) * 10) + 1);
    expect(admitted).toBeGreaterThanOrEqual(15); // the burst plus most of a second's refill
  });
});

describe('two worker processes sharing one budget', () => {
  it('keep tokens/min at the simulator within the budget while using at least 85% of it, with no 429', async () => {
    // Spend the simulator's whole minute of tokens first, so it has no slack to hide an overshoot:
    // from here on it refills 10 % faster than Braid's budget, and nothing more.
    const claude = new Anthropic({ apiKey: 'braid-simulator', baseURL: sim.url, maxRetries: 0 });
    await claude.messages.create({ model: FAST, max_tokens: 1, messages: [{ role: 'user', content: 'x'.repeat(PROVIDER_TPM * 4) }] });
    sim.clearLedger();
    const handles = await Promise.all(
      Array.from({ length: 160 }, (_, i) => start(`What is ${i} + ${i * 7}? Use the calculator if you need to.`, 'fast')),
    );
    const results: AgentResult[] = await Promise.all(handles.map((hd) => hd.result()));

    const entries = sim.ledger().filter((e) => e.model === FAST);
    const first = entries[0]!.receivedAt;
    const warmUp = entries.filter((e) => e.status === 429 && e.receivedAt < first + 2000).length;
    expect(entries.filter((e) => e.status === 429 && e.receivedAt >= first + 2000)).toHaveLength(0);
    // At most the warm-up's 429s cost a model call a second attempt; none failed a workflow.
    const retried = results.flatMap((r) => r.branches.filter((b) => b.kind === 'llm' && (b.attempts ?? 1) > 1));
    expect(retried.length).toBeLessThanOrEqual(warmUp);

    const last = entries.at(-1)!.receivedAt;
    const from = first + 2000; // warm-up: the budget's burst and the first estimates
    const window = entries.filter((e) => e.status === 200 && e.receivedAt >= from && e.receivedAt <= last);
    const tokens = window.reduce((n, e) => n + e.inputTokens + e.outputTokens, 0);
    const perMinute = (tokens * 60_000) / (last - from);
    if (process.env.FLOW_DEBUG) console.log({ perMinute, windowMs: last - from, calls: entries.length, warmUp, retried: retried.length });
    expect(last - from).toBeGreaterThan(6000); // long enough to measure a rate
    expect(perMinute).toBeLessThanOrEqual(TPM * 1.05);
    // At least 85 %: a limiter that held back 15 % of the budget or more fails this, but
    // on a loaded machine the workers themselves stall now and then (a fresh-clone run measured
    // 161,005 tokens/min, 89.4 %), which need not be the limiter's doing.
    expect(perMinute).toBeGreaterThanOrEqual(TPM * 0.85);
  }, 90_000);

  it('spreads the retries of a forced 429 burst instead of sending them together', async () => {
    sim.clearLedger();
    const n = 16;
    sim.configure({ faults: [{ kind: 'status', status: 429, retryAfterMs: 300, times: n, match: { contains: 'burst-429' } }] });
    const handles = await Promise.all(Array.from({ length: n }, (_, i) => start(`burst-429 question ${i}: what is ${i} * 3?`, 'capable')));
    await Promise.all(handles.map((hd) => hd.result()));
    sim.configure({ faults: [] });
    const entries = sim.ledger().filter((e) => e.model !== FAST);
    const limited = entries.filter((e) => e.status === 429);
    const retries = entries.filter((e) => e.status === 200).map((e) => e.receivedAt);
    expect(limited).toHaveLength(n);
    expect(retries).toHaveLength(n);
    // Never sooner than retry-after: the k-th retry comes at least 300 ms after the k-th 429.
    const limitedAt = limited.map((e) => e.finishedAt).sort((a, b) => a - b);
    const sorted = [...retries].sort((a, b) => a - b);
    expect(Math.min(...sorted.map((t, k) => t - limitedAt[k]!))).toBeGreaterThanOrEqual(300 - 20);
    // …and each after a delay of its own, not one shared delay. The 429s come back in waves (the
    // workflows' first calls are not simultaneous), so arrival times alone cannot tell jitter from
    // a fixed backoff: a fixed delay still spreads the retries over ~1.3 s here and fills four
    // 100 ms slots. The delays can: paired in order, the k-th retry after the k-th 429, a fixed
    // backoff gives delays within 15–66 ms of each other in their middle half (measured with the
    // jitter draw pinned), full jitter over its 1 s window 286–493 ms (four runs). A stalled worker
    // adds to delays; it cannot make distinct draws look alike unless it holds most retries at once.
    const delays = sorted.map((t, k) => t - limitedAt[k]!).sort((a, b) => a - b);
    const middleHalf = delays[Math.floor((3 * n) / 4)]! - delays[Math.floor(n / 4)]!;
    if (process.env.FLOW_DEBUG) console.log({ delays: delays.join(' '), middleHalf });
    expect(middleHalf).toBeGreaterThan(150);
  }, 60_000);
});
