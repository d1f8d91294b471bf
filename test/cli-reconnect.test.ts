/**
 * The CLI following a run keeps following when the Temporal server restarts under it: a dev server
 * of this test's own (its own port and database file, so the run survives the restart) is stopped
 * and started again while `braid ask` waits for a slow model turn.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../src/simulator';
import { freePort, startDevServer, stopDevServer, type DevServerOptions } from '../src/temporal/dev-server';
import { ToolRegistry } from '../src/tools';
import { braid } from './cli-helpers';
import { quietRuntime, sleep, startSimulator, startWorker, type TestWorker } from './helpers';

let dir: string;
let server: DevServerOptions;
let native: NativeConnection;
let sim: Simulator;
let worker: TestWorker;

beforeAll(async () => {
  quietRuntime();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-reconnect-'));
  server = { dataDir: dir, port: await freePort(), uiPort: await freePort() };
  await startDevServer(server);
  native = await NativeConnection.connect({ address: `127.0.0.1:${server.port}` });
  sim = await startSimulator();
  // A model turn of 25 s (the test helpers' default stream timeouts are shorter): in flight throughout the outage.
  worker = await startWorker({ native }, new ToolRegistry(), sim, {
    BRAID_STREAM_IDLE_TIMEOUT_MS: '60000',
    BRAID_LLM_REQUEST_TIMEOUT_MS: '60000',
  });
}, 120_000);

afterAll(async () => {
  await worker?.shutdown();
  await native?.close();
  await sim?.close();
  if (server) await stopDevServer(server);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('braid ask while the Temporal server restarts', () => {
  it('reconnects and prints the answer', async () => {
    const env = { TEMPORAL_ADDRESS: `127.0.0.1:${server.port}`, BRAID_TASK_QUEUE: worker.taskQueue };
    const asking = braid(['ask', '--json', 'Say hello.\n#sim slow_ms=25000'], env);
    // Once the run exists the CLI is following it, and the model turn is in flight.
    const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
    const client = new Client({ connection });
    const started = async () => {
      for await (const w of client.workflow.list({ query: `TaskQueue = "${worker.taskQueue}"` })) return w.workflowId;
      return undefined;
    };
    for (let i = 0; i < 300 && !(await started()); i++) await sleep(200);
    await connection.close();
    await sleep(1000);
    expect((await stopDevServer(server)).stopped).toBe(true);
    // Longer than the client's own retries of an unreachable server (10 attempts, backing off 1.7× from
    // 100 ms to at most 5 s: about 20 s), so the CLI itself must notice and reconnect.
    await sleep(30_000);
    await startDevServer(server);
    const r = await asking;
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { stopReason: string; answer: string };
    expect(out.stopReason).toBe('end_turn');
    expect(out.answer.length).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/lost the Temporal server .*; reconnecting/);
  }, 150_000);
});
