/**
 * Spend that history does not show, and budgets, on the real Temporal server with the simulator as
 * the model: a stream cut mid-answer and then retried is charged twice (the cut attempt as
 * estimated), and a failed call's streamed spend reaches the run through its failure's details.
 * (A speculation loser cancelled mid-stream is charged as estimated too: test/race.test.ts.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore, getJson, putJson } from '../src/blobs/store';
import type { LevelFile } from '../src/activities/summarize';
import { config } from '../src/config';
import { ASK_WORKFLOW, type AgentInput } from '../src/shared/ask';
import { worstCaseUsd } from '../src/shared/budget';
import {
  SUMMARIZE_MAX_TOKENS,
  SUMMARIZE_WORKFLOW,
  type CorpusManifest,
  type PartialResult,
  type SummarizeInput,
} from '../src/shared/summarize';
import { usdFor, roundUsd } from '../src/shared/pricing';
import type { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import type { summarizeCorpus, toolAgent } from '../src/workflows';
import { connect, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

let h: Harness;
let sim: Simulator;
let worker: TestWorker;
let blobs: FsBlobStore;
const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-budget-'));

beforeAll(async () => {
  h = await connect();
  sim = await startSimulator({ latency: { ttftMs: 5, perTokenMs: 1 } });
  blobs = new FsBlobStore(blobDir);
  worker = await startWorker(h, new ToolRegistry(), sim, { BRAID_BLOB_DIR: blobDir });
});

afterAll(async () => {
  await worker?.shutdown();
  await sim?.close();
  await h?.close();
  fs.rmSync(blobDir, { recursive: true, force: true });
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

/** A corpus of n chunks written straight to the blob store. */
async function corpus(n: number): Promise<Pick<SummarizeInput, 'manifestRef' | 'chunkCount' | 'sourceCount'>> {
  const chunks: CorpusManifest['chunks'] = [];
  for (let i = 0; i < n; i++) {
    const text = `Section ${i}. Revenue grew in region ${i % 7}; the team shipped feature ${i}. Costs fell by ${i} percent.`;
    chunks.push({
      id: `0:${i}`,
      source: 'doc.md',
      start: i * 200,
      end: i * 200 + text.length,
      tokens: Math.ceil(text.length / 4),
      ref: await blobs.put(text),
    });
  }
  const manifest: CorpusManifest = { version: 1, chunks, sources: [{ path: 'doc.md', sha256: 'x', chars: n * 200 }] };
  return { manifestRef: await putJson(blobs, manifest), chunkCount: n, sourceCount: 1 };
}

const summarize = (input: SummarizeInput) =>
  h.client.workflow.start<typeof summarizeCorpus>(SUMMARIZE_WORKFLOW, {
    taskQueue: worker.taskQueue,
    workflowId: `budget-sum-${Math.random().toString(36).slice(2)}`,
    args: [input],
  });

describe('budgets', () => {
  const models = config().models;
  const base = { task: 'Summarise the growth story.', concurrency: 1, group: 10, tolerate: 0, badFiles: [] };
  const mapInputTokens = 400;

  it('stops starting map calls when a reservation would pass the budget, keeps the chunks done, never spends past it', async () => {
    const c = await corpus(20);
    // What one map call really costs, from a run without a budget.
    const free = await (await summarize({ ...base, ...c })).result();
    const perCall = free.costByPhase!.map!.totalUsd / 20;
    const callUsd = worstCaseUsd(models.fast, mapInputTokens, SUMMARIZE_MAX_TOKENS.map)!;
    expect(callUsd).toBeGreaterThan(perCall); // a reservation is the worst case, above what a call spends
    // Room for about ten calls' spend, plus the one reservation a call needs to start.
    const usd = 10 * perCall + callUsd;

    const r = await (await summarize({ ...base, ...c, budget: { usd, models, mapInputTokens } })).result();
    expect(r.status).toBe('budget-reached');
    expect(r.complete).toBe(false);
    expect(r.budget!.reached).toBe(true);
    expect(r.cost!.totalUsd).toBeLessThanOrEqual(usd);
    expect(r.budget!.spentUsd).toBe(r.cost!.totalUsd);
    // About half the chunks were mapped (one call at a time: exactly the calls whose reservation fitted).
    const done = 20 - r.missing.length;
    expect(done).toBeGreaterThanOrEqual(8);
    expect(done).toBeLessThanOrEqual(12);
    expect(r.budget!.skippedCalls).toBe(r.missing.length);
    for (const m of r.missing) expect(m.reason).toMatch(/^not started: the budget of \$[0-9.]+ was reached \(BudgetReached\)$/);
    // The completed chunks' results are kept: resultRef is the level file of what the map finished.
    const level = await getJson<LevelFile>(blobs, r.resultRef);
    expect(level.refs).toHaveLength(done);
    for (const ref of level.refs) expect((await getJson<PartialResult>(blobs, ref)).kind).toBe('map');
    expect(r.answer).toMatch(/budget reached/);
    expect(r.cost!.byModel[models.capable]).toBeUndefined(); // no reduce started
  });

  it('with --on-budget cancel, cancels the calls in flight once one cannot start', async () => {
    // Slow calls, three lanes, room for two reservations: the third cannot start, and the two in flight are cancelled.
    const c = await corpus(8);
    const callUsd = worstCaseUsd(models.fast, mapInputTokens, SUMMARIZE_MAX_TOKENS.map)!;
    const usd = roundUsd(2.5 * callUsd);
    const task = 'Summarise the growth story.\n#sim slow_ms=10000';
    const input = { ...base, ...c, task, concurrency: 3, budget: { usd, models, mapInputTokens, inFlight: 'cancel' as const } };
    const r = await (await summarize(input)).result();
    expect(r.status).toBe('budget-reached');
    expect(r.budget).toMatchObject({ reached: true, cancelledCalls: 2, skippedCalls: 6 });
    expect(r.missing).toHaveLength(8);
    expect(r.missing.filter((m) => /^cancelled in flight: the budget of/.test(m.reason))).toHaveLength(2);
    expect(r.cost!.totalUsd).toBeLessThanOrEqual(usd);
    expect(r.budget!.spentUsd).toBe(r.cost!.totalUsd);
    // Well before the slow calls would have answered.
    expect(r.totalMs).toBeLessThan(10_000);
  });

  it('runs to the end, the spend counted, when the budget covers the job', async () => {
    const c = await corpus(5);
    const r = await (await summarize({ ...base, ...c, concurrency: 4, budget: { usd: 5, models, mapInputTokens } })).result();
    expect(r.status).toBeUndefined();
    expect(r.complete).toBe(true);
    expect(r.budget).toMatchObject({ usd: 5, reached: false, skippedCalls: 0 });
    expect(r.budget!.spentUsd).toBe(r.cost!.totalUsd);
  });

  it('refuses a budget it cannot keep, before anything starts', async () => {
    const c = await corpus(2);
    const bad = async (budget: SummarizeInput['budget']) => {
      const err = await (await summarize({ ...base, ...c, budget })).result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      return (err as WorkflowFailedError).cause!.message;
    };
    expect(await bad({ usd: -1, models, mapInputTokens })).toMatch(/budget must be from/);
    expect(await bad({ usd: 1, models: { ...models, fast: 'no-such-model' }, mapInputTokens })).toMatch(/no price/);
  });
});
