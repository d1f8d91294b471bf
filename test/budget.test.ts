/**
 * Spend that history does not show, and budgets, on the real Temporal server with the simulator as
 * the model: a stream cut mid-answer and then retried is charged twice (the cut attempt as
 * estimated), and a failed call's streamed spend reaches the run through its failure's details.
 * (A speculation loser cancelled mid-stream is charged as estimated too: test/race.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASK_WORKFLOW, type AgentInput } from '../src/shared/ask';
import { usdFor, roundUsd } from '../src/shared/pricing';
import type { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import type { toolAgent } from '../src/workflows';
import { connect, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

let h: Harness;
let sim: Simulator;
let worker: TestWorker;

beforeAll(async () => {
  h = await connect();
  sim = await startSimulator({ latency: { ttftMs: 5, perTokenMs: 1 } });
  worker = await startWorker(h, new ToolRegistry(), sim);
});

afterAll(async () => {
  await worker?.shutdown();
  await sim?.close();
  await h?.close();
});

const ask = (input: AgentInput) =>
  h.client.workflow.start<typeof toolAgent>(ASK_WORKFLOW, {
    taskQueue: worker.taskQueue,
    workflowId: `budget-ask-${Math.random().toString(36).slice(2)}`,
    args: [input],
  });

describe('spend of retried attempts', () => {
  it('charges a stream cut mid-answer as estimated, next to the retry that answered', async () => {
    sim.clearLedger();
    sim.configure({ faults: [{ kind: 'reset', times: 1, match: { contains: 'marker-cut' } }] });
    const r = await (await ask({ question: 'marker-cut: tell me about the quarterly report.\n#sim answer_tokens=200' })).result();
    sim.configure({ faults: [] });
    const ledger = sim.ledger();
    expect(ledger.map((e) => e.outcome)).toEqual(['fault:reset', 'ok']);
    const [cut, ok] = ledger as [(typeof ledger)[0], (typeof ledger)[0]];
    expect(cut.outputTokens).toBeGreaterThan(0);

    // The branch keeps what the cut attempt streamed: its input exactly, its output estimated from the text.
    const turn = r.branches.find((b) => b.kind === 'llm')!;
    expect(turn.attempts).toBe(2);
    expect(turn.retriedSpend).toHaveLength(1);
    const lost = turn.retriedSpend![0]!;
    expect(lost.usage.inputTokens).toBe(cut.inputTokens);
    expect(lost.usage.outputTokens).toBeGreaterThan(0);
    expect(lost.usage.outputTokens).toBeLessThan(ok.outputTokens);

    // The run's cost holds both attempts; the cut one is the estimated part.
    const model = ok.model;
    const billed = usdFor(model, { inputTokens: ok.inputTokens, outputTokens: ok.outputTokens })!;
    const estimated = usdFor(model, lost.usage)!;
    expect(r.cost!.estimatedUsd).toBe(estimated);
    expect(r.cost!.estimatedUsd).toBeGreaterThan(0);
    expect(r.cost!.totalUsd).toBe(roundUsd(billed + estimated));
    expect(r.cost!.byModel[model]!.inputTokens).toBe(cut.inputTokens + ok.inputTokens);
    // `usage` stays what was billed back.
    expect(r.usage.total).toEqual({ inputTokens: ok.inputTokens, outputTokens: ok.outputTokens });
  });
});
