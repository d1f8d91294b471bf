/**
 * A workflow task held open while many activities complete, on the server Braid ships. The server
 * buffers events that arrive during a workflow task; past `history.maximumBufferedEventsBatch`
 * (100 by default) it force-closes the task (WorkflowTaskFailed, FORCE_CLOSE_COMMAND), the worker's
 * completion is refused ("Workflow task not found"), the run leaves the worker's cache and its next
 * task replays the whole history — which takes longer, so more completions pile up and it can fail
 * again. A 500-wide fan-out of 1 s model calls lost 2–4 tasks so in every run (bench fanout-wide).
 * Braid's dev servers raise the count, leaving the 2 MiB size limit as the bound.
 */
import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { goSignal } from './fixtures/buffered-workflows';
import { connect, startFixtureWorker, type Harness } from './helpers';

const N = 150;
let h: Harness;
let worker: { stop(): Promise<void> } | undefined;
const taskQueue = `buffered-${randomUUID()}`;

let started = 0;
let openGate!: () => void;
const gate = new Promise<void>((resolve) => (openGate = resolve));
let holding!: () => void;
const held = new Promise<void>((resolve) => (holding = resolve));
let letGo!: () => void;
const release = new Promise<void>((resolve) => (letGo = resolve));

beforeAll(async () => {
  h = await connect();
  worker = await startFixtureWorker(
    h,
    taskQueue,
    'buffered-workflows.ts',
    {
      async gated(i: number) {
        started++;
        await gate;
        return i;
      },
      async hold() {
        holding();
        await release;
      },
    },
    { maxConcurrentActivityTaskExecutions: N },
  );
});

afterAll(async () => {
  openGate();
  letGo();
  await worker?.stop();
  await h?.close();
});

describe('activity completions during a held workflow task', () => {
  it(`keeps the task when ${N} completions arrive while it is open`, async () => {
    const handle = await h.client.workflow.start('heldWhileCompleting', { taskQueue, workflowId: `buffered-${randomUUID()}`, args: [N] });
    const waiting = { timeout: 30_000, interval: 50 };
    await vi.waitFor(() => expect(started, 'activities started').toBe(N), waiting);
    await handle.signal(goSignal);
    await held; // the workflow task that handles `go` is open, running the local activity
    openGate();
    // Every completion is recorded (buffered behind the open task) before the task is let go.
    await vi.waitFor(
      async () => expect((await handle.describe()).raw.pendingActivities ?? [], 'activities pending').toHaveLength(0),
      waiting,
    );
    letGo();
    expect(await handle.result()).toBe((N * (N - 1)) / 2);
    const events = (await handle.fetchHistory()).events ?? [];
    const failed = events
      .filter((e) => e.workflowTaskFailedEventAttributes)
      .map((e) => temporal.api.enums.v1.WorkflowTaskFailedCause[e.workflowTaskFailedEventAttributes!.cause ?? 0]);
    expect(failed).toEqual([]);
    expect(events.filter((e) => e.activityTaskCompletedEventAttributes)).toHaveLength(N);
  }, 90_000);
});
