/**
 * The quorum primitive (src/workflows/quorum.ts) on the real server: K of N, races with staggered
 * starts, a validator, deadlines, and what happens to stragglers — cancelled for real (their
 * activities see the cancellation) or left running.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuorumResult } from '../src/workflows/quorum';
import type { QuorumTestInput, Step } from './fixtures/quorum-workflows';
import { connect, sleep, startFixtureWorker, type Harness } from './helpers';

let h: Harness;
let worker: { stop(): Promise<void> } | undefined;
const taskQueue = `quorum-${randomUUID()}`;
/** How each activity call ended, by key. */
const ended = new Map<string, 'completed' | 'failed' | 'cancelled'>();

async function step(s: Step & { key: string }): Promise<string> {
  const ctx = Context.current();
  const t = setInterval(() => ctx.heartbeat(), 200);
  try {
    await Promise.race([sleep(s.ms), ctx.cancelled]);
    if (s.fail) {
      ended.set(s.key, 'failed');
      throw new Error(`step ${s.key} failed`);
    }
    ended.set(s.key, 'completed');
    return s.value ?? s.key;
  } catch (err) {
    if (ctx.cancellationSignal.aborted) ended.set(s.key, 'cancelled');
    throw err;
  } finally {
    clearInterval(t);
  }
}

beforeAll(async () => {
  h = await connect();
  worker = await startFixtureWorker(h, taskQueue, 'quorum-workflows.ts', { step });
});

afterAll(async () => {
  await worker?.stop();
  await h?.close();
});

async function run(input: Omit<QuorumTestInput, 'key'>): Promise<{ key: string; r: QuorumResult<string> }> {
  const key = randomUUID();
  const r = await h.client.workflow.execute<(i: QuorumTestInput) => Promise<QuorumResult<string>>>('quorumTest', {
    taskQueue,
    workflowId: `quorum-${key}`,
    args: [{ key, ...input }],
  });
  return { key, r };
}

const statuses = (r: QuorumResult<string>) => r.branches.map((b) => b.status);

describe('quorum', () => {
  it('proceeds when K of N succeed, cancels the stragglers, and says which branches counted', async () => {
    const { key, r } = await run({
      k: 2,
      steps: [
        { ms: 100, value: 'a' },
        { ms: 30_000, value: 'slow' },
        { ms: 200, value: 'b' },
        { ms: 50, fail: true },
      ],
    });
    expect(r.met).toBe(true);
    expect(r.counted).toEqual([0, 2]);
    expect(statuses(r)).toEqual(['counted', 'cancelled', 'counted', 'failed']);
    expect(r.branches[0]!.value).toBe('a');
    expect(r.branches[3]!.reason).toMatch(/failed/);
    // The straggler's activity saw the cancellation: it stopped, it did not run to the end.
    expect(ended.get(`${key}/1`)).toBe('cancelled');
    expect(r.elapsedMs).toBeLessThan(25_000);
  });

  it('races staggered strategies: the first valid result wins, refused ones do not count, later ones never start', async () => {
    const { key, r } = await run({
      k: 1,
      steps: [
        { ms: 50, value: 'empty' },
        { ms: 300, value: 'good' },
        { ms: 10_000, value: 'thorough' },
        { ms: 10, value: 'never' },
      ],
      startAfterMs: [0, 50, 200, 20_000],
      reject: ['empty'],
    });
    expect(r.met).toBe(true);
    expect(r.counted).toEqual([1]);
    expect(statuses(r)).toEqual(['invalid', 'counted', 'cancelled', 'not-started']);
    expect(r.branches[0]!.reason).toBe('refused empty');
    expect(r.branches[3]!.startedAt).toBeUndefined();
    expect(ended.get(`${key}/2`)).toBe('cancelled');
    expect(ended.has(`${key}/3`)).toBe(false);
  });

  it('gives up at the deadline with what arrived, marking the rest timed out', async () => {
    const { r } = await run({ k: 2, deadlineMs: 1000, steps: [{ ms: 50 }, { ms: 20_000 }, { ms: 20_000 }] });
    expect(r.met).toBe(false);
    expect(r.counted).toEqual([0]);
    expect(statuses(r)).toEqual(['counted', 'timed-out', 'timed-out']);
  });

  it('fails fast when the quorum has become impossible', async () => {
    const { r } = await run({ k: 2, steps: [{ ms: 50, fail: true }, { ms: 80, fail: true }, { ms: 20_000 }] });
    expect(r.met).toBe(false);
    expect(statuses(r)).toEqual(['failed', 'failed', 'cancelled']);
    expect(r.elapsedMs).toBeLessThan(15_000);
  });

  it('detaches stragglers by policy: they run to the end and are reported late, not counted', async () => {
    const { key, r } = await run({
      k: 1,
      stragglers: 'detach',
      lingerMs: 1500,
      steps: [
        { ms: 50, value: 'first' },
        { ms: 500, value: 'second' },
      ],
    });
    expect(r.counted).toEqual([0]);
    // The detached branch ran to its end (the workflow lingered) and its report says so.
    expect(statuses(r)).toEqual(['counted', 'late']);
    expect(r.branches[1]!.value).toBe('second');
    expect(ended.get(`${key}/1`)).toBe('completed');
  });

  it('collects every branch when asked (a vote), holding the quorum with K of them; a branch out of its own time is timed out', async () => {
    const { key, r } = await run({
      k: 2,
      collect: 'all',
      steps: [
        { ms: 50, value: 'a' },
        { ms: 100, value: 'b' },
        { ms: 20_000, timeoutMs: 1000 },
        { ms: 1500, value: 'c' },
      ],
    });
    expect(r.met).toBe(true);
    expect(r.k).toBe(2);
    // Not cut off at the second result: the branch that came after it counted too.
    expect(r.counted).toEqual([0, 1, 3]);
    expect(statuses(r)).toEqual(['counted', 'counted', 'timed-out', 'counted']);
    expect(r.branches[2]!.reason).toMatch(/timeout/i);
    expect(ended.get(`${key}/3`)).toBe('completed');
  });

  it('collecting every branch still stops once the quorum cannot be met', async () => {
    const { key, r } = await run({
      k: 2,
      collect: 'all',
      steps: [{ ms: 50, fail: true }, { ms: 80, fail: true }, { ms: 20_000 }],
    });
    expect(r.met).toBe(false);
    expect(statuses(r)).toEqual(['failed', 'failed', 'cancelled']);
    expect(ended.get(`${key}/2`)).toBe('cancelled');
  });

  it('refuses a quorum that cannot be formed', async () => {
    const err = await run({ k: 3, steps: [{ ms: 1 }, { ms: 1 }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause?.message).toBe('a quorum needs 1 ≤ k ≤ 2 (the branches), got k = 3');
  });
});
