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
    close: async () => {},
  };
});
afterAll(() => sim?.close());

const env = (attempt = 1, maximumAttempts = 6) =>
  new MockActivityEnvironment({ attempt, retryPolicy: { maximumAttempts } }, { logger: new DefaultLogger('ERROR', () => {}) });

describe('model endpoint breaker', () => {
  it('opens after 3 server failures, fails fast without a request, and a probe closes it', async () => {
    const registry = new ToolRegistry();
    const llm = createLlmActivities({
      claude: simulatedModel(sim).claude,
      models: { fast: 'claude-haiku-4-5', capable: 'claude-sonnet-4-6' },
      maxTokens: 256,
      simulated: true,
      registry,
      requestTimeoutMs: 3000,
      streamIdleTimeoutMs: 2000,
      flow,
    });
    const req: LlmRequest = { role: 'fast', messages: [{ role: 'user', content: 'breaker test' }] };
    sim.clearLedger();
    sim.configure({ faults: [{ kind: 'status', status: 500, times: 3 }] });
    const delays: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const f = (await env(i)
        .run(llm.llmTurn, req)
        .catch((e: unknown) => e)) as ApplicationFailure;
      expect(f).toBeInstanceOf(ApplicationFailure);
      expect(f.type).toBe('LlmServerError');
      expect(f.nonRetryable).toBe(false);
      delays.push(Number(f.nextRetryDelay));
    }
    // Full jitter: attempt n waits somewhere in [0, 1000·2^(n-1)).
    delays.forEach((d, i) => expect(d).toBeLessThan(1000 * 2 ** i));
    expect(sim.ledger()).toHaveLength(3);

    const open = (await env(4)
      .run(llm.llmTurn, req)
      .catch((e: unknown) => e)) as ApplicationFailure;
    expect(open.type).toBe('LlmCircuitOpen');
    // Fails fast, but comes back after the cooldown rather than losing the work.
    expect(open.nonRetryable).toBe(false);
    expect(Number(open.nextRetryDelay)).toBeGreaterThanOrEqual(COOLDOWN - 200);
    const lastTry = (await env(6, 6)
      .run(llm.llmTurn, req)
      .catch((e: unknown) => e)) as ApplicationFailure;
    expect(lastTry.nonRetryable).toBe(true);
    expect(lastTry.message).toMatch(/^gave up after 6 attempts: circuit open/);
    expect(open.message).toMatch(/circuit open for model:claude-haiku-4-5/);
    expect(sim.ledger()).toHaveLength(3); // failed fast: no request sent
    expect(renderHealth(await flowSnapshot(flow, ['claude-haiku-4-5']))).toMatch(/model:claude-haiku-4-5.*open/);

    await sleep(COOLDOWN + 50);
    const probe = (await env(1).run(llm.llmTurn, req)) as LlmResult;
    expect(probe.content.length).toBeGreaterThan(0);
    expect(flow.breakers.snapshot().find((b) => b.key === 'model:claude-haiku-4-5')?.state).toBe('closed');
    expect(sim.ledger()).toHaveLength(4);
  });

  it('does not count 400s or 429s towards the breaker, and makes the last attempt final', async () => {
    const llm = createLlmActivities({
      claude: simulatedModel(sim).claude,
      models: { fast: 'claude-haiku-4-5', capable: 'claude-sonnet-4-6' },
      maxTokens: 256,
      simulated: true,
      registry: new ToolRegistry(),
      requestTimeoutMs: 3000,
      streamIdleTimeoutMs: 2000,
      flow,
    });
    const req: LlmRequest = { role: 'capable', messages: [{ role: 'user', content: 'not the endpoint' }] };
    sim.configure({ faults: [{ kind: 'status', status: 429, retryAfterMs: 10 }] });
    for (let i = 0; i < 4; i++)
      expect(
        (
          (await env(1)
            .run(llm.llmTurn, req)
            .catch((e: unknown) => e)) as ApplicationFailure
        ).type,
      ).toBe('LlmRateLimited');
    const last = (await env(6, 6)
      .run(llm.llmTurn, req)
      .catch((e: unknown) => e)) as ApplicationFailure;
    sim.configure({ faults: [] });
    expect(last.nonRetryable).toBe(true);
    expect(last.message).toMatch(/^gave up after 6 attempts: claude-sonnet-4-6: HTTP 429/);
    expect(flow.breakers.snapshot().find((b) => b.key === 'model:claude-sonnet-4-6')).toBeUndefined();
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
