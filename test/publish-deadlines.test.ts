/**
 * `braid publish`'s approval deadlines, on Temporal's time-skipping test server: the reminder at
 * the first deadline, the configured default decision at the last, and a decision that comes after
 * the deadline refused — with real deadlines of a day and three days, which the server skips
 * through while the test waits, instead of the test waiting them out.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { decideUpdate, decisionSignal, PUBLISH_WORKFLOW, publishStatusQuery, type PublishInput } from '../src/shared/publish';
import type { Simulator } from '../src/simulator';
import { sqlitePublishStores } from '../src/store/publish-store';
import type { publishWorkflow } from '../src/workflows';
import { DOCS, faultyStores, startPublishWorker, storeSnapshot, waitForStage, type StoreFaults } from './fixtures/publish-harness';
import { quietRuntime, startSimulator, type TestWorker } from './helpers';

const HOUR = 3_600_000;

let env: TestWorkflowEnvironment;
let sim: Simulator;
let worker: TestWorker;
let dir: string;
const faults = new Map<string, StoreFaults>();

beforeAll(async () => {
  quietRuntime();
  env = await timeSkippingServer();
  sim = await startSimulator();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-deadlines-'));
  worker = await startPublishWorker({ native: env.nativeConnection }, sim, faultyStores(sqlitePublishStores(), faults));
});

/**
 * The time-skipping server, started again if its JVM was not listening within the SDK's fixed 5 s
 * (a fresh-clone run on a loaded machine failed that way; the SDK stops the process it gave up on).
 */
async function timeSkippingServer(attempts = 3): Promise<TestWorkflowEnvironment> {
  for (let i = 1; ; i++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path: inject('temporalTestServer') } },
      });
    } catch (err) {
      if (i >= attempts || !/did not start within/.test(String(err))) throw err;
    }
  }
}

afterAll(async () => {
  await worker?.shutdown();
  await sim?.close();
  await env?.teardown();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const destination = (name: string) => path.join(dir, `${name}.db`);

function start(dest: string, extra: Partial<PublishInput> = {}) {
  return env.client.workflow.start<typeof publishWorkflow>(PUBLISH_WORKFLOW, {
    taskQueue: worker.taskQueue,
    workflowId: `deadline-${path.basename(dest, '.db')}`,
    args: [{ documents: DOCS, destination: dest, remindAfterMs: 24 * HOUR, decideWithinMs: 72 * HOUR, ...extra }],
  });
}

describe('deadlines, with time skipping', () => {
  it('reminds at the first deadline and takes the configured default at the last', async () => {
    const started = Date.now();
    const rejecting = await start(destination('reject'), { reviewers: ['alice'] });
    const rejected = await rejecting.result();
    expect(Date.now() - started).toBeLessThan(60_000); // three days of workflow time, skipped

    expect(rejected.outcome).toBe('rejected');
    expect(rejected.decision).toMatchObject({
      verdict: 'reject',
      reviewer: 'braid',
      via: 'deadline',
      reason: expect.stringMatching(/no decision within 259200 s/),
    });
    const st = await rejecting.query(publishStatusQuery);
    expect(st.escalated).toBe(true);
    // Deadlines and decision times read as ISO-8601.
    expect(st.decideBy).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(st.decideBy!) - Date.parse(st.remindAt!)).toBe(48 * HOUR);
    expect(rejected.decision.at).toMatch(/^\d{4}-\d\d-\d\dT/);
    // Workflow clock: the timer fired at the deadline.
    expect(Date.parse(rejected.decision.at)).toBeGreaterThanOrEqual(Date.parse(st.decideBy!));
    const s = storeSnapshot(destination('reject'), rejecting.workflowId);
    expect(s.outbox.map((m) => m.kind)).toEqual(['reminder']);
    expect(s.outbox[0]!.body).toMatch(/^alice: run .* awaits approval; .* rejected by default/);
    expect(s.reports).toHaveLength(0);
  });

  it('publishes by default when so configured, and refuses a decision that comes after the deadline', async () => {
    const dest = destination('approve');
    let release!: () => void;
    faults.set(dest, { holdStore: new Promise<void>((r) => (release = r)) }); // keeps the run publishing while we decide too late
    const handle = await start(dest, { defaultDecision: 'approve' });
    await waitForStage(handle, 'awaiting_approval');
    await env.sleep(72 * HOUR);
    await waitForStage(handle, 'publishing');

    const late = await handle
      .executeUpdate(decideUpdate, { args: [{ verdict: 'reject', reviewer: 'alice', reason: 'too late?' }] })
      .catch((e: unknown) => e);
    expect(late).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((late as WorkflowUpdateFailedError).cause).toMatchObject({
      type: 'AlreadyDecided',
      message: 'already decided: approved by braid (default at the deadline)',
    });
    await handle.signal(decisionSignal, { verdict: 'reject', reviewer: 'alice', reason: 'too late?' });
    release();

    const r = await handle.result();
    expect(r.outcome).toBe('published');
    expect(r.decision).toMatchObject({ verdict: 'approve', reviewer: 'braid', via: 'deadline' });
    const st = await handle.query(publishStatusQuery);
    expect(st.ignoredSignals.map((i) => i.reason)).toEqual(['already decided: approved by braid (default at the deadline)']);
    const a = storeSnapshot(dest, handle.workflowId);
    expect(a.outbox.map((m) => m.kind)).toEqual(['reminder', 'published']);
    expect(a.reports).toHaveLength(1);
  });
});
