/**
 * `braid publish`, `pending`, `approve` and `reject` as a user runs them: separate CLI processes
 * against the run's Temporal server and a worker in this process. Checks outputs, exit codes, and
 * that every bad input is one line that changes nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { publishStatusQuery } from '../src/shared/publish';
import type { Simulator } from '../src/simulator';
import { SqlitePublishStore } from '../src/store/publish-store';
import {
  DOCS,
  registerSearchAttributes,
  SLOW_MODEL_LATENCY,
  SLOW_MODEL_TABLE,
  SLOW_WORKER_ENV,
  startPublish,
  startPublishWorker,
  waitForStage,
} from './fixtures/publish-harness';
import { braid as runBraid, expectOneLineError, type Run } from './cli-helpers';
import { connect, startSimulator, type Harness, type TestWorker } from './helpers';

let h: Harness;
let sim: Simulator;
let worker: TestWorker;
let slow: TestWorker;
let dir: string;
let docs: string[];

beforeAll(async () => {
  h = await connect();
  await registerSearchAttributes(h.client);
  sim = await startSimulator({ latency: { ttftMs: 20, perTokenMs: 0, models: SLOW_MODEL_LATENCY }, models: SLOW_MODEL_TABLE });
  worker = await startPublishWorker(h, sim);
  slow = await startPublishWorker(h, sim, undefined, SLOW_WORKER_ENV);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-publish-cli-'));
  docs = DOCS.slice(0, 2).map((d) => {
    const file = path.join(dir, d.name);
    fs.writeFileSync(file, d.text);
    return file;
  });
});

afterAll(async () => {
  await worker?.shutdown();
  await slow?.shutdown();
  await sim?.close();
  await h?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The CLI against this file's worker, run from its scratch directory. */
function braid(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runBraid(args, { TEMPORAL_ADDRESS: inject('temporalAddress'), BRAID_TASK_QUEUE: worker.taskQueue, ...env }, { cwd: dir });
}

const waiting = (extra: { reviewers?: string[] } = {}) =>
  startPublish(h.client, worker.taskQueue, {
    documents: DOCS,
    destination: path.join(dir, 'direct.db'),
    remindAfterMs: 60_000,
    decideWithinMs: 120_000,
    ...extra,
  });

describe('braid publish / pending / approve', () => {
  it('publishes after an approval from the command line, and lists the run as pending until then', async () => {
    const id = `cli-publish-${Date.now()}`;
    const dest = path.join(dir, 'site.db');
    const r = await braid([
      'publish',
      ...docs.map((d) => path.basename(d)),
      '--to',
      'site.db',
      '--reviewers',
      'alice',
      '--id',
      id,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ workflowId: id, stage: 'awaiting_approval', destination: dest, documents: ['pricing.md', 'security.md'] });
    expect(out.report).toMatch(/^# /);

    let pending: string[] = [];
    for (let i = 0; i < 40 && !pending.includes(id); i++) {
      const p = await braid(['pending', '--json']);
      expect(p.code, p.stderr).toBe(0);
      pending = p.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).workflowId);
    }
    expect(pending).toContain(id);

    const a = await braid(['approve', id, '--as', 'alice', '--comment', 'looks right']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout.trim()).toBe(`approved ${id} as alice`);
    const result = await h.client.workflow.getHandle(id).result();
    expect(result).toMatchObject({ outcome: 'published', decision: { reviewer: 'alice', comment: 'looks right', via: 'update' } });
    const store = new SqlitePublishStore(dest);
    try {
      expect(store.snapshot(id).reports).toHaveLength(1);
    } finally {
      store.close();
    }
    expectOneLineError(
      await braid(['approve', id, '--as', 'alice']),
      2,
      new RegExp(`run ${id} has finished \\(completed\\); there is nothing to decide`),
    );
  });

  it('rejects with a reason', async () => {
    const handle = await waiting();
    await waitForStage(handle, 'awaiting_approval');
    const r = await braid(['reject', handle.workflowId, '--reason', 'numbers not final', '--as', 'bob']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`rejected ${handle.workflowId} as bob`);
    expect(await handle.result()).toMatchObject({ outcome: 'rejected', decision: { reviewer: 'bob', reason: 'numbers not final' } });
  });
});

describe('bad input: one line, non-zero exit, nothing done', () => {
  it('refuses decisions for unknown, not-yet-waiting runs and unknown reviewers', async () => {
    // The slow worker's fast model takes a minute: this run is still analysing.
    const early = await startPublish(h.client, slow.taskQueue, {
      documents: DOCS,
      destination: path.join(dir, 'held.db'),
      remindAfterMs: 60_000,
      decideWithinMs: 120_000,
    });
    const guarded = await waiting({ reviewers: ['alice'] });
    await Promise.all([waitForStage(early, 'analyzing'), waitForStage(guarded, 'awaiting_approval')]);
    const [unknown, tooEarly, stranger, noReason, blankReason] = await Promise.all([
      braid(['approve', 'no-such-run-42']),
      braid(['approve', early.workflowId, '--as', 'alice']),
      braid(['approve', guarded.workflowId, '--as', 'mallory']),
      braid(['reject', guarded.workflowId]),
      braid(['reject', guarded.workflowId, '--reason', ' ']),
    ]);
    expectOneLineError(unknown, 2, /no run with id no-such-run-42/);
    expectOneLineError(tooEarly, 2, /decision refused: not awaiting approval yet: the run is analysing the documents/);
    expectOneLineError(stranger, 2, /decision refused: unknown reviewer "mallory"; this run accepts decisions from alice/);
    expectOneLineError(noReason, 2, /required option '--reason <text>' not specified/);
    expectOneLineError(blankReason, 2, /the reason is empty/);
    const st = await guarded.query(publishStatusQuery);
    expect([st.stage, st.decision]).toEqual(['awaiting_approval', undefined]);
    await Promise.all([early.terminate('test done'), guarded.terminate('test done')]);
  });

  it('refuses unreadable documents and unusable destinations before anything runs', async () => {
    const before = sim.ledger().length;
    const [missing, scheme, emptyDoc, unreachable, badDuration, tooMany, underFile] = await Promise.all([
      braid(['publish', 'missing.md', '--to', 'x.db']),
      braid(['publish', docs[0]!, '--to', 'https://example.com/reports']),
      (async () => {
        fs.writeFileSync(path.join(dir, 'empty.md'), '  \n');
        return braid(['publish', 'empty.md', '--to', 'x.db']);
      })(),
      braid(['publish', docs[0]!, '--to', path.join(dir, 'no-such-dir', 'reports.db')]),
      braid(['publish', docs[0]!, '--to', 'x.db', '--remind-after', 'soon']),
      braid(['publish', ...Array.from({ length: 51 }, () => docs[0]!), '--to', 'x.db']),
      braid(['publish', `${docs[0]!}/inside.md`, '--to', 'x.db']),
    ]);
    expectOneLineError(missing, 2, /cannot read document missing\.md: no such file/);
    expectOneLineError(scheme, 2, /unsupported destination https:\/\/example\.com\/reports/);
    expectOneLineError(emptyDoc, 2, /document empty\.md is empty/);
    expectOneLineError(badDuration, 2, /--remind-after.*expected a duration such as 90s/);
    expectOneLineError(tooMany, 2, /51 documents; the limit is 50 per run/);
    // Read errors name the document and say what is wrong in words (as root, EACCES cannot be provoked; ENOTDIR can).
    expectOneLineError(underFile, 2, /cannot read document .*\/inside\.md: part of the path is not a directory \(ENOTDIR\)$/);
    // The worker checks the destination first: the run fails before any model call.
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr.trim().split('\n').at(-1)).toMatch(
      /^braid: destination .*no-such-dir.* is unreachable: directory .* does not exist.*; nothing was published/,
    );
    expect(sim.ledger().length).toBe(before);
    expect(fs.existsSync(path.join(dir, 'x.db'))).toBe(false);
  });
});
