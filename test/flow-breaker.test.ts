/**
 * Circuit breakers in the activities: the model endpoint's breaker opens after K server failures
 * and fails fast without a request, then a probe after the cooldown closes it; a crashing tool's
 * breaker answers with an explicit error result without calling the tool. Also the jittered,
 * bounded retry delays the activities set, and `braid health`'s rendering of the result.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLlmActivities } from '../src/activities/llm';
import { createToolActivities } from '../src/activities/tools';
import { renderHealth } from '../src/cli/health';
import { Breakers, flowSnapshot, RateLimiter, type FlowControl } from '../src/flow';
import { MemoryBackend } from '../src/flow/buckets';
import type { LlmRequest, LlmResult, ToolCallResult } from '../src/shared/types';
import type { Simulator } from '../src/simulator';
import { defineTool, ToolRegistry } from '../src/tools';
import { quietRuntime, simulatedModel, sleep, startSimulator } from './helpers';

let sim: Simulator;
let flow: FlowControl;
let crashes = 0;
const COOLDOWN = 400;

beforeAll(async () => {
  quietRuntime();
  sim = await startSimulator();
  flow = {
    limiter: new RateLimiter({ backend: new MemoryBackend(), defaults: {}, burstMs: 1000, maxWaitMs: 5000 }),
    breakers: new Breakers({ failures: 3, windowMs: 10_000, cooldownMs: COOLDOWN }),
    llmBackoff: { baseMs: 1000, maxMs: 30_000 },
    toolBackoff: { baseMs: 200, maxMs: 5000 },
    attempts: { maxAttempts: 6, outageBudgetMs: 60_000 },
    ready: async () => {},
    close: async () => {},
  };
});
afterAll(() => sim?.close());

const env = (attempt = 1, maximumAttempts = 6) =>
  new MockActivityEnvironment({ attempt, retryPolicy: { maximumAttempts } }, { logger: new DefaultLogger('ERROR', () => {}) });

/**
 * Successive attempts of one activity as Temporal runs them under an unlimited RetryPolicy: each
 * attempt is numbered and sees the last heartbeat details the attempts before it recorded.
 */
class Attempts {
  attempt = 0;
  details: unknown;
  async next<R>(fn: (req: LlmRequest) => Promise<R>, req: LlmRequest): Promise<R | ApplicationFailure> {
    const e = new MockActivityEnvironment(
      { attempt: ++this.attempt, heartbeatDetails: this.details, retryPolicy: {} },
      { logger: new DefaultLogger('ERROR', () => {}) },
    );
    e.on('heartbeat', (d: unknown) => (this.details = d));
    return (e.run(fn, req) as Promise<R>).catch((err: unknown) => err as ApplicationFailure);
  }
}

const llmWith = (f: FlowControl) =>
  createLlmActivities({
    claude: simulatedModel(sim).claude,
    models: { fast: 'claude-haiku-4-5', capable: 'claude-sonnet-4-6' },
    maxTokens: 256,
    simulated: true,
    registry: new ToolRegistry(),
    requestTimeoutMs: 3000,
    streamIdleTimeoutMs: 2000,
    flow: f,
  });

const breakerState = (f: FlowControl, model: string) => f.breakers.snapshot().find((b) => b.key === `model:${model}`)?.state;

describe('model endpoint breaker', () => {
  it('opens after 3 server failures and fails fast without a request; waiting for it and its probe are not charged', async () => {
    const llm = llmWith(flow);
    const req: LlmRequest = { role: 'fast', messages: [{ role: 'user', content: 'breaker test' }] };
    const call = new Attempts();
    sim.clearLedger();
    sim.configure({ faults: [{ kind: 'status', status: 500, times: 3 }] });
    const delays: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const f = (await call.next(llm.llmTurn, req)) as ApplicationFailure;
      expect(f).toBeInstanceOf(ApplicationFailure);
      expect(f.type).toBe('LlmServerError');
      expect(f.nonRetryable).toBe(false);
      delays.push(Number(f.nextRetryDelay));
    }
    // Full jitter: charged attempt n waits somewhere in [100 ms, 1000·2^(n-1)].
    delays.forEach((d) => expect(d).toBeGreaterThanOrEqual(100));
    delays.forEach((d, i) => expect(d).toBeLessThanOrEqual(1000 * 2 ** i));
    expect(sim.ledger()).toHaveLength(3);

    // Open: attempts 4–8 fail fast, send nothing, and come back after the cooldown — never charged,
    // so the call outlives what used to be its last attempt.
    for (let i = 4; i <= 8; i++) {
      const open = (await call.next(llm.llmTurn, req)) as ApplicationFailure;
      expect(open.type).toBe('LlmCircuitOpen');
      expect(open.message).toMatch(/circuit open for model:claude-haiku-4-5/);
      expect(open.nonRetryable).toBe(false);
      expect(Number(open.nextRetryDelay)).toBeGreaterThanOrEqual(COOLDOWN - 200);
      expect(Number(open.nextRetryDelay)).toBeLessThanOrEqual(2 * COOLDOWN);
    }
    expect(call.details).toMatchObject({ waits: 5, lastWaitAttempt: 8 });
    expect(sim.ledger()).toHaveLength(3); // failed fast: no request sent
    expect(renderHealth(await flowSnapshot(flow, ['claude-haiku-4-5']))).toMatch(/model:claude-haiku-4-5.*open/);

    // The probe fails like the outage did: it reopens the breaker, and it is a wait too.
    await sleep(COOLDOWN + 50);
    sim.configure({ faults: [{ kind: 'status', status: 500, times: 1 }] });
    const failedProbe = (await call.next(llm.llmTurn, req)) as ApplicationFailure;
    expect(failedProbe.type).toBe('LlmServerError');
    expect(failedProbe.nonRetryable).toBe(false);
    expect(call.details).toMatchObject({ waits: 6, lastWaitAttempt: 9 });
    expect(breakerState(flow, 'claude-haiku-4-5')).toBe('open');

    await sleep(COOLDOWN + 50);
    const probe = (await call.next(llm.llmTurn, req)) as LlmResult;
    expect(probe.content.length).toBeGreaterThan(0);
    expect(probe.attempt).toBe(10);
    expect(breakerState(flow, 'claude-haiku-4-5')).toBe('closed');
    expect(sim.ledger()).toHaveLength(5);
  });

  it('ends an answer that keeps coming back malformed after 6 charged attempts, breaker or not', async () => {
    const llm = llmWith(flow);
    const req: LlmRequest = { role: 'fast', messages: [{ role: 'user', content: 'always malformed' }] };
    sim.configure({ faults: [{ kind: 'malformed', match: { contains: 'always malformed' } }] });
    const call = new Attempts();
    let last: ApplicationFailure | LlmResult;
    do {
      last = await call.next(llm.llmTurn, req);
      if ((last as ApplicationFailure).type === 'LlmCircuitOpen') await sleep(COOLDOWN + 20);
    } while (last instanceof ApplicationFailure && !last.nonRetryable && call.attempt < 30);
    sim.configure({ faults: [] });
    expect(last).toBeInstanceOf(ApplicationFailure);
    const f = last as ApplicationFailure;
    expect(f.type).toBe('LlmMalformedResponse');
    expect(f.message).toMatch(/^gave up after 6 failed attempts \(and \d+ waiting for the model\): claude-haiku-4-5: unreadable response/);
    // A fresh call after the cooldown probes and closes the breaker again.
    await sleep(COOLDOWN + 20);
    const fresh = await new Attempts().next(llm.llmTurn, { role: 'fast', messages: [{ role: 'user', content: 'close it' }] });
    expect(fresh).not.toBeInstanceOf(ApplicationFailure);
    expect(breakerState(flow, 'claude-haiku-4-5')).toBe('closed');
  });

  it('waits out 429s without charging them or touching the breaker, until the outage budget is spent', async () => {
    const budgetMs = 600;
    const llm = llmWith({ ...flow, attempts: { maxAttempts: 2, outageBudgetMs: budgetMs } });
    const req: LlmRequest = { role: 'capable', messages: [{ role: 'user', content: 'not the endpoint' }] };
    sim.configure({ faults: [{ kind: 'status', status: 429, retryAfterMs: 10 }] });
    const call = new Attempts();
    const t0 = Date.now();
    let f: ApplicationFailure;
    do {
      f = (await call.next(llm.llmTurn, req)) as ApplicationFailure;
      expect(f.type).toBe('LlmRateLimited');
      if (!f.nonRetryable) expect(Number(f.nextRetryDelay)).toBeGreaterThanOrEqual(100);
      await sleep(50);
    } while (!f.nonRetryable && call.attempt < 100);
    sim.configure({ faults: [] });
    expect(call.attempt).toBeGreaterThan(2); // more than maxAttempts: none was charged
    expect(Date.now() - t0).toBeGreaterThanOrEqual(budgetMs);
    expect(f.message).toMatch(/^gave up after waiting \d+ s for the model \(outage budget 1 s\): claude-sonnet-4-6: HTTP 429/);
    expect(breakerState(flow, 'claude-sonnet-4-6')).toBeUndefined();
  });

  it('respects a RetryPolicy that still limits attempts (calls scheduled before the ledger)', async () => {
    const llm = llmWith(flow);
    sim.configure({ faults: [{ kind: 'status', status: 529 }] });
    const last = (await env(6, 6)
      .run(llm.llmTurn, { role: 'capable', messages: [{ role: 'user', content: 'old policy' }] } as LlmRequest)
      .catch((e: unknown) => e)) as ApplicationFailure;
    sim.configure({ faults: [] });
    expect(last.nonRetryable).toBe(true);
    expect(last.message).toMatch(/^gave up after 6 attempts: claude-sonnet-4-6: HTTP 529/);
  });
});

describe('tool breaker', () => {
  it('answers with an explicit error result, without calling the tool, while open', async () => {
    const registry = new ToolRegistry().register(
      defineTool({
        name: 'flaky',
        description: 'Crashes.',
        input: z.object({}).passthrough(),
        handler: async () => {
          crashes++;
          throw new Error('flaky backend down');
        },
      }),
    );
    const tools = createToolActivities({ registry, flow });
    const call = { toolUseId: 'toolu_1', name: 'flaky', input: {} };
    for (let i = 1; i <= 3; i++) {
      const f = (await env(i, 3)
        .run(tools.runTool, call)
        .catch((e: unknown) => e)) as ApplicationFailure;
      expect(f.type).toBe('ToolFailed');
      expect(f.nonRetryable).toBe(i === 3);
      if (i === 3) expect(f.message).toBe('gave up after 3 attempts: tool flaky: flaky backend down');
    }
    const r = (await env(1, 3).run(tools.runTool, call)) as ToolCallResult;
    expect(r.isError).toBe(true);
    expect(r.content).toMatch(/^CircuitOpen: circuit open for tool:flaky/);
    expect(crashes).toBe(3);
  });
});
