/**
 * The race primitive (src/workflows/race.ts, public as `race` in `@braid-agents/braid/workflow`) on
 * the real server, with the simulator streaming at a realistic pace: the first valid candidate wins,
 * a loser's model call really stops mid-stream (the simulator's ledger shows generation cut short)
 * and its streamed spend is charged to the run as estimated; a refused candidate does not win; no
 * valid candidate fails the run with each strategy's reason.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BraidWorkerPlugin, readConfig, ToolRegistry } from '../src/api/worker';
import { Simulator } from '../src/simulator';
import type { RaceResult } from '../src/workflows/race';
import type { RaceTestInput } from './fixtures/race-workflows';
import { connect, simulatedModel, type Harness } from './helpers';

const HAIKU = 'claude-haiku-4-5';
const LONG = 4000;

let h: Harness;
let sim: Simulator;
let worker: Worker;
let running: Promise<void>;
const taskQueue = `race-${Date.now()}`;
const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-race-blobs-'));
let n = 0;

beforeAll(async () => {
  h = await connect();
  // 4 ms a token: a 4000-token answer streams for 16 s, far longer than a cancellation takes to arrive.
  sim = await Simulator.start({ quiet: true, latency: { ttftMs: 20, perTokenMs: 4 } });
  worker = await Worker.create({
    connection: h.native,
    taskQueue,
    workflowsPath: path.join(__dirname, 'fixtures', 'race-workflows.ts'),
    plugins: [
      new BraidWorkerPlugin({ config: readConfig({ BRAID_BLOB_DIR: blobDir }), model: simulatedModel(sim), tools: new ToolRegistry() }),
    ],
  });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await sim?.close();
  await h?.close();
  fs.rmSync(blobDir, { recursive: true, force: true });
});

const runRace = (input: RaceTestInput) =>
  h.client.workflow.execute<(i: RaceTestInput) => Promise<RaceResult<string>>>('userRace', {
    taskQueue,
    workflowId: `race-test-${Date.now()}-${n++}`,
    args: [input],
  });

describe('race', () => {
  it('lets the first valid candidate win, stops the loser mid-stream and charges its streamed spend as estimated', async () => {
    sim.clearLedger();
    const r = await runRace({
      strategies: [
        { name: 'slow', startAfterMs: 0, model: HAIKU, maxTokens: 8000, question: `Write it all out.\n#sim answer_tokens=${LONG}` },
        { name: 'quick', startAfterMs: 300, model: HAIKU, question: 'Answer briefly.\n#sim text=The quick answer.' },
      ],
    });
    expect(r.winner).toBe('quick');
    expect(r.value).toBe('The quick answer.');
    const [slow, quick] = r.branches;
    expect(quick).toMatchObject({ name: 'quick', status: 'won' });
    expect(slow).toMatchObject({ name: 'slow', status: 'lost-cancelled', reason: 'another strategy won' });

    // The loser's generation stopped where it was cut: its ledger entry (the first request) shows far fewer tokens than planned.
    const [cut, whole] = sim.ledger();
    expect(cut!.outputTokens).toBeGreaterThan(0);
    expect(cut!.outputTokens).toBeLessThan(LONG / 2);
    expect(cut!.inputTokens).toBe(slow!.usage.total.inputTokens);
    expect(whole!.outputTokens).toBe(quick!.usage.total.outputTokens);

    // Its spend so far is charged, estimated from the streamed text, and counted in the run's total.
    expect(slow!.usage.total.inputTokens).toBeGreaterThan(0);
    expect(slow!.usage.total.outputTokens).toBeGreaterThan(0);
    expect(slow!.usage.total.outputTokens).toBeLessThan(LONG / 2);
    expect(slow!.cost.estimatedUsd).toBeGreaterThan(0);
    expect(quick!.cost.estimatedUsd).toBe(0);
    expect(r.cost.estimatedUsd).toBe(slow!.cost.estimatedUsd);
    expect(r.usage.total.outputTokens).toBe(slow!.usage.total.outputTokens + quick!.usage.total.outputTokens);
  }, 60_000);

  it('does not let a refused candidate win: the next valid one does', async () => {
    const r = await runRace({
      refuseContaining: 'BAD',
      strategies: [
        { name: 'first', startAfterMs: 0, model: HAIKU, question: 'Answer.\n#sim text=A BAD answer.' },
        { name: 'second', startAfterMs: 200, model: HAIKU, question: 'Answer.\n#sim text=A good answer.' },
      ],
    });
    expect(r.winner).toBe('second');
    expect(r.branches.map((b) => b.status)).toEqual(['invalid', 'won']);
    expect(r.branches[0]!.reason).toBe('contains "BAD"');
    expect(r.branches[0]!.value).toBe('A BAD answer.');
  }, 60_000);

  it('starts each strategy at its stagger, not at the timer queue’s one-second floor', async () => {
    // On a dev server with the default history.timerProcessorMaxTimeShift (1 s) every sub-second
    // timer fired at ~980 ms, so 50 ms and 200 ms staggers started together, a second late.
    const r = await runRace({
      refuseContaining: 'BAD',
      strategies: [
        { name: 'now', startAfterMs: 0, model: HAIKU, question: 'Answer.\n#sim text=BAD now.' },
        { name: 'at50', startAfterMs: 50, model: HAIKU, question: 'Answer.\n#sim text=BAD at 50.' },
        { name: 'at200', startAfterMs: 200, model: HAIKU, question: 'Answer.\n#sim text=Good at 200.' },
      ],
    });
    expect(r.winner).toBe('at200');
    const [now, at50, at200] = r.branches.map((b) => b.startedAt!);
    expect(at50! - now!).toBeGreaterThanOrEqual(50);
    expect(at50! - now!).toBeLessThan(500);
    expect(at200! - now!).toBeGreaterThanOrEqual(200);
    expect(at200! - now!).toBeLessThan(650);
  }, 60_000);

  it('fails the run with each strategy’s reason when no candidate is valid', async () => {
    const err = await runRace({
      refuseContaining: 'BAD',
      strategies: [
        { name: 'one', startAfterMs: 0, model: HAIKU, question: 'Answer.\n#sim text=BAD one.' },
        { name: 'two', startAfterMs: 50, model: 'no-such-model', question: 'Answer.' },
      ],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const message = String((err as WorkflowFailedError).cause?.message);
    expect(message).toMatch(/^no strategy gave a valid result — one: invalid \(contains "BAD"\); two: failed \(.+\)$/);
  }, 60_000);
});

describe('hedged model calls', () => {
  it('hedges a call slower than the model’s recent p95 to the other model, first answer wins, at most 10% of calls', async () => {
    const SONNET = 'claude-sonnet-4-6';
    // Slow haiku calls take 5 s more: far longer than a hedge to sonnet takes even on a loaded machine.
    sim.configure({ latency: { ttftMs: 20, perTokenMs: 0 }, answerRules: [{ match: { model: HAIKU, contains: 'SLOW' }, slowMs: 5000 }] });
    try {
      const questions = [
        ...Array.from({ length: 20 }, (_, i) => `Question ${i}.`),
        ...Array.from({ length: 3 }, (_, i) => `SLOW question ${i}.`),
      ];
      const r = await h.client.workflow.execute('userHedged', {
        taskQueue,
        workflowId: `hedge-test-${Date.now()}`,
        args: [{ questions, model: HAIKU, hedgeModel: SONNET }],
      });
      const calls = r.calls as { winner: string; hedged: boolean; thresholdMs?: number; model: string }[];
      // No p95 before 20 completed calls, so no hedge.
      expect(calls.slice(0, 20).every((c) => c.thresholdMs === undefined && !c.hedged)).toBe(true);
      // From call 21 on, a threshold from the earlier calls' durations, far below the slow calls' 5 s.
      expect(calls.slice(20).every((c) => c.thresholdMs !== undefined && c.thresholdMs < 5000)).toBe(true);
      // The budget (10% of calls so far) allows hedges at calls 21 and 22 but not 23 (3 > 2.3).
      expect(calls.flatMap((c, i) => (c.hedged ? [i + 1] : []))).toEqual([21, 22]);
      expect(r.hedges).toBe(2);
      // Each hedge answered first, from the other model; the unhedged slow call waited for its primary.
      expect(calls.slice(20).map((c) => [c.winner, c.model])).toEqual([
        ['hedge', SONNET],
        ['hedge', SONNET],
        ['primary', HAIKU],
      ]);
    } finally {
      sim.configure({ latency: { ttftMs: 20, perTokenMs: 4 }, answerRules: [] });
    }
  }, 90_000);
});
