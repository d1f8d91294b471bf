/**
 * Issue #8, defect 2: a zero retry delay ends retrying. Temporal reads a `nextRetryDelay` of 0 as
 * "no further retry" (retry state TIMEOUT), and full jitter could draw exactly 0. Properties over
 * the jitter function, the backoff wrapper and the attempt ledger's verdicts: whatever the inputs
 * (NaN, infinities, negative floors, zero ceilings, a random source returning 0 or garbage), a
 * retryable verdict carries a whole delay between MIN_RETRY_DELAY_MS and a day. Then the defect
 * itself on the real server: a summarize whose chunk fails once while every jitter draw is 0.
 */
import { ApplicationFailure } from '@temporalio/common';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore, putJson } from '../src/blobs/store';
import { readConfig } from '../src/config';
import { createFlowControl, type FlowControl } from '../src/flow';
import { Attempts } from '../src/flow/attempts';
import { fullJitterDelay, MAX_RETRY_DELAY_MS, MIN_RETRY_DELAY_MS, withBackoff } from '../src/flow/backoff';
import { SUMMARIZE_WORKFLOW, type CorpusManifest } from '../src/shared/summarize';
import type { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import type { summarizeCorpus } from '../src/workflows';
import { createBraidWorker, type BraidWorker } from '../src/worker';
import { connect, simulatedModel, startSimulator, workflowBundle, type Harness } from './helpers';

const anyNumber = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, -1, NaN, Infinity, -Infinity, 1e300));
const randomSource = fc.oneof(fc.constantFrom(0, 1, NaN, -1, 2), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }));
const backoff = fc.record({ baseMs: anyNumber, maxMs: anyNumber, r: randomSource });

function expectUsableDelay(d: unknown): void {
  expect(typeof d).toBe('number');
  expect(Number.isInteger(d)).toBe(true);
  expect(d as number).toBeGreaterThanOrEqual(MIN_RETRY_DELAY_MS);
  expect(d as number).toBeLessThanOrEqual(MAX_RETRY_DELAY_MS);
}

describe('retry delays are never zero, negative or NaN', () => {
  it('fullJitterDelay, for any attempt, options, random draw and floor', () => {
    fc.assert(
      fc.property(anyNumber, backoff, anyNumber, (attempt, o, floor) => {
        expectUsableDelay(fullJitterDelay(attempt, { baseMs: o.baseMs, maxMs: o.maxMs, random: () => o.r }, floor));
      }),
      { numRuns: 2000 },
    );
  });

  it('withBackoff, for any retryable failure and any retry-after it carries', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), anyNumber, backoff, (attempt, retryAfter, o) => {
        const f = ApplicationFailure.create({ message: 'x', type: 'LlmConnection', nextRetryDelay: retryAfter });
        const out = withBackoff(f, attempt, attempt + 1, { baseMs: o.baseMs, maxMs: o.maxMs, random: () => o.r });
        expect(out.nonRetryable).toBe(false);
        expectUsableDelay(out.nextRetryDelay);
      }),
      { numRuns: 1000 },
    );
  });

  it("the attempt ledger's verdicts, charged or waits, whatever the ledger says", () => {
    const ledger = fc.option(
      fc.record({
        braidLedger: fc.constant(1 as const),
        waits: fc.nat(40),
        lastWaitAttempt: fc.nat(40),
        streak: fc.nat(40),
        waitingSince: fc.integer({ min: 0, max: 2_000_000 }),
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        ledger,
        fc.constantFrom('charged' as const, 'wait' as const),
        backoff,
        anyNumber,
        fc.option(anyNumber, { nil: undefined }),
        (attempt, details, charge, o, floor, cap) => {
          const a = new Attempts(
            { attempt, heartbeatDetails: details },
            { maxAttempts: 6, outageBudgetMs: 900_000 },
            () => {},
            () => 1_000_000,
          );
          const f = ApplicationFailure.create({ message: 'x', type: 'LlmConnection' });
          const out = a.verdict(f, charge, { baseMs: o.baseMs, maxMs: o.maxMs, random: () => o.r }, floor, cap);
          if (!out.nonRetryable) expectUsableDelay(out.nextRetryDelay);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('a chunk that fails once while the jitter draws 0', () => {
  let h: Harness;
  let sim: Simulator;
  let worker: BraidWorker;
  let flow: FlowControl;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-zero-'));
  const taskQueue = `zero-delay-${Date.now()}`;

  beforeAll(async () => {
    h = await connect();
    sim = await startSimulator();
    const cfg = readConfig({ BRAID_TASK_QUEUE: taskQueue, BRAID_BLOB_DIR: dir });
    const real = createFlowControl(cfg);
    flow = { ...real, llmBackoff: { ...real.llmBackoff, random: () => 0 } };
    worker = await createBraidWorker({
      connection: h.native,
      cfg,
      flow,
      registry: new ToolRegistry(),
      model: simulatedModel(sim),
      workflowBundle: await workflowBundle(),
    });
    void worker.run();
  });

  afterAll(async () => {
    await worker?.shutdown();
    await flow?.close();
    await sim?.close();
    await h?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is retried, and the job completes (it failed with retry state TIMEOUT before)', async () => {
    const blobs = new FsBlobStore(dir);
    const chunks: CorpusManifest['chunks'] = [];
    for (let i = 0; i < 4; i++) {
      const text = `Part ${i}: sales rose ${i + 2} percent.${i === 2 ? ' RESET-ONCE' : ''}`;
      chunks.push({ id: `0:${i}`, source: 'a.md', start: i * 50, end: i * 50 + text.length, tokens: 10, ref: await blobs.put(text) });
    }
    const manifestRef = await putJson(blobs, { version: 1, chunks, sources: [{ path: 'a.md', sha256: 'x', chars: 200 }] });
    sim.clearLedger();
    sim.configure({ faults: [{ kind: 'reset', times: 1, match: { contains: 'RESET-ONCE' } }] });
    const r = await h.client.workflow.execute<typeof summarizeCorpus>(SUMMARIZE_WORKFLOW, {
      taskQueue,
      workflowId: `zero-delay-${Date.now()}`,
      args: [{ manifestRef, chunkCount: 4, sourceCount: 1, task: 'What grew?', concurrency: 4, group: 10, tolerate: 0, badFiles: [] }],
    });
    sim.configure({ faults: [] });
    expect(sim.ledger().filter((e) => e.outcome === 'fault:reset')).toHaveLength(1);
    expect(r.complete).toBe(true);
    expect(r.missing).toEqual([]);
    expect(r.chunks).toBe(4);
  });
});
