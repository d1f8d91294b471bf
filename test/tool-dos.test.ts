/**
 * Model output is untrusted input: a tool call chosen to exhaust memory or CPU must cost only its
 * own call. Each case sends a known denial-of-service input as the model's tool call (through the
 * simulator's `#sim tools=` directive) to a worker running in its own process, beside a probe tool
 * in the same turn and another run's probe. The run must complete with an explicit tool error for
 * that call, the worker process must survive, and the probes must finish on time with their timers
 * never held up (a blocked event loop stops every heartbeat in the process).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASK_WORKFLOW, type AgentResult } from '../src/shared/ask';
import type { ChatMessage, LlmRequest, ToolResultBlock } from '../src/shared/types';
import type { Simulator } from '../src/simulator';
import type { toolAgent } from '../src/workflows';
import { PROBE_MS, type ProbeReport } from './fixtures/dos-tools';
import { connect, scheduledInputs, startSimulator, workflowBundle, type Harness } from './helpers';

let h: Harness;
let sim: Simulator;
let dir: string;
let worker: ChildProcess;
/** The worker's own pid (tsx runs it in a child of `worker`). */
let workerPid = 0;
let stderr = '';
let exited: Promise<never>;
const taskQueue = `tool-dos-${randomUUID()}`;

beforeAll(async () => {
  [h, sim] = await Promise.all([connect(), startSimulator()]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-tool-dos-'));
  const bundlePath = path.join(dir, 'workflows.js');
  fs.writeFileSync(bundlePath, (await workflowBundle()).code);
  const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
  worker = spawn(tsx, [path.join(__dirname, 'fixtures', 'tool-worker.ts')], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: h.address,
      BRAID_TASK_QUEUE: taskQueue,
      BRAID_SIMULATOR_URL: sim.url,
      TOOL_BUNDLE_PATH: bundlePath,
      // A worker with a 1 GB heap: what takes it down does so sooner and cheaper than at the default ~4 GB.
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=1024`.trim(),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  exited = new Promise((_, reject) =>
    worker.once('exit', (code, signal) => reject(new Error(`the worker process died (${signal ?? code}): ${stderr}`))),
  );
  exited.catch(() => undefined);
  const ready = new Promise<number>((resolve) => {
    worker.stdout!.on('data', (d: Buffer) => {
      const m = /ready (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
  });
  workerPid = await Promise.race([ready, exited]);
}, 120_000);

afterAll(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    const gone = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    setTimeout(() => worker.kill('SIGKILL'), 10_000).unref();
    await gone;
  }
  await h?.close();
  await sim?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const start = (question: string) =>
  h.client.workflow.start<typeof toolAgent>(ASK_WORKFLOW, {
    taskQueue,
    workflowId: `tool-dos-${randomUUID()}`,
    args: [{ question, maxTurns: 2 }],
  });

/** The run's result, or the worker's death if that comes first. */
const finish = (handle: WorkflowHandle<typeof toolAgent>): Promise<AgentResult> => Promise.race([handle.result(), exited]);

async function toolResults(handle: WorkflowHandle<typeof toolAgent>): Promise<Map<string, ToolResultBlock>> {
  const turns = (await scheduledInputs(handle, 'llmTurn')) as LlmRequest[];
  const assistant = turns.at(-1)!.messages.at(-2) as ChatMessage;
  const results = turns.at(-1)!.messages.at(-1)!.content as ToolResultBlock[];
  const names = new Map((assistant.content as { type: string; id?: string; name?: string }[]).map((b) => [b.id, b.name]));
  return new Map(results.map((r) => [names.get(r.tool_use_id)!, r]));
}

function expectProbeUnharmed(report: ProbeReport, run: AgentResult): void {
  expect(report.pid).toBe(workerPid);
  // Scheduled with the attack and finished in about its own time: not queued behind a frozen worker.
  const branch = run.branches.find((b) => b.name === 'heartbeat_probe')!;
  expect(branch.status).toBe('ok');
  expect(branch.endedAt! - branch.startedAt).toBeLessThan(PROBE_MS + 3_000);
  expect(report.ranMs).toBeLessThan(PROBE_MS + 2_000);
  // Timers every 100 ms: a blocked event loop shows as a gap of seconds.
  expect(report.maxGapMs).toBeLessThan(1_000);
  expect(report.beats).toBeGreaterThanOrEqual(PROBE_MS / 100 / 2);
}

/** Runs `input` as the model's call to `tool`, beside a probe in the same turn and a probe in another run. */
async function attack(tool: string, input: string): Promise<{ result: ToolResultBlock; run: AgentResult; rssMb: number }> {
  const attackRun = await start(`${input}\n#sim tools=${tool},heartbeat_probe`);
  const otherRun = await start('Check the worker.\n#sim tools=heartbeat_probe');
  const [run, other] = await Promise.all([finish(attackRun), finish(otherRun)]);
  expect(run.stopReason).toBe('end_turn');
  expect(other.stopReason).toBe('end_turn');
  const mine = await toolResults(attackRun);
  const sibling = JSON.parse(mine.get('heartbeat_probe')!.content) as ProbeReport;
  const elsewhere = JSON.parse((await toolResults(otherRun)).get('heartbeat_probe')!.content) as ProbeReport;
  expectProbeUnharmed(sibling, run);
  expectProbeUnharmed(elsewhere, other);
  expect(worker.exitCode).toBeNull();
  if (process.env.TOOL_DOS_DEBUG) {
    const b = run.branches.find((x) => x.name === tool)!;
    console.log({ tool, input, callMs: b.endedAt! - b.startedAt, status: b.status, content: mine.get(tool)!.content, sibling, elsewhere });
  }
  return { result: mine.get(tool)!, run, rssMb: Math.max(sibling.rssMb, elsewhere.rssMb) };
}

describe('a tool call cannot take its worker down', () => {
  it('calculator: three 10000×10000 matrices end in an explicit tool error, not a heap crash', async () => {
    const { result } = await attack('calculator', 'size([diag(1:10000), diag(1:10000), diag(1:10000)])');
    expect(result.is_error).toBe(true);
    // Its memory limit (usually after 1-2 s), or on a starved machine its 5 s deadline, whichever
    // comes first; tool-limits.test.ts pins the memory limit itself with a longer deadline.
    expect(result.content).toMatch(
      /^(ToolError: Could not evaluate .*: it needed more than the \d+ MB of memory the calculator may use|ToolTimeoutError: calculator did not finish)/,
    );
  }, 60_000);

  it('calculator: 100 million function calls are stopped at the deadline while the worker keeps heartbeating', async () => {
    const { result, run } = await attack('calculator', 'map(1:10000, f(x)=sum(map(1:10000, g(y)=y)))');
    expect(result.is_error).toBe(true);
    expect(result.content).toMatch(/^ToolTimeoutError: calculator did not finish within [\d.]+ s and was stopped\.$/);
    const branch = run.branches.find((b) => b.name === 'calculator')!;
    expect(branch.status).toBe('timeout');
    expect(branch.endedAt! - branch.startedAt).toBeLessThan(5_000 + 2_000);
  }, 60_000);

  it('sql_query: a 500 MB zeroblob is refused by the engine and costs the worker no memory', async () => {
    const quiet = await start('Check the worker.\n#sim tools=heartbeat_probe');
    await finish(quiet);
    const baseline = JSON.parse((await toolResults(quiet)).get('heartbeat_probe')!.content) as ProbeReport;
    const { result, rssMb } = await attack('sql_statement', 'SELECT zeroblob(500000000)');
    expect(result.is_error).toBe(true);
    expect(result.content).toMatch(/^ToolError: Query stopped: it needed more than the \d+ MB of memory/);
    // The blob alone is 500 MB of SQLite's WebAssembly memory, which never shrinks while its engine lives.
    expect(rssMb - baseline.rssMb).toBeLessThan(200);
  }, 60_000);
});
