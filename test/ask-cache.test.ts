/**
 * Prompt caching of an agent's conversation across its turns, on the real Temporal server with the
 * simulator as the model (which caches as the API documents: per model, only above the model's
 * minimum cacheable prefix, an entry visible once the response that wrote it has begun). Each turn's
 * prompt — tool definitions, system prompt, the conversation so far — is the next turn's prefix: a
 * long question (a pasted document every turn reads) is written once and read by the next turn.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASK_WORKFLOW, type AgentInput, type AgentResult } from '../src/shared/ask';
import { minCacheTokens } from '../src/shared/prompt-cache';
import type { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import type { toolAgent } from '../src/workflows';
import { connect, latencyTool, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

const CAPABLE = 'claude-sonnet-4-6';
let h: Harness;
let sim: Simulator;
let worker: TestWorker;

beforeAll(async () => {
  h = await connect();
  sim = await startSimulator({ latency: { ttftMs: 5, perTokenMs: 0 } });
  worker = await startWorker(h, new ToolRegistry().register(latencyTool('quick', 50)), sim, { BRAID_CAPABLE_MODEL: CAPABLE });
});

afterAll(async () => {
  await worker?.shutdown();
  await sim?.close();
  await h?.close();
});

/** A pasted document of about `tokens` tokens (4 characters a token). */
function document(tokens: number): string {
  const lines = ['Shipping and refunds handbook, by region.'];
  for (let i = 1; lines.join('\n').length < tokens * 4; i++)
    lines.push(`Region ${i}: refunds within ${10 + (i % 20)} days of delivery; standard shipping takes ${2 + (i % 6)} working days.`);
  return lines.join('\n');
}

async function ask(question: string): Promise<{ r: AgentResult; calls: ReturnType<Simulator['ledger']> }> {
  sim.clearLedger();
  const input: AgentInput = { question };
  const r = await h.client.workflow.execute<typeof toolAgent>(ASK_WORKFLOW, {
    taskQueue: worker.taskQueue,
    workflowId: `ask-cache-${Math.random().toString(36).slice(2)}`,
    args: [input],
  });
  const calls = sim
    .ledger()
    .filter((e) => e.model === CAPABLE && e.status === 200)
    .sort((a, b) => a.receivedAt - b.receivedAt);
  return { r, calls };
}

describe('prompt caching of the conversation across turns', () => {
  it('writes the long first prompt once; the next turn reads it; the cost counts and prices the cache tokens', async () => {
    const min = minCacheTokens(CAPABLE);
    const { r, calls } = await ask(`${document(min + 500)}\n\nWhat does the handbook say about region 3?\n#sim tools=quick`);
    expect(r.turns).toBe(2);
    expect(calls).toHaveLength(2);
    const [first, second] = calls as [(typeof calls)[number], (typeof calls)[number]];
    expect(first.cacheCreationInputTokens).toBeGreaterThanOrEqual(min);
    expect(first.cacheReadInputTokens).toBe(0);
    // The second turn reads the first turn's entry and writes only what the turn added.
    expect(second.cacheReadInputTokens).toBe(first.cacheCreationInputTokens);
    expect(second.cacheCreationInputTokens).toBeLessThan(first.cacheCreationInputTokens);
    const m = r.cost!.byModel[CAPABLE]!;
    expect(m.cacheReadTokens).toBe(second.cacheReadInputTokens);
    expect(m.cacheWriteTokens).toBe(first.cacheCreationInputTokens + second.cacheCreationInputTokens);
    expect(r.usage.byModel[CAPABLE]!.cacheReadTokens).toBe(m.cacheReadTokens);
    expect(r.cost!.savedUsd).toBeGreaterThan(0); // one read at a tenth of the price pays for the writes
  });

  it('leaves a conversation below the minimum uncached: no cache tokens, nothing paid for writes', async () => {
    const { r, calls } = await ask('What does the handbook say about region 3?\n#sim tools=quick');
    expect(r.turns).toBe(2);
    expect(calls.map((c) => [c.cacheCreationInputTokens, c.cacheReadInputTokens])).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect(r.cost!.byModel[CAPABLE]!.cacheWriteTokens ?? 0).toBe(0);
  });
});
