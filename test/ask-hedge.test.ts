/**
 * `braid ask --hedge` on the real server with the simulator: the agent's model turns go through the
 * Hedger, its threshold started from the worker's recent durations (`modelLatency`). A turn far slower
 * than those starts a twin on the other model, which answers first; the worker holds hedges to 10 % of
 * its model calls, so the next slow turn is not hedged and waits for its own answer. Without `hedge`
 * the run asks nothing more of the worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hedgeOption } from '../src/cli/ask';
import { ASK_WORKFLOW, hedgeProblem, type AgentInput, type AgentResult } from '../src/shared/ask';
import type { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import { connect, localActivities, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

const HAIKU = 'claude-haiku-4-5';
const SONNET = 'claude-sonnet-4-6';

let h: Harness;
let sim: Simulator;
let w: TestWorker;
let n = 0;

beforeAll(async () => {
  h = await connect();
  // Slow haiku calls wait 5 s before their first token: far longer than a twin on sonnet takes, even on a loaded machine.
  sim = await startSimulator({ answerRules: [{ match: { model: HAIKU, contains: 'SLOW' }, slowMs: 5000 }] });
  w = await startWorker(h, new ToolRegistry(), sim);
}, 120_000);

afterAll(async () => {
  await w?.shutdown();
  await sim?.close();
  await h?.close();
});

const run = (input: AgentInput) =>
  h.client.workflow.start<(i: AgentInput) => Promise<AgentResult>>(ASK_WORKFLOW, {
    taskQueue: w.taskQueue,
    workflowId: `ask-hedge-test-${Date.now()}-${n++}`,
    args: [input],
  });

const hedge = { minSamples: 10, model: SONNET };

describe('ask --hedge', () => {
  it('hedges a turn slower than the worker’s recent p95 to the other model, the twin wins, and the worker caps hedges at 10 %', async () => {
    // Ten quick calls on this worker: too few samples for a p95 until the last has finished, so no hedge.
    for (let i = 0; i < 10; i++) {
      const r = await (await run({ question: `Quick ${i}.\n#sim text=Fine.`, role: 'fast', tools: [], hedge })).result();
      expect(r.hedging).toMatchObject({ calls: 1, hedged: 0 });
    }

    // The 11th call is slow: 1 hedge of 11 calls is within 10 %; the twin on sonnet answers first.
    const slow = await run({ question: 'SLOW question one.', role: 'fast', tools: [], hedge });
    const first = await slow.result();
    expect(first.hedging).toEqual({ calls: 1, hedged: 1, wonByHedge: 1, refused: 0, lostUsd: 0 });
    expect(first.models).toEqual([SONNET]);
    expect(first.branches.find((b) => b.kind === 'llm')!.name).toMatch(/hedged, the hedge won$/);
    const history = await slow.fetchHistory();
    const scheduled = (history.events ?? []).flatMap((e) =>
      e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : [],
    );
    // The tool list is read by a local activity (a marker, not a scheduled activity).
    expect(scheduled.map((a) => a.activityType?.name)).toEqual(['modelLatency', 'llmTurn', 'llmTurn']);

    // The 12th, slow too: a 2nd hedge would be 2 of 12 calls, past 10 %. The worker refuses it; the turn waits for haiku.
    const second = await (await run({ question: 'SLOW question two.', role: 'fast', tools: [], hedge })).result();
    expect(second.hedging).toMatchObject({ calls: 1, hedged: 0, wonByHedge: 0, refused: 1 });
    expect(second.models).toEqual([HAIKU]);
  }, 90_000);

  it('asks the worker nothing more without --hedge', async () => {
    const handle = await run({ question: 'A plain question.', role: 'fast', tools: [] });
    const r = await handle.result();
    expect(r.hedging).toBeUndefined();
    const history = await handle.fetchHistory();
    const types = (history.events ?? []).flatMap((e) =>
      e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : [],
    );
    expect(types).toEqual(['llmTurn']);
    expect(localActivities(history)).toEqual(['listTools']);
  }, 30_000);

  it('refuses a hedge setting past the cap before anything starts', () => {
    expect(hedgeProblem({ maxRate: 0.2 })).toBe('the hedge rate must be more than 0 and at most 10 % of calls, got 0.2');
    expect(hedgeProblem({ minSamples: 0 })).toBe('the hedge needs 1-200 samples before its p95 counts, got 0');
    expect(() => hedgeOption({ hedgeModel: SONNET })).toThrow('--hedge-model applies with --hedge only');
    expect(hedgeOption({ hedge: true })).toEqual({});
    expect(hedgeOption({ hedge: 0.05, hedgeModel: SONNET })).toEqual({ maxRate: 0.05, model: SONNET });
  });
});
