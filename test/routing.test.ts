/**
 * Model routing to spare capacity (src/flow/routing.ts) in the model-call activity: a call with a
 * fallback route goes to the fallback model while its own model's breaker is open or its rate budget
 * is exhausted, and says so; without a route — the default — it waits as before, and a fallback that
 * cannot take the call either changes nothing. Runs the activity in the SDK's MockActivityEnvironment
 * against the simulator; the ensemble tests route a member on the real server.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLlmActivities } from '../src/activities/llm';
import { Breakers, RateLimiter, type FlowControl } from '../src/flow';
import { MemoryBackend } from '../src/flow/buckets';
import type { LlmRequest, LlmResult } from '../src/shared/types';
import type { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import { quietRuntime, simulatedModel, sleep, startSimulator } from './helpers';

const PRIMARY = 'claude-sonnet-4-6';
const SPARE = 'claude-haiku-4-5';
const COOLDOWN = 500;

let sim: Simulator;

beforeAll(async () => {
  quietRuntime();
  sim = await startSimulator();
});
afterAll(() => sim?.close());
beforeEach(() => sim.clearLedger());

/** Fresh breakers and budgets per test: the primary may send one request a minute. */
function flowControl(): FlowControl {
  return {
    limiter: new RateLimiter({
      backend: new MemoryBackend(),
      defaults: {},
      models: { [PRIMARY]: { requestsPerMinute: 1 } },
      burstMs: 1000,
      maxWaitMs: 5000,
    }),
    breakers: new Breakers({ failures: 2, windowMs: 10_000, cooldownMs: COOLDOWN }),
    llmBackoff: { baseMs: 1000, maxMs: 30_000 },
    toolBackoff: { baseMs: 200, maxMs: 5000 },
    attempts: { maxAttempts: 6, outageBudgetMs: 60_000 },
    ready: async () => {},
    close: async () => {},
  };
}

const llmWith = (flow: FlowControl) =>
  createLlmActivities({
    claude: simulatedModel(sim).claude,
    models: { fast: SPARE, capable: PRIMARY },
    maxTokens: 256,
    simulated: true,
    registry: new ToolRegistry(),
    requestTimeoutMs: 3000,
    streamIdleTimeoutMs: 2000,
    flow,
  });

const call = (flow: FlowControl, req: LlmRequest) =>
  new MockActivityEnvironment({ attempt: 1, retryPolicy: {} }, { logger: new DefaultLogger('ERROR', () => {}) })
    .run(llmWith(flow).llmTurn, req)
    .catch((err: unknown) => err as ApplicationFailure) as Promise<LlmResult | ApplicationFailure>;

const ask = (text: string, fallback?: LlmRequest['fallback']): LlmRequest => ({
  role: 'capable',
  messages: [{ role: 'user', content: text }],
  ...(fallback ? { fallback } : {}),
});

const openBreaker = (flow: FlowControl, model: string) => {
  for (let i = 0; i < 2; i++) flow.breakers.failure(`model:${model}`, `${model}: 500 server error`);
};

const models = () => sim.ledger().map((e) => e.model);

describe('model routing', () => {
  it('sends a call to its fallback while its model’s breaker is open, and records why', async () => {
    const flow = flowControl();
    openBreaker(flow, PRIMARY);
    const r = (await call(flow, ask('Say hello.', { model: SPARE }))) as LlmResult;
    expect(r.model).toBe(SPARE);
    expect(r.routed).toMatchObject({ from: PRIMARY, to: SPARE, reason: 'breaker-open' });
    expect(r.routed!.detail).toMatch(/circuit open for model:claude-sonnet-4-6/);
    expect(models()).toEqual([SPARE]);
  });

  it('by default waits out the open breaker: no request, a wait verdict, no routing', async () => {
    const flow = flowControl();
    openBreaker(flow, PRIMARY);
    const f = (await call(flow, ask('Say hello.'))) as ApplicationFailure;
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f.type).toBe('LlmCircuitOpen');
    expect(f.nonRetryable).toBe(false);
    expect(models()).toEqual([]);
  });

  it('waits for its own model when the fallback’s breaker is open too', async () => {
    const flow = flowControl();
    openBreaker(flow, PRIMARY);
    openBreaker(flow, SPARE);
    const f = (await call(flow, ask('Say hello.', { model: 'fast' }))) as ApplicationFailure;
    expect(f.type).toBe('LlmCircuitOpen');
    expect(f.message).toMatch(/model:claude-sonnet-4-6/);
    expect(models()).toEqual([]);
  });

  it('lets the half-open breaker’s probe go to its own model', async () => {
    const flow = flowControl();
    openBreaker(flow, PRIMARY);
    await sleep(COOLDOWN + 50);
    const r = (await call(flow, ask('Say hello.', { model: SPARE }))) as LlmResult;
    expect(r.model).toBe(PRIMARY);
    expect(r.routed).toBeUndefined();
    expect(flow.breakers.snapshot().find((b) => b.key === `model:${PRIMARY}`)?.state).toBe('closed');
  });

  it('routes a call its model’s rate budget would hold too long; a role name is resolved by the worker', async () => {
    const flow = flowControl();
    const first = (await call(flow, ask('First call.', { model: 'fast' }))) as LlmResult;
    expect(first.model).toBe(PRIMARY); // the budget had room for one request
    expect(first.routed).toBeUndefined();
    const second = (await call(flow, ask('Second call.', { model: 'fast' }))) as LlmResult;
    expect(second.model).toBe(SPARE);
    expect(second.routed).toMatchObject({ from: PRIMARY, to: SPARE, reason: 'rate-budget' });
    expect(second.routed!.detail).toMatch(/rate-limit budget has no room/);
    expect(models()).toEqual([PRIMARY, SPARE]);
  });

  it('by default waits for the budget instead (the slot is given back, the attempt is not charged)', async () => {
    const flow = flowControl();
    await call(flow, ask('First call.'));
    const f = (await call(flow, ask('Second call.'))) as ApplicationFailure;
    expect(f.type).toBe('LlmBudgetWait');
    expect(f.nonRetryable).toBe(false);
    expect(models()).toEqual([PRIMARY]);
  });

  it('routes while every worker holds the model back after a 429', async () => {
    const flow = flowControl();
    await flow.limiter.rateLimited(SPARE, 10_000);
    const r = (await call(flow, { role: 'fast', messages: [{ role: 'user', content: 'Hi.' }], fallback: { model: PRIMARY } })) as LlmResult;
    expect(r.routed).toMatchObject({ from: SPARE, to: PRIMARY, reason: 'rate-budget' });
    expect(models()).toEqual([PRIMARY]);
  });
});
