/**
 * `summarize --batch`: the map through the Message Batches API, on the real Temporal server with
 * the simulator's batches (which answer on a clock: `processingMs` until a batch ends, and requests
 * not done by `expiresAfterMs` expire). Batches of bounded size are submitted together, waited for
 * with workflow timers, collected by custom_id, billed at half price; expired requests are sent
 * again and reported as failed chunks once their rounds are spent.
 */
import Anthropic from '@anthropic-ai/sdk';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../src/blobs/store';
import { analyzeRun } from '../src/report/analyze';
import { fetchRun } from '../src/report/fetch';
import { priceTable, usdFor } from '../src/shared/pricing';
import { SUMMARIZE_WORKFLOW, type BatchMapOptions, type SummarizeInput } from '../src/shared/summarize';
import type { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import type { summarizeCorpus } from '../src/workflows';
import { braid, expectOneLineError, server } from './cli-helpers';
import { regionCorpus } from './summarize-helpers';
import { connect, scheduledInputs, sleep, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

const FAST = 'claude-haiku-4-5';
const TASK = 'What must a customer know about refunds and shipping?';
const BATCH: BatchMapOptions = { size: 3, pollMs: 200, maxPollMs: 400, rounds: 2 };
let h: Harness;
const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-batch-blobs-'));
const blobs = new FsBlobStore(blobDir);

beforeAll(async () => {
  h = await connect();
});

afterAll(async () => {
  await h?.close();
  fs.rmSync(blobDir, { recursive: true, force: true });
});

const corpus = (n: number) => regionCorpus(blobs, n);

/** A simulator and a worker on their own task queue for one describe block. */
function setup(batches: { processingMs: number; expiresAfterMs?: number }) {
  const ctx = {} as { sim: Simulator; worker: TestWorker };
  beforeAll(async () => {
    ctx.sim = await startSimulator({ latency: { ttftMs: 5, perTokenMs: 0 }, batches });
    ctx.worker = await startWorker(h, new ToolRegistry(), ctx.sim, { BRAID_BLOB_DIR: blobDir, BRAID_FAST_MODEL: FAST });
  });
  afterAll(async () => {
    await ctx.worker?.shutdown();
    await ctx.sim?.close();
  });
  const run = async (input: SummarizeInput) => {
    const handle = await h.client.workflow.start<typeof summarizeCorpus>(SUMMARIZE_WORKFLOW, {
      taskQueue: ctx.worker.taskQueue,
      workflowId: `batch-${Math.random().toString(36).slice(2)}`,
      args: [input],
    });
    return { handle, result: await handle.result() };
  };
  return { ctx, run };
}

describe('summarize --batch', () => {
  const { ctx, run } = setup({ processingMs: 600 });

  it('maps through parallel batches of bounded size, waits with timers, and answers as the interactive map does, at half the price', async () => {
    const base = { ...(await corpus(7)), task: TASK, concurrency: 8, group: 10, tolerate: 0, badFiles: [] };
    const now = await run(base);
    ctx.sim.clearLedger();
    const { handle, result } = await run({ ...base, batch: BATCH });

    // The same answer as the map answered now: the same requests, read and checked the same way.
    expect(result.complete).toBe(true);
    expect(result.answer).toBe(now.result.answer);
    expect(result.claims).toEqual(now.result.claims);
    // No map call went through the Messages endpoint: only the final reduce did.
    expect(ctx.sim.ledger().filter((e) => e.model === FAST)).toHaveLength(0);

    // Three batches of at most three requests, submitted before any was checked, and read back by custom_id.
    const submits = (await scheduledInputs(handle, 'submitMapBatch')) as { start: number; end: number; indexes?: number[] }[];
    expect(submits.map((s) => [s.start, s.end])).toEqual([
      [0, 3],
      [3, 5],
      [5, 7],
    ]);
    const client = new Anthropic({ apiKey: 'sim', baseURL: ctx.sim.url, maxRetries: 0 });
    const listed = (await client.messages.batches.list({ limit: 20 })).data.slice(0, 3);
    expect(listed.map((b) => b.request_counts.succeeded).sort()).toEqual([2, 2, 3]);
    const history = await handle.fetchHistory();
    const timers = history.events!.filter((e) => e.timerStartedEventAttributes).length;
    expect(timers).toBeGreaterThanOrEqual(1);
    expect(await scheduledInputs(handle, 'pollMapBatches')).toHaveLength(timers);

    // Billed at the batch rate: half of list price, every map request counted in `batch`, the half saved.
    const map = result.costByPhase!.map!.byModel[FAST]!;
    expect(map.batch).toBe(7);
    const list = usdFor(FAST, map)!;
    expect(map.usd).toBeCloseTo(list / 2, 7);
    expect(result.costByPhase!.map!.savedUsd).toBeCloseTo(list / 2, 7);
    expect(result.cost!.savedUsd).toBeCloseTo(list / 2, 7);
    expect(now.result.costByPhase!.map!.byModel[FAST]).toMatchObject({
      inputTokens: map.inputTokens,
      outputTokens: map.outputTokens,
      batch: 0,
    });
    expect(result.phases[0]!.name).toBe('map (3 Message Batches)');

    // braid report reads the same from history: the batch requests at the batch rate, and what that saved.
    const report = analyzeRun(await fetchRun(h.client, handle.workflowId), { now: Date.now(), prices: priceTable() });
    expect(report.cost.byModel[FAST]).toMatchObject({ batch: 7, inputTokens: map.inputTokens, outputTokens: map.outputTokens });
    expect(report.cost.totalUsd).toBeCloseTo(result.cost!.totalUsd, 7);
    expect(report.cost.savedUsd).toBeCloseTo(result.cost!.savedUsd, 7);
  });
});

describe('summarize --batch: requests that expire', () => {
  // Requests of a batch finish one by one over 600 ms; the last of three is still processing at expiry.
  const { run } = setup({ processingMs: 600, expiresAfterMs: 450 });

  it('are sent again in a new batch, and reported as failed chunks once their rounds are spent', async () => {
    const { handle, result } = await run({
      ...(await corpus(3)),
      task: TASK,
      concurrency: 8,
      group: 10,
      tolerate: 50,
      badFiles: [],
      batch: BATCH,
    });
    const submits = (await scheduledInputs(handle, 'submitMapBatch')) as { indexes?: number[] }[];
    expect(submits.map((s) => s.indexes)).toEqual([undefined, [2]]);
    expect(result.complete).toBe(false);
    expect(result.missing).toEqual([
      expect.objectContaining({ chunkId: '0:2', reason: expect.stringMatching(/^request expired \(batch msgbatch_/) }),
    ]);
    expect(result.costByPhase!.map!.byModel[FAST]!.batch).toBe(2);
  });
});

describe('summarize --batch: cancelled', () => {
  // Batches that would take a minute: the run is cancelled while it waits for them.
  const { ctx } = setup({ processingMs: 60_000 });

  it('cancels the batches it submitted', async () => {
    const handle = await h.client.workflow.start<typeof summarizeCorpus>(SUMMARIZE_WORKFLOW, {
      taskQueue: ctx.worker.taskQueue,
      workflowId: `batch-cancel-${Math.random().toString(36).slice(2)}`,
      args: [{ ...(await corpus(4)), task: TASK, concurrency: 8, group: 10, tolerate: 0, badFiles: [], batch: BATCH }],
    });
    const client = new Anthropic({ apiKey: 'sim', baseURL: ctx.sim.url, maxRetries: 0 });
    const listed = async () => (await client.messages.batches.list({ limit: 20 })).data;
    // Both submitted and recorded: the run is waiting on its first timer.
    const waiting = async () => (await handle.fetchHistory()).events!.some((e) => e.timerStartedEventAttributes);
    while (!(await waiting())) await sleep(100);
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();
    expect(await scheduledInputs(handle, 'cancelMapBatches')).toEqual([
      { batchIds: expect.arrayContaining((await listed()).map((b) => b.id)) },
    ]);
    for (const b of await listed()) expect(b.cancel_initiated_at).not.toBeNull();
  });
});

describe('braid summarize --batch', () => {
  // Two CLI runs, each starting its own worker: minutes on a loaded machine.
  it(
    'maps through batches from the command line: the JSON result bills them at the batch rate, the summary line says what that saved',
    { timeout: 300_000 },
    async () => {
      const env = { ...server(), BRAID_BLOB_DIR: blobDir, BRAID_BATCH_POLL: '300ms', BRAID_BATCH_MAX_POLL: '1s' };
      const args = [
        'summarize',
        'data/docs',
        '--task',
        'What does the handbook say about refunds?',
        '--batch',
        '--batch-size',
        '20',
        '--with-worker',
      ];
      const json = await braid([...args, '--json'], env);
      expect(json.code, json.stderr).toBe(0);
      const r = JSON.parse(json.stdout);
      expect(r.workflowId).toMatch(/-batch$/);
      expect(r.cost.byModel[FAST].batch).toBe(r.chunks);
      expect(r.cost.savedUsd).toBeGreaterThan(0);
      // The same command again returns the finished batch run; its summary line names the saving.
      const human = await braid(args, env);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toMatch(/cost \$[\d.]+ \(.*\), \$[\d.]+ saved \(Message Batches\)/);
    },
  );

  it('refuses --batch-size without --batch, before anything starts', async () => {
    expectOneLineError(await braid(['summarize', 'data/docs', '--task', 'x', '--batch-size', '10']), 2, /--batch-size needs --batch/);
  });
});
