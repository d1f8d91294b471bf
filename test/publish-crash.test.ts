/**
 * Exactly once across a crash: a worker process is SIGKILLed right after the store write of the
 * first publication step and before it could report the activity complete. Temporal notices the
 * dead worker by the missed heartbeat and retries the step on a restarted worker; the idempotency
 * key makes the retry find the earlier write instead of adding a second one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { decideUpdate } from '../src/shared/publish';
import type { Simulator } from '../src/simulator';
import { DOCS, registerSearchAttributes, startPublish, storeSnapshot, waitForStage } from './fixtures/publish-harness';
import { connect, startSimulator, workflowBundle, type Harness } from './helpers';

const FIXTURE = path.join(__dirname, 'fixtures', 'publish-worker.ts');

let h: Harness;
let sim: Simulator;
let dir: string;
let bundlePath: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  h = await connect();
  await registerSearchAttributes(h.client);
  sim = await startSimulator();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-crash-'));
  bundlePath = path.join(dir, 'workflows.js');
  fs.writeFileSync(bundlePath, (await workflowBundle()).code);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await sim?.close();
  await h?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface Child {
  proc: ChildProcess;
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnWorker(taskQueue: string, env: Record<string, string> = {}): Child {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('ANTHROPIC_') && !k.startsWith('BRAID_') && !k.startsWith('TEMPORAL_')),
  );
  const proc = spawn(process.execPath, ['--require', 'tsx/cjs', FIXTURE], {
    // one process, so the kill is its own
    env: {
      ...clean,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      BRAID_TASK_QUEUE: taskQueue,
      BRAID_SIMULATOR_URL: sim.url,
      BRAID_TEST_BUNDLE: bundlePath,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    void exited.then((e) => reject(new Error(`worker exited before it was ready (${e.code ?? e.signal}): ${stderr.trim()}`)));
  });
  return { proc, ready, exited };
}

it('a worker killed right after a side effect, before reporting it, leaves exactly one effect after restart', async () => {
  const taskQueue = `publish-crash-${randomUUID()}`;
  const dest = path.join(dir, 'crash.db');
  const first = spawnWorker(taskQueue, { BRAID_TEST_KILL_AFTER: 'storeReport' });
  await first.ready;

  const handle = await startPublish(h.client, taskQueue, {
    documents: DOCS,
    destination: dest,
    remindAfterMs: 60_000,
    decideWithinMs: 120_000,
  });
  await waitForStage(handle, 'awaiting_approval');
  await handle.executeUpdate(decideUpdate, { args: [{ verdict: 'approve', reviewer: 'alice' }] });

  expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
  const read = () => storeSnapshot(dest, handle.workflowId);
  // The write landed; Temporal never heard of it: the step is still pending on its first attempt.
  expect(read().reports).toHaveLength(1);
  const pending = (await handle.describe()).raw.pendingActivities ?? [];
  expect(pending.map((a) => [a.activityId, a.attempt])).toEqual([['store-report', 1]]);

  const second = spawnWorker(taskQueue);
  await second.ready;
  const r = await handle.result();
  expect(r.outcome).toBe('published');
  // The retried step found its own write: not applied a second time.
  expect(r.effects[0]).toMatchObject({ step: 'store-report', applied: false, attempt: 2 });
  expect(r.effects.slice(1).map((e) => [e.step, e.applied, e.attempt])).toEqual([
    ['post-notification', true, 1],
    ['index-report', true, 1],
  ]);
  const s = read();
  expect(s.reports.map((x) => x.key)).toEqual([r.effects[0]!.key]);
  expect(s.outbox).toHaveLength(1);
  expect(s.index).toHaveLength(1);

  second.proc.kill('SIGTERM');
  expect((await second.exited).code).toBe(0);
}, 90_000); // two worker start-ups and a heartbeat timeout; slower when the machine is busy
