/**
 * A workflow task held open while many activities complete, on the server Braid ships and on one
 * with a cluster's default. The server buffers events that arrive during a workflow task; past
 * `history.maximumBufferedEventsBatch` (100 by default) it force-closes the task (WorkflowTaskFailed,
 * FORCE_CLOSE_COMMAND), the worker's completion is refused ("Workflow task not found"), the run
 * leaves the worker's cache and its next task replays the whole history — which takes longer, so
 * more completions pile up and it can fail again. A 500-wide fan-out of 1 s model calls lost 2–4
 * tasks so in every run (bench fanout-wide). Braid's dev servers raise the count, leaving the 2 MiB
 * size limit as the bound; on a server that keeps the default, `braid report` names the lost tasks.
 */
import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { analyzeRun } from '../src/report/analyze';
import { fetchRun } from '../src/report/fetch';
import { renderHtml } from '../src/report/html';
import { BRAID_DEV_SERVER_TUNING, startEphemeralServer, type EphemeralServer } from '../src/temporal/dev-server';
import { goSignal } from './fixtures/buffered-workflows';
import { connect, startFixtureWorker, type Harness } from './helpers';

const N = 150;

/** Runs `heldWhileCompleting`: N activities complete while the task handling `go` is held open; returns its id. */
async function holdWhileCompleting(h: Harness): Promise<string> {
  const taskQueue = `buffered-${randomUUID()}`;
  let started = 0;
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  let holding!: () => void;
  const held = new Promise<void>((resolve) => (holding = resolve));
  let letGo!: () => void;
  const release = new Promise<void>((resolve) => (letGo = resolve));
  const worker = await startFixtureWorker(
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
  try {
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
    return handle.workflowId;
  } finally {
    openGate();
    letGo();
    await worker.stop();
  }
}

async function failedCauses(h: Harness, workflowId: string) {
  const events = (await h.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  expect(events.filter((e) => e.activityTaskCompletedEventAttributes)).toHaveLength(N);
  return events
    .filter((e) => e.workflowTaskFailedEventAttributes)
    .map((e) => temporal.api.enums.v1.WorkflowTaskFailedCause[e.workflowTaskFailedEventAttributes!.cause ?? 0]);
}

describe('activity completions during a held workflow task', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await connect();
  });
  afterAll(async () => {
    await h?.close();
  });

  it(`keeps the task on Braid's server when ${N} completions arrive while it is open`, async () => {
    const id = await holdWhileCompleting(h);
    expect(await failedCauses(h, id)).toEqual([]);
    expect(analyzeRun(await fetchRun(h.client, id), { now: Date.now() }).lostTasks).toEqual([]);
  }, 90_000);
});

describe("on a server with a cluster's default of 100 buffered events", () => {
  let server: EphemeralServer;
  let h: Harness;
  beforeAll(async () => {
    const { 'history.maximumBufferedEventsBatch': _raised, ...dynamicConfig } = BRAID_DEV_SERVER_TUNING.dynamicConfig;
    server = await startEphemeralServer({}, { tuning: { ...BRAID_DEV_SERVER_TUNING, dynamicConfig } });
    h = await connect(server.address);
  }, 90_000);
  afterAll(async () => {
    await h?.close();
    await server?.close();
  });

  it('force-closes the held task, the run still completes, and the report names the lost task', async () => {
    const id = await holdWhileCompleting(h);
    expect(await failedCauses(h, id)).toContain('WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND');
    const report = analyzeRun(await fetchRun(h.client, id), { now: Date.now() });
    expect(report.lostTasks.length).toBeGreaterThanOrEqual(1);
    expect(report.lostTasks.map((l) => l.cause)).toContain('FORCE_CLOSE_COMMAND');
    expect(report.lostTasks.every((l) => l.workflowId === id && l.at >= report.startedAt && l.at <= report.endedAt)).toBe(true);
    const html = renderHtml(report, { generatedAt: Date.now() });
    expect(html).toMatch(/id="lost-tasks" data-count="\d+"/);
    expect(html).toContain('history.maximumBufferedEventsBatch');
  }, 90_000);
});
