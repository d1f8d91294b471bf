/**
 * Many hosts, one S3 store (issue #14 §3): two worker PROCESSES with different data and blob
 * directories (no shared disk) and a third "host" — this test and the CLI — all with
 * BRAID_BLOB_URL pointing at one bucket of a real S3-compatible server (the Versity S3 Gateway).
 * A 2,000-chunk summarize written by the CLI host completes with every chunk mapped exactly once
 * by both workers; a large answer and a large document travel through the same store; and nothing
 * is written to any host's local blob directory.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBlobStore } from '../src/blobs/open';
import { putJson } from '../src/blobs/store';
import { readConfig } from '../src/config';
import type { PublishStatus } from '../src/shared/publish';
import { SUMMARIZE_WORKFLOW, type CorpusManifest } from '../src/shared/summarize';
import type { Simulator } from '../src/simulator';
import type { summarizeCorpus } from '../src/workflows';
import { registerSearchAttributes } from '../src/api/client';
import { braid } from './cli-helpers';
import { startS3Server, type S3Server } from './fixtures/s3-server';
import { WorkerProcesses } from './fixtures/worker-processes';
import { connect, startSimulator, workflowBundle, type Harness } from './helpers';

type Event = temporal.api.history.v1.IHistoryEvent;

const CHUNKS = 2000;
let s3: S3Server;
let sim: Simulator;
let h: Harness;
let tmp: string;
const workers = new WorkerProcesses();
const taskQueue = `multi-host-${randomUUID()}`;
const host = (name: string) => path.join(tmp, name);

/** The environment of one host: its own data directory (and so its own local blob directory), the shared bucket. */
const hostEnv = (name: string) => ({
  TEMPORAL_ADDRESS: h.address,
  BRAID_TASK_QUEUE: taskQueue,
  BRAID_SIMULATOR_URL: sim.url,
  BRAID_DATA_DIR: host(name),
  BRAID_STREAM_IDLE_TIMEOUT_MS: '20000',
  BRAID_MAX_TOKENS: '40000',
  ...s3.env('braid'),
});

/** Files under a directory, recursively (a host's local blob directory must stay empty). */
const filesUnder = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) : []);

beforeAll(async () => {
  [s3, sim, h] = await Promise.all([startS3Server(), startSimulator(), connect()]);
  await registerSearchAttributes(h.client);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-multi-host-'));
  const bundlePath = path.join(tmp, 'workflows.js');
  fs.writeFileSync(bundlePath, (await workflowBundle()).code);
  await Promise.all(['host-a', 'host-b'].map((n) => workers.start({ ...hostEnv(n), FLOW_BUNDLE_PATH: bundlePath })));
}, 180_000);

afterAll(async () => {
  await workers.stop();
  await h?.close();
  await sim?.close();
  await s3?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Every event of the run's tree of workflows (the root and its children, recursively). */
async function treeEvents(rootId: string): Promise<Event[]> {
  const all: Event[] = [];
  const visit = async (id: string) => {
    const events = (await h.client.workflow.getHandle(id).fetchHistory()).events ?? [];
    all.push(...events);
    for (const e of events) {
      const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId;
      if (child) await visit(child);
    }
  };
  await visit(rootId);
  return all;
}

describe('two worker hosts and a CLI host sharing one S3 blob store', () => {
  it(`summarizes ${CHUNKS.toLocaleString('en')} chunks, each mapped exactly once, the work spread over both hosts`, async () => {
    // The CLI host writes the corpus to the bucket, as `braid summarize` does.
    const blobs = openBlobStore(readConfig(hostEnv('host-cli')));
    const chunks: CorpusManifest['chunks'] = [];
    for (let i = 0; i < CHUNKS; i++) {
      const text = `Section ${i}. Revenue grew in region ${i % 7} after the launch of feature ${i}; returns fell by ${i % 5} points.`;
      chunks.push({
        id: `0:${i}`,
        source: 'report.md',
        start: i * 120,
        end: i * 120 + text.length,
        tokens: Math.ceil(text.length / 4),
        ref: await blobs.put(text),
      });
    }
    const manifestRef = await putJson(blobs, { version: 1, chunks, sources: [{ path: 'report.md', sha256: '-', chars: CHUNKS * 120 }] });
    blobs.close?.();
    sim.clearLedger();
    const handle = await h.client.workflow.start<typeof summarizeCorpus>(SUMMARIZE_WORKFLOW, {
      taskQueue,
      workflowId: `multi-host-${randomUUID()}`,
      args: [
        {
          manifestRef,
          chunkCount: CHUNKS,
          sourceCount: 1,
          task: 'Summarise what changed in each region.',
          concurrency: 100,
          group: 10,
          tolerate: 0,
          badFiles: [],
        },
      ],
    });
    const r = await handle.result();
    expect(r.complete).toBe(true);
    expect(r.missing).toEqual([]);
    expect(r.chunks).toBe(CHUNKS);
    expect(r.relevantChunks).toBeGreaterThan(0);

    const events = await treeEvents(handle.workflowId);
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes);
    const maps = scheduled.filter((e) => e.activityTaskScheduledEventAttributes!.activityType?.name === 'mapChunk');
    const firstArg = (e: Event) =>
      JSON.parse(Buffer.from(e.activityTaskScheduledEventAttributes!.input!.payloads![0]!.data!).toString('utf8')) as { index: number };
    const indexes = maps.map((e) => firstArg(e).index);
    expect(indexes.length).toBe(CHUNKS);
    expect(new Set(indexes).size).toBe(CHUNKS); // every chunk once, none twice
    // No attempt was retried (a chunk whose blob a host could not read would show attempt 2), and both hosts did map work.
    const started = events.filter((e) => e.activityTaskStartedEventAttributes);
    expect(started.filter((e) => (e.activityTaskStartedEventAttributes!.attempt ?? 1) > 1)).toEqual([]);
    const identities = new Set(started.map((e) => e.activityTaskStartedEventAttributes!.identity));
    expect(identities.size).toBe(2);
    // Every model call answered once: the map calls and the reduce calls, nothing failed or repeated.
    const ledger = sim.ledger();
    expect(ledger.filter((e) => e.status !== 200)).toEqual([]);
    // One call per chunk, plus at most one per reduce activity (a group with nothing to say makes none).
    const reduces = scheduled.filter((e) => e.activityTaskScheduledEventAttributes!.activityType?.name === 'reduceGroup').length;
    expect(ledger.length).toBeGreaterThan(CHUNKS);
    expect(ledger.length).toBeLessThanOrEqual(CHUNKS + reduces);
    for (const n of ['host-a', 'host-b', 'host-cli']) expect(filesUnder(path.join(host(n), 'blobs'))).toEqual([]);
  }, 600_000);

  it('a large answer is stored by a worker host and read back whole by the CLI host', async () => {
    const r = await braid(
      ['ask', 'Write the long report.\n#sim answer_tokens=30000', '--tools', 'calculator', '--json'],
      hostEnv('host-cli'),
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { answer: string; answerStored?: { ref: string; chars: number } };
    expect(out.answer.length).toBeGreaterThan(32 * 1024); // more than travels inline: it came from the bucket
    for (const n of ['host-a', 'host-b', 'host-cli']) expect(filesUnder(path.join(host(n), 'blobs'))).toEqual([]);
  }, 240_000);

  it('a large document given to publish on the CLI host is read by a worker host from the bucket', async () => {
    let big = 'Figures by region.\n';
    for (let i = 0; big.length < 300_000; i++) big += `Row ${i}: region ${i % 9} shipped ${(i * 31) % 1000} units in week ${i % 52}.\n`;
    const doc = path.join(tmp, 'big.md');
    fs.writeFileSync(doc, big);
    const id = `multi-host-publish-${randomUUID()}`;
    const r = await braid(
      ['publish', doc, '--to', path.join(tmp, 'site.db'), '--title', 'Regional figures', '--id', id, '--json'],
      hostEnv('host-cli'),
    );
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout) as PublishStatus;
    expect(status.stage).toBe('awaiting_approval');
    expect(status.analyses.map((a) => [a.ok, a.error])).toEqual([[true, undefined]]);
    await h.client.workflow.getHandle(id).terminate('test over');
    for (const n of ['host-a', 'host-b', 'host-cli']) expect(filesUnder(path.join(host(n), 'blobs'))).toEqual([]);
  }, 240_000);
});
