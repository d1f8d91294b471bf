/**
 * Prompt caching of the map's shared prefix, on the real Temporal server with the simulator as the
 * model (which caches as the API documents: an entry is visible once the response that wrote it has
 * begun, and only above the model's minimum cacheable length). A long task is cached by one map call
 * run first, and read by every other; a short one is not marked, and the map is not held back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../src/blobs/store';
import { minCacheTokens } from '../src/shared/prompt-cache';
import { usdFor } from '../src/shared/pricing';
import { SUMMARIZE_WORKFLOW, type SummarizeInput } from '../src/shared/summarize';
import type { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import type { summarizeCorpus } from '../src/workflows';
import { regionCorpus } from './summarize-helpers';
import { connect, scheduledInputs, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

const FAST = 'claude-haiku-4-5';
let h: Harness;
let sim: Simulator;
let worker: TestWorker;
const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-cache-blobs-'));
const blobs = new FsBlobStore(blobDir);

beforeAll(async () => {
  h = await connect();
  sim = await startSimulator({ latency: { ttftMs: 5, perTokenMs: 0 } });
  worker = await startWorker(h, new ToolRegistry(), sim, { BRAID_BLOB_DIR: blobDir, BRAID_FAST_MODEL: FAST });
});

afterAll(async () => {
  await worker?.shutdown();
  await sim?.close();
  await h?.close();
  fs.rmSync(blobDir, { recursive: true, force: true });
});

const corpus = (n: number) => regionCorpus(blobs, n);

/** A task with a rubric long enough for the fast model's minimum cacheable prefix. */
function longTask(tokens: number): string {
  const rules = ['What must a customer know about refunds and shipping? Apply this rubric:'];
  for (let i = 1; rules.join(' ').length < tokens * 4; i++)
    rules.push(`Rule ${i}: a refund or shipping time stated for region ${i} counts only with its number of days.`);
  return rules.join(' ');
}

async function run(task: string, chunks: number) {
  const input: SummarizeInput = { ...(await corpus(chunks)), task, concurrency: 8, group: 10, tolerate: 0, badFiles: [] };
  sim.clearLedger();
  const handle = await h.client.workflow.start<typeof summarizeCorpus>(SUMMARIZE_WORKFLOW, {
    taskQueue: worker.taskQueue,
    workflowId: `cache-${Math.random().toString(36).slice(2)}`,
    args: [input],
  });
  const result = await handle.result();
  const maps = sim.ledger().filter((e) => e.model === FAST && e.status === 200);
  return { handle, result, maps };
}

describe('prompt caching of the map prefix', () => {
  it('warms the cache with one map call, then every other map call reads it; the cost prices the cache and shows the saving', async () => {
    const { handle, result, maps } = await run(longTask(minCacheTokens(FAST) + 500), 6);
    expect(result.complete).toBe(true);
    expect(maps).toHaveLength(6);
    const [first, ...rest] = [...maps].sort((a, b) => a.receivedAt - b.receivedAt);
    // The warm-up call wrote the entry and finished before any other map call was sent.
    expect(first!.cacheCreationInputTokens).toBeGreaterThanOrEqual(minCacheTokens(FAST));
    expect(first!.cacheReadInputTokens).toBe(0);
    for (const e of rest) {
      expect(e.receivedAt).toBeGreaterThanOrEqual(first!.finishedAt);
      expect(e.cacheReadInputTokens).toBe(first!.cacheCreationInputTokens);
      expect(e.cacheCreationInputTokens).toBe(0);
    }
    // The root ran that one map call itself; the tree ran the rest.
    expect(await scheduledInputs(handle, 'mapCachePlan')).toHaveLength(1);
    expect(await scheduledInputs(handle, 'mapChunk')).toEqual([expect.objectContaining({ index: 0 })]);

    const fast = result.cost!.byModel[FAST]!;
    const sum = (k: 'inputTokens' | 'cacheReadInputTokens' | 'cacheCreationInputTokens' | 'outputTokens') =>
      maps.reduce((n, e) => n + e[k], 0);
    expect(fast).toMatchObject({
      inputTokens: sum('inputTokens'),
      outputTokens: sum('outputTokens'),
      cacheReadTokens: sum('cacheReadInputTokens'),
      cacheWriteTokens: sum('cacheCreationInputTokens'),
      batch: 0,
    });
    // Tokens × the price table, cache reads and writes at their own prices.
    const billed = maps.reduce((n, e) => n + (e.costUsd ?? NaN), 0);
    expect(fast.usd).toBeCloseTo(billed, 6);
    const uncached = usdFor(FAST, {
      inputTokens: sum('inputTokens') + sum('cacheReadInputTokens') + sum('cacheCreationInputTokens'),
      outputTokens: sum('outputTokens'),
    })!;
    expect(result.cost!.savedUsd).toBeCloseTo(uncached - fast.usd, 6);
    expect(result.cost!.savedUsd).toBeGreaterThan(0);
  });

  it('leaves a prefix below the minimum unmarked and sends every map call at once', async () => {
    const { handle, result, maps } = await run('What must a customer know about refunds?', 4);
    expect(result.complete).toBe(true);
    expect(maps).toHaveLength(4);
    for (const e of maps) expect(e.cacheCreationInputTokens + e.cacheReadInputTokens).toBe(0);
    // No warm-up: the root asked, and left every map call to the tree.
    expect(await scheduledInputs(handle, 'mapCachePlan')).toHaveLength(1);
    expect(await scheduledInputs(handle, 'mapChunk')).toHaveLength(0);
    expect(result.cost!.byModel[FAST]).toMatchObject({ cacheReadTokens: 0, cacheWriteTokens: 0 });
  });
});
