// Spending less on the real API: a summarize run whose task is long enough to cache, and a
// summarize --batch run, on the real Temporal server with Claude as the model. Skipped, loudly,
// without ANTHROPIC_API_KEY; the same runs against the simulator are test/summarize-cache.test.ts
// and test/summarize-batch.test.ts.
//
// Costs a few cents: ~6 fast-model map calls over a ~5,000-token task (one cache write, five
// reads), one capable-model reduce, and a batch of 3 map requests, which the API may take minutes
// (at most 24 hours; the test gives it 30 minutes) to process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore, putJson } from '../src/blobs/store';
import { readConfig } from '../src/config';
import { modelClientFor } from '../src/model-client';
import { minCacheTokens } from '../src/shared/prompt-cache';
import { SUMMARIZE_WORKFLOW, type CorpusManifest, type SummarizeInput } from '../src/shared/summarize';
import { ToolRegistry } from '../src/tools';
import type { summarizeCorpus } from '../src/workflows';
import { createBraidWorker, type BraidWorker } from '../src/worker';
import { connect, workflowBundle, type Harness } from './helpers';

const KEY = process.env.ANTHROPIC_API_KEY;
const FAST = process.env.BRAID_REAL_API_MODEL ?? 'claude-haiku-4-5';

if (!KEY)
  console.warn(
    '[real-api-summarize] ANTHROPIC_API_KEY is not set: prompt caching of the map prefix and summarize --batch were NOT run against the real API (only against the simulator).',
  );

describe.skipIf(!KEY)('summarize against the real API: prompt cache and Message Batches', () => {
  let h: Harness;
  let worker: BraidWorker;
  const taskQueue = `real-summarize-${Math.random().toString(36).slice(2)}`;
  const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-real-blobs-'));
  const blobs = new FsBlobStore(blobDir);

  beforeAll(async () => {
    h = await connect();
    const cfg = readConfig({ ...process.env, BRAID_TASK_QUEUE: taskQueue, BRAID_BLOB_DIR: blobDir, BRAID_FAST_MODEL: FAST });
    worker = await createBraidWorker({
      connection: h.native,
      cfg,
      registry: new ToolRegistry(),
      model: modelClientFor(cfg)!,
      workflowBundle: await workflowBundle(),
    });
    void worker.run();
  });
  afterAll(async () => {
    await worker?.shutdown();
    await h?.close();
    fs.rmSync(blobDir, { recursive: true, force: true });
  });

  async function input(n: number, task: string): Promise<SummarizeInput> {
    const chunks: CorpusManifest['chunks'] = [];
    for (let i = 0; i < n; i++) {
      const text = `Refunds for orders shipped to region ${i} are paid within ${10 + i} days of the return reaching the warehouse.`;
      chunks.push({
        id: `0:${i}`,
        source: 'policy.md',
        start: i * 200,
        end: i * 200 + text.length,
        tokens: 30,
        ref: await blobs.put(text),
      });
    }
    const manifest: CorpusManifest = { version: 1, chunks, sources: [{ path: 'policy.md', sha256: 'x', chars: n * 200 }] };
    return {
      manifestRef: await putJson(blobs, manifest),
      chunkCount: n,
      sourceCount: 1,
      task,
      concurrency: 4,
      group: 10,
      tolerate: 0,
      badFiles: [],
    };
  }
  const run = async (i: SummarizeInput) =>
    h.client.workflow.execute<typeof summarizeCorpus>(SUMMARIZE_WORKFLOW, {
      taskQueue,
      workflowId: `real-summarize-${Math.random().toString(36).slice(2)}`,
      args: [i],
    });

  it('caches the long task with one map call and reads it in the others', { timeout: 10 * 60_000 }, async () => {
    const rules = [`How long do refunds take in each region? (run ${Math.random()}) Apply this rubric:`];
    for (let i = 1; rules.join(' ').length < (minCacheTokens(FAST) + 800) * 4; i++)
      rules.push(`Rule ${i}: a refund time stated for region ${i} counts only with its number of days and what starts the clock.`);
    const r = await run(await input(6, rules.join(' ')));
    const fast = r.cost!.byModel[Object.keys(r.cost!.byModel).find((m) => m.startsWith(FAST))!]!;
    expect(fast.cacheWriteTokens).toBeGreaterThan(minCacheTokens(FAST));
    expect(fast.cacheReadTokens).toBe(5 * fast.cacheWriteTokens);
    expect(r.cost!.savedUsd).toBeGreaterThan(0);
  });

  it('maps through a Message Batch at half price', { timeout: 35 * 60_000 }, async () => {
    const i = await input(3, 'How long do refunds take in each region?');
    const r = await run({ ...i, batch: { size: 10, pollMs: 10_000, maxPollMs: 60_000, rounds: 2 } });
    expect(r.complete).toBe(true);
    const fast = r.costByPhase!.map!.byModel[Object.keys(r.costByPhase!.map!.byModel)[0]!]!;
    expect(fast.batch).toBe(3);
    expect(r.costByPhase!.map!.savedUsd).toBeCloseTo(r.costByPhase!.map!.totalUsd, 6);
  });
});
