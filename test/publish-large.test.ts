/**
 * `braid publish` with large content (issue #8, defect 4): a document over the old 512 KB cap goes
 * to the blob store and travels by reference, a long analysis and a long report come back stored,
 * and the CLI, the status query's readers and the publication steps see the whole text — while
 * the run's history holds only references and previews.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PublishResult, PublishStatus } from '../src/shared/publish';
import type { Simulator } from '../src/simulator';
import { registerSearchAttributes, startPublishWorker, storeSnapshot } from './fixtures/publish-harness';
import { braid as runBraid, type Run } from './cli-helpers';
import { connect, startSimulator, type Harness, type TestWorker } from './helpers';

let h: Harness;
let sim: Simulator;
let worker: TestWorker;
let dir: string;
let blobDir: string;

beforeAll(async () => {
  h = await connect();
  await registerSearchAttributes(h.client);
  sim = await startSimulator();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-publish-large-'));
  blobDir = path.join(dir, 'blobs');
  worker = await startPublishWorker(h, sim, undefined, { BRAID_BLOB_DIR: blobDir, BRAID_MAX_TOKENS: '20000' });
});

afterAll(async () => {
  await worker?.shutdown();
  await sim?.close();
  await h?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function braid(args: string[]): Promise<Run> {
  const env = { TEMPORAL_ADDRESS: inject('temporalAddress'), BRAID_TASK_QUEUE: worker.taskQueue, BRAID_BLOB_DIR: blobDir };
  return runBraid(args, env, { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
}

describe('large documents, analyses and reports', () => {
  it('publishes a 1 MB document by reference, with the whole report in the CLI and at the destination', async () => {
    // The directive makes the analysis of the big document long enough to be stored.
    let big = '#sim answer_tokens=4000\nFigures by region.\n';
    for (let i = 0; big.length < 1_000_000; i++) big += `Row ${i}: region ${i % 9} shipped ${(i * 31) % 1000} units in week ${i % 52}.\n`;
    fs.writeFileSync(path.join(dir, 'big.md'), big);
    fs.writeFileSync(path.join(dir, 'small.md'), 'Pricing: the standard plan costs 12 euros per seat.');
    const id = `publish-large-${Date.now()}`;
    // A directive in the title makes the report long enough to be stored.
    const title = 'Regional figures\n#sim answer_tokens=12000 ';
    const r = await braid(['publish', 'big.md', 'small.md', '--to', 'site.db', '--title', title, '--id', id, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout) as PublishStatus & { workflowId: string };
    expect(status.stage).toBe('awaiting_approval');
    expect(status.analyses.map((a) => [a.name, a.ok, Boolean(a.stored)])).toEqual([
      ['big.md', true, true],
      ['small.md', true, false],
    ]);
    expect(status.reportStored?.body.chars).toBeGreaterThan(32 * 1024);
    expect(status.report).toMatch(/^# Regional figures/);
    expect(status.report!.length).toBe(`# ${title}\n\n`.length + status.reportStored!.body.chars);

    // History holds references and previews only: not the document, the analysis or the report.
    const history = await h.client.workflow.getHandle(id).fetchHistory();
    const payloads = (history.events ?? []).flatMap((e) =>
      [
        e.workflowExecutionStartedEventAttributes?.input,
        e.activityTaskScheduledEventAttributes?.input,
        e.activityTaskCompletedEventAttributes?.result,
      ].flatMap((p) => p?.payloads ?? []),
    );
    const text = payloads.map((p) => Buffer.from(p.data ?? []).toString('utf8')).join('\n');
    expect(Math.max(...payloads.map((p) => p.data?.length ?? 0))).toBeLessThan(16 * 1024);
    expect(text).not.toContain('Row 9000:');
    expect(text).not.toContain(status.report!.slice(2_000, 2_100));
    expect(text).toContain(status.reportStored!.body.ref);

    const a = await braid(['approve', id, '--as', 'alice']);
    expect(a.code, a.stderr).toBe(0);
    const result: PublishResult = await h.client.workflow.getHandle(id).result();
    expect(result.outcome).toBe('published');
    const snapshot = storeSnapshot(path.join(dir, 'site.db'), id);
    expect(snapshot.reports.map((x) => x.body)).toEqual([status.report]);
    expect(snapshot.outbox.find((m) => m.kind === 'published')?.body).toBe(status.report!.slice(0, 500));
  }, 120_000);
});
