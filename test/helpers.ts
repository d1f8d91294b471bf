/**
 * Shared test plumbing: connections to the run's Temporal server (see global-setup.ts), one
 * workflow bundle per test file, a quiet runtime, workers on unique task queues, and small tools
 * with controllable latency and failures.
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { inject } from 'vitest';
import { z } from 'zod';
import { readConfig } from '../src/config';
import { simulatedModel } from '../bench/harness';
import { Simulator, type SimulatorOptions } from '../src/simulator';
import { defineTool, ToolError, ToolRegistry } from '../src/tools';
import { createBraidWorker, type BraidWorker, type BraidWorkerOptions } from '../src/worker';

let runtimeReady = false;
export function quietRuntime(): void {
  if (runtimeReady) return;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  runtimeReady = true;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
const WORKFLOWS = path.join(__dirname, '..', 'src', 'workflows', 'index.ts');
export function workflowBundle(workflowsPath = WORKFLOWS): Promise<WorkflowBundleWithSourceMap> {
  if (workflowsPath !== WORKFLOWS) return bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('ERROR') });
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('ERROR') });
  return bundle;
}

/** A worker for a test's own fixture workflows (test/fixtures/<file>) and activities, on `taskQueue`, until `stop()`. */
export async function startFixtureWorker(
  h: Harness,
  taskQueue: string,
  fixture: string,
  activities: object,
  options: Partial<WorkerOptions> = {},
): Promise<{ stop(): Promise<void> }> {
  const worker = await Worker.create({
    ...options,
    connection: h.native,
    taskQueue,
    workflowBundle: await workflowBundle(path.join(__dirname, 'fixtures', fixture)),
    activities,
  });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}

export interface Harness {
  address: string;
  client: Client;
  native: NativeConnection;
  close(): Promise<void>;
}

/** Clients of the tests' server, or of another one the test started (`address`). */
export async function connect(address: string = inject('temporalAddress')): Promise<Harness> {
  quietRuntime();
  const connection = await Connection.connect({ address });
  const native = await NativeConnection.connect({ address });
  return {
    address,
    client: new Client({ connection }),
    native,
    close: async () => {
      await connection.close();
      await native.close();
    },
  };
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    });
  });

/** A model client pointed at a simulator, as a worker without ANTHROPIC_API_KEY builds it (shared with the benchmarks). */
export { simulatedModel };

/** A fast, exact simulator for workflow tests: model turns cost ~20 ms. */
export function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  return Simulator.start({ quiet: true, latency: { ttftMs: 20, perTokenMs: 0 }, ...opts });
}

export interface TestWorker extends BraidWorker {
  taskQueue: string;
}

/** A Braid worker on a task queue of its own, its model the simulator; `extra` adds worker options (e.g. publish stores). */
export async function startWorker(
  h: Pick<Harness, 'native'>,
  registry: ToolRegistry,
  sim: Simulator,
  env: Record<string, string> = {},
  extra: Partial<BraidWorkerOptions> = {},
): Promise<TestWorker> {
  const taskQueue = `test-${randomUUID()}`;
  const cfg = readConfig({
    BRAID_TASK_QUEUE: taskQueue,
    BRAID_STREAM_IDLE_TIMEOUT_MS: '1500',
    BRAID_LLM_REQUEST_TIMEOUT_MS: '10000',
    ...env,
  });
  const w = await createBraidWorker({
    connection: h.native,
    cfg,
    registry,
    model: simulatedModel(sim),
    workflowBundle: await workflowBundle(),
    ...extra,
  });
  void w.run();
  return { ...w, taskQueue };
}

/** Records when each handler call starts and ends (real clock), to prove overlap without timing margins. */
export class CallLog {
  readonly calls: { name: string; start: number; end?: number; attempt: number }[] = [];
  count(name: string): number {
    return this.calls.filter((c) => c.name === name).length;
  }
}

export function latencyTool(name: string, ms: number, log?: CallLog, timeoutMs?: number) {
  return defineTool({
    name,
    description: `Test tool ${name}: answers after ${ms} ms.`,
    input: z.object({}).passthrough(),
    timeoutMs,
    async handler(_input, ctx) {
      const entry = { name, start: Date.now(), end: undefined as number | undefined, attempt: (log?.count(name) ?? 0) + 1 };
      log?.calls.push(entry);
      await sleep(ms, ctx.signal);
      entry.end = Date.now();
      return { tool: name, waitedMs: ms };
    },
  });
}

export function failingTool(name: string, log: CallLog, kind: 'throw' | 'refuse') {
  return defineTool({
    name,
    description: `Test tool ${name}: always fails (${kind}).`,
    input: z.object({}).passthrough(),
    async handler() {
      log.calls.push({ name, start: Date.now(), end: Date.now(), attempt: log.count(name) + 1 });
      if (kind === 'refuse') throw new ToolError(`${name} refuses this input`);
      throw new Error(`${name} crashed`);
    },
  });
}

/** Decoded inputs of every scheduled activity of a type, from the run's history on the server. */
export async function scheduledInputs(handle: WorkflowHandle, activityType: string): Promise<unknown[]> {
  const history = await handle.fetchHistory();
  const inputs: unknown[] = [];
  for (const e of history.events ?? []) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a?.activityType?.name === activityType) inputs.push(defaultPayloadConverter.fromPayload(a.input!.payloads![0]!));
  }
  return inputs;
}

/** What a local activity's marker in a history records: its type and its result's first payload. */
function localActivityMarkers(history: { events?: temporal.api.history.v1.IHistoryEvent[] | null }) {
  return (history.events ?? []).flatMap((e) => {
    const m = e.markerRecordedEventAttributes;
    if (m?.markerName !== 'core_local_activity') return [];
    const data = m.details?.data?.payloads?.[0]?.data;
    const info = data ? (JSON.parse(Buffer.from(data).toString()) as { activity_type?: string }) : {};
    return [{ type: info.activity_type ?? '', result: m.details?.result?.payloads?.[0] }];
  });
}

/** The activity types of a history's local activities, in order. */
export const localActivities = (history: { events?: temporal.api.history.v1.IHistoryEvent[] | null }): string[] =>
  localActivityMarkers(history).map((m) => m.type);

/** The decoded JSON result of the first local activity of a type in a history. */
export function localActivityResult<T>(history: { events?: temporal.api.history.v1.IHistoryEvent[] | null }, type: string): T {
  const marker = localActivityMarkers(history).find((m) => m.type === type);
  if (!marker?.result?.data) throw new Error(`no ${type} local activity result in the history`);
  return JSON.parse(Buffer.from(marker.result.data).toString()) as T;
}
