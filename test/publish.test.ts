/**
 * `braid publish` end to end on the real server with the simulator: parallel analysis, the wait for
 * a decision (update, signal, validator refusals, duplicates), and publication as a saga against the
 * SQLite destination store, including a failure in the last step. The deadlines run on the
 * time-skipping test server: publish-deadlines.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideUpdate, decisionSignal, publishStatusQuery, type PublishInput } from '../src/shared/publish';
import { usdFor } from '../src/shared/pricing';
import type { Simulator } from '../src/simulator';
import { sqlitePublishStores } from '../src/store/publish-store';
import { BraidStatus } from '../src/shared/search-attributes';
import {
  DOCS,
  eventually,
  faultyStores,
  listIds,
  registerSearchAttributes,
  SLOW_MODEL_LATENCY,
  SLOW_MODEL_TABLE,
  SLOW_WORKER_ENV,
  startPublish,
  startPublishWorker,
  storeSnapshot,
  waitForStage,
  type StoreFaults,
} from './fixtures/publish-harness';
import { connect, startSimulator, type Harness, type TestWorker } from './helpers';

let h: Harness;
let sim: Simulator;
let worker: TestWorker;
let slow: TestWorker;
let dir: string;
const faults = new Map<string, StoreFaults>();
const FAST_TTFT = 400;

beforeAll(async () => {
  h = await connect();
  await registerSearchAttributes(h.client);
  // The fast model answers slowly enough that overlapping analyses are visible in the ledger.
  sim = await startSimulator({
    latency: { ttftMs: 20, perTokenMs: 0, models: { 'claude-haiku-4-5': { ttftMs: FAST_TTFT, perTokenMs: 0 }, ...SLOW_MODEL_LATENCY } },
    models: SLOW_MODEL_TABLE,
  });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-publish-'));
  worker = await startPublishWorker(h, sim, faultyStores(sqlitePublishStores(), faults));
  slow = await startPublishWorker(h, sim, undefined, SLOW_WORKER_ENV);
});

afterAll(async () => {
  await worker?.shutdown();
  await slow?.shutdown();
  await sim?.close();
  await h?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const destination = (name: string) => path.join(dir, `${name}.db`);
const input = (dest: string, extra: Partial<PublishInput> = {}): PublishInput => ({
  documents: DOCS,
  destination: dest,
  remindAfterMs: 60_000,
  decideWithinMs: 120_000,
  ...extra,
});

async function updateEvents(handle: {
  fetchHistory(): Promise<{ events?: { workflowExecutionUpdateAcceptedEventAttributes?: unknown }[] | null }>;
}) {
  const history = await handle.fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
}

describe('approve', () => {
  it('analyses the documents at once, waits for a decision, then applies each publication effect once', async () => {
    const dest = destination('approve');
    const before = sim.ledger().length;
    const handle = await startPublish(h.client, worker.taskQueue, input(dest, { reviewers: ['alice'] }));
    const status = await waitForStage(handle, 'awaiting_approval');
    expect(status.analyses.map((a) => [a.name, a.ok])).toEqual(DOCS.map((d) => [d.name, true]));
    expect(status.report).toMatch(/^# /);
    expect(Date.parse(status.decideBy!) - Date.parse(status.remindAt!)).toBe(60_000);

    // One fast-model call per document, all received before the first one answered: in parallel.
    const fast = sim
      .ledger()
      .slice(before)
      .filter((e) => e.model === 'claude-haiku-4-5');
    expect(fast).toHaveLength(DOCS.length);
    expect(Math.max(...fast.map((e) => e.receivedAt))).toBeLessThan(Math.min(...fast.map((e) => e.finishedAt)));
    expect(
      sim
        .ledger()
        .slice(before)
        .filter((e) => e.model === 'claude-sonnet-4-6'),
    ).toHaveLength(1);

    // Listed as pending through the search attribute, the same filter the Web UI takes.
    const pendingQuery = `WorkflowId = "${handle.workflowId}" AND BraidStatus = "awaiting_approval"`;
    expect(
      await eventually(
        () => listIds(h.client, pendingQuery),
        (ids) => ids.length === 1,
      ),
    ).toEqual([handle.workflowId]);
    expect(storeSnapshot(dest, handle.workflowId).reports).toHaveLength(0); // nothing published before the decision

    const receipt = await handle.executeUpdate(decideUpdate, { args: [{ verdict: 'approve', reviewer: 'alice', comment: 'ship it' }] });
    expect(receipt).toMatchObject({
      accepted: true,
      duplicate: false,
      decision: { verdict: 'approve', reviewer: 'alice', comment: 'ship it', via: 'update' },
    });

    const r = await handle.result();
    expect(r.outcome).toBe('published');
    const { runId } = await handle.describe();
    expect(r.effects.map((e) => [e.step, e.key, e.applied])).toEqual([
      ['store-report', `${handle.workflowId}/${runId}/store-report`, true],
      ['post-notification', `${handle.workflowId}/${runId}/post-notification`, true],
      ['index-report', `${handle.workflowId}/${runId}/index-report`, true],
    ]);
    const s = storeSnapshot(dest, handle.workflowId);
    expect(s.reports.map((x) => x.key)).toEqual([r.effects[0]!.key]);
    expect(s.reports[0]!.body).toBe(r.report);
    expect(s.outbox.map((m) => [m.kind, m.ref_key])).toEqual([['published', r.effects[0]!.key]]);
    expect(s.index.map((x) => x.report_key)).toEqual([r.effects[0]!.key]);
    expect(s.compensations).toHaveLength(0);
    expect((await handle.describe()).typedSearchAttributes.get(BraidStatus)).toBe('published');
    expect(
      await eventually(
        () => listIds(h.client, pendingQuery),
        (ids) => ids.length === 0,
      ),
    ).toEqual([]);
  });
});

describe('reject', () => {
  it('ends rejected with the reason and publishes nothing', async () => {
    const dest = destination('reject');
    const handle = await startPublish(h.client, worker.taskQueue, input(dest));
    await waitForStage(handle, 'awaiting_approval');
    await handle.executeUpdate(decideUpdate, { args: [{ verdict: 'reject', reviewer: 'bob', reason: 'pricing not final' }] });
    const r = await handle.result();
    expect(r.outcome).toBe('rejected');
    expect(r.decision).toMatchObject({ verdict: 'reject', reviewer: 'bob', reason: 'pricing not final', via: 'update' });
    expect(r.effects).toEqual([]);
    const s = storeSnapshot(dest, handle.workflowId);
    expect([s.reports.length, s.outbox.length, s.index.length]).toEqual([0, 0, 0]);
    expect((await handle.describe()).typedSearchAttributes.get(BraidStatus)).toBe('rejected');
  });
});

describe('cost', () => {
  it('charges an analysis stream cut mid-answer and retried as estimated', async () => {
    sim.configure({ faults: [{ kind: 'reset', times: 1, match: { contains: 'Pricing update for 2026' } }] });
    const handle = await startPublish(h.client, worker.taskQueue, input(destination('cost')));
    await waitForStage(handle, 'awaiting_approval');
    sim.configure({ faults: [] });
    await handle.executeUpdate(decideUpdate, { args: [{ verdict: 'reject', reviewer: 'bob', reason: 'not now' }] });
    const r = await handle.result();
    expect(r.cost!.estimatedUsd).toBeGreaterThan(0);
    const billed = Object.entries(r.usage.byModel).reduce((n, [m, u]) => n + usdFor(m, u)!, 0);
    expect(r.cost!.totalUsd).toBeCloseTo(billed + r.cost!.estimatedUsd, 7);
  });
});

describe('decisions', () => {
  it('refuses bad decisions at once and leaves no trace of them', async () => {
    // Still analysing: this worker's fast model takes a minute to answer.
    const early = await startPublish(h.client, slow.taskQueue, input(destination('early')));
    await waitForStage(early, 'analyzing');
    const tooEarly = await early
      .executeUpdate(decideUpdate, { args: [{ verdict: 'approve', reviewer: 'alice' }] })
      .catch((e: unknown) => e);
    expect(tooEarly).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((tooEarly as WorkflowUpdateFailedError).cause).toMatchObject({
      type: 'NotAwaitingApproval',
      message: expect.stringMatching(/not awaiting approval yet: the run is analysing the documents/),
    });
    await early.terminate('test done');

    const handle = await startPublish(h.client, worker.taskQueue, input(destination('refusals'), { reviewers: ['alice', 'bob'] }));
    await waitForStage(handle, 'awaiting_approval');
    const refusals = [
      [
        { verdict: 'approve', reviewer: 'mallory' },
        'UnknownReviewer',
        /unknown reviewer "mallory"; this run accepts decisions from alice, bob/,
      ],
      [{ verdict: 'reject', reviewer: 'alice' }, 'InvalidDecision', /a rejection needs a reason/],
      [{ verdict: 'reject', reviewer: 'alice', reason: '   ' }, 'InvalidDecision', /a rejection needs a reason/],
      [{ verdict: 'maybe', reviewer: 'alice' }, 'InvalidDecision', /verdict must be "approve" or "reject"/],
      [{ verdict: 'approve', reviewer: ' ' }, 'InvalidDecision', /reviewer is missing/],
    ] as const;
    for (const [req, type, message] of refusals) {
      const err = await handle.executeUpdate(decideUpdate, { args: [req as never] }).catch((e: unknown) => e);
      expect(err, JSON.stringify(req)).toBeInstanceOf(WorkflowUpdateFailedError);
      const cause = (err as WorkflowUpdateFailedError).cause as ApplicationFailure;
      expect(cause.type).toBe(type);
      expect(cause.message).toMatch(message);
      // The refusal is its reason, one line: no stack trace naming the worker's files (the Web UI shows it).
      expect(cause.stack ?? '').not.toMatch(/\.ts\b|\/src\/|    at /);
    }
    // A signal cannot be refused; the workflow ignores it and says so in its status.
    await handle.signal(decisionSignal, { verdict: 'approve', reviewer: 'mallory' });
    await eventually(
      () => handle.query(publishStatusQuery),
      (st) => st.ignoredSignals.length === 1,
    );
    const st = await handle.query(publishStatusQuery);
    expect(st.stage).toBe('awaiting_approval');
    expect(st.decision).toBeUndefined();
    expect(st.ignoredSignals[0]!.reason).toMatch(/unknown reviewer "mallory"/);
    expect(await updateEvents(handle)).toBe(0); // refused updates never reached history

    await handle.executeUpdate(decideUpdate, { args: [{ verdict: 'approve', reviewer: 'bob' }] });
    expect((await handle.result()).outcome).toBe('published');
    expect(await updateEvents(handle)).toBe(1);
  });

  it('takes a repeated decision as a no-op and refuses a contrary one', async () => {
    const dest = destination('duplicates');
    let release!: () => void;
    faults.set(dest, { holdStore: new Promise<void>((r) => (release = r)) }); // keeps the run open while we repeat ourselves
    const handle = await startPublish(h.client, worker.taskQueue, input(dest));
    await waitForStage(handle, 'awaiting_approval');

    await handle.signal(decisionSignal, { verdict: 'approve', reviewer: 'alice', comment: 'first' });
    await waitForStage(handle, 'publishing');
    await handle.signal(decisionSignal, { verdict: 'approve', reviewer: 'alice', comment: 'again' });
    const again = await handle.executeUpdate(decideUpdate, { args: [{ verdict: 'approve', reviewer: 'carol' }] });
    expect(again).toMatchObject({ accepted: true, duplicate: true, decision: { reviewer: 'alice', comment: 'first', via: 'signal' } });
    const contrary = await handle
      .executeUpdate(decideUpdate, { args: [{ verdict: 'reject', reviewer: 'bob', reason: 'no' }] })
      .catch((e: unknown) => e);
    expect((contrary as WorkflowUpdateFailedError).cause).toMatchObject({
      type: 'AlreadyDecided',
      message: 'already decided: approved by alice',
    });
    release();

    const r = await handle.result();
    expect(r.outcome).toBe('published');
    expect(r.decision).toMatchObject({ reviewer: 'alice', comment: 'first' });
    const s = storeSnapshot(dest, handle.workflowId);
    expect([s.reports.length, s.outbox.length, s.index.length]).toEqual([1, 1, 1]);
    expect(faults.get(dest)!.calls!.filter((c) => c === 'storeReport')).toHaveLength(1);
  });
});

describe('saga', () => {
  it('undoes the completed steps in reverse order, once each, when the last step fails', async () => {
    const dest = destination('fail-index');
    faults.set(dest, { failIndex: true, loseFirstRetractionReply: true });
    const handle = await startPublish(h.client, worker.taskQueue, input(dest));
    await waitForStage(handle, 'awaiting_approval');
    await handle.executeUpdate(decideUpdate, { args: [{ verdict: 'approve', reviewer: 'alice' }] });

    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(failure.type).toBe('PublishCompensated');
    expect(failure.message).toBe(
      'publication failed at index-report (the search index rejected the report); compensated in reverse order: unindex-report, retract-notification, retract-report',
    );

    const { runId } = await handle.describe();
    const key = (id: string) => `${handle.workflowId}/${runId}/${id}`;
    const s = storeSnapshot(dest, handle.workflowId);
    expect(s.compensations.map((c) => [c.step, c.target_key, c.undone])).toEqual([
      ['unindex-report', key('index-report'), 0], // the failed step never landed: a recorded no-op
      ['retract-notification', key('post-notification'), 1],
      ['retract-report', key('store-report'), 1],
    ]);
    expect(s.reports).toHaveLength(0);
    expect(s.index).toHaveLength(0);
    expect(s.outbox.map((m) => [m.kind, m.ref_key])).toEqual([
      ['published', key('store-report')],
      ['retraction', key('post-notification')],
    ]);
    // The retraction ran twice (its first reply was lost) but applied once.
    const calls = faults.get(dest)!.calls!;
    expect(calls.filter((c) => c === 'retractNotification')).toHaveLength(2);
    const st = await handle.query(publishStatusQuery);
    expect(st.compensations.map((c) => [c.step, c.applied, c.attempt])).toEqual([
      ['unindex-report', true, 1],
      ['retract-notification', false, 2],
      ['retract-report', true, 1],
    ]);
    expect(st.stage).toBe('compensated');
    expect((await handle.describe()).typedSearchAttributes.get(BraidStatus)).toBe('compensated');
  });

  it('fails at once, before any analysis, when the destination is unreachable', async () => {
    const before = sim.ledger().length;
    const handle = await startPublish(h.client, worker.taskQueue, input(path.join(dir, 'no-such-dir', 'x.db')));
    const err = await handle.result().catch((e: unknown) => e);
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('DestinationUnreachable');
    expect((err as WorkflowFailedError).cause!.message).toMatch(/no-such-dir does not exist/);
    expect(sim.ledger().length).toBe(before);
    expect(fs.existsSync(path.join(dir, 'no-such-dir'))).toBe(false);
  });
});
