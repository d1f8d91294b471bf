/**
 * An ask run's timing table stays true when the workflow could not act at once: after a real
 * `temporal workflow reset` minutes later (the reset run's task observes the original run's results
 * late), on replay, and when the run waited for a worker before anything ran — which `braid ask`
 * says while it happens, since a worker that just stopped still passes its poller check.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { agentProgressQuery, ASK_WORKFLOW, type AgentInput, type AgentResult } from '../src/shared/ask';
import type { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import type { toolAgent } from '../src/workflows';
import { livePollers, POLLER_FRESH_MS } from '../src/cli/session';
import { braid } from './cli-helpers';
import { connect, latencyTool, sleep, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

let h: Harness;
let sim: Simulator;
let worker: TestWorker;
const registry = () => new ToolRegistry().register(latencyTool('quick', 200));

beforeAll(async () => {
  h = await connect();
  sim = await startSimulator();
  worker = await startWorker(h, registry(), sim);
});

afterAll(async () => {
  await worker?.shutdown();
  await sim?.close();
  await h?.close();
});

const start = (taskQueue: string, input: AgentInput) =>
  h.client.workflow.start<typeof toolAgent>(ASK_WORKFLOW, {
    taskQueue,
    workflowId: `timing-${Math.random().toString(36).slice(2)}`,
    args: [input],
  });

/** `temporal workflow reset`, as a user runs it against the test server. */
async function reset(workflowId: string, type: 'LastWorkflowTask' | 'FirstWorkflowTask'): Promise<void> {
  await promisify(execFile)(inject('temporalCli'), [
    'workflow',
    'reset',
    '--address',
    h.address,
    '--workflow-id',
    workflowId,
    '--type',
    type,
    '--reason',
    'timing test',
  ]);
}

describe('ask timings', () => {
  it('stay what they were after a reset to the last workflow task, and on replay', async () => {
    const handle = await start(worker.taskQueue, { question: '#sim tools=quick\n#sim slow_ms=300' });
    const before = await handle.result();
    const pause = 3000;
    await sleep(pause);
    await reset(handle.workflowId, 'LastWorkflowTask');
    const after: AgentResult = await h.client.workflow.getHandle(handle.workflowId).result();
    expect(after.branches.map((b) => b.name)).toEqual(['model', 'quick', 'model']);
    // The reset run re-ran the last workflow task 3 s later; no branch may have grown by the pause.
    expect(after.branches).toEqual(before.branches);
    expect(after.timing.criticalPathMs).toBe(before.timing.criticalPathMs);
    expect(after.timing.sequentialMs).toBe(before.timing.sequentialMs);
    // A reset run begins at its first workflow task: its start event is the original run's.
    expect(after.timing.totalMs).toBe(before.timing.totalMs - before.timing.queuedMs!);
    expect(after.timing.totalMs).toBeLessThan(pause);

    // A query on the closed run is answered by replaying its history: the same times again.
    const replayed = await h.client.workflow.getHandle(handle.workflowId).query(agentProgressQuery);
    expect(replayed.branches).toEqual(after.branches);
  });

  it("are the new run's own after a reset to the first workflow task", async () => {
    const handle = await start(worker.taskQueue, { question: '#sim tools=quick' });
    await handle.result();
    await sleep(2000);
    await reset(handle.workflowId, 'FirstWorkflowTask');
    const after: AgentResult = await h.client.workflow.getHandle(handle.workflowId).result();
    // Everything ran again; the original start is not a wait for a worker.
    expect(after.branches.some((b) => b.kind === 'queue')).toBe(false);
    expect(after.timing.totalMs).toBeLessThan(2000);
  });

  it('count the time the run waited for a worker, as a branch of its own', async () => {
    const taskQueue = `timing-queue-${Math.random().toString(36).slice(2)}`;
    const handle = await start(taskQueue, { question: 'Say hello.' });
    const waited = 2500;
    await sleep(waited);
    const late = await startWorker(h, registry(), sim, { BRAID_TASK_QUEUE: taskQueue });
    try {
      const r = await handle.result();
      const queue = r.branches.find((b) => b.kind === 'queue');
      expect(queue?.name).toBe('waiting for a worker');
      expect(queue!.durationMs).toBeGreaterThanOrEqual(waited);
      expect(r.timing.queuedMs).toBe(queue!.durationMs);
      expect(r.timing.totalMs).toBeGreaterThanOrEqual(queue!.durationMs! + r.branches.find((b) => b.kind === 'llm')!.durationMs!);
      expect(r.timing.criticalPathMs).toBeGreaterThanOrEqual(queue!.durationMs!);
    } finally {
      await late.shutdown();
    }
  });
});

describe('braid ask when the worker has stopped', () => {
  it('says it is waiting for a worker on the queue, and counts the wait in the timing table', async () => {
    const taskQueue = `stopped-${Math.random().toString(36).slice(2)}`;
    const gone = await startWorker(h, registry(), sim, { BRAID_TASK_QUEUE: taskQueue });
    const polled = async () =>
      (await h.client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: 1 })).pollers
        ?.length;
    for (let i = 0; i < 50 && !(await polled()); i++) await sleep(100);
    await gone.shutdown(); // its poller stays listed for minutes

    const workflowId = `ask-waiting-${taskQueue}`;
    const asking = braid(['ask', '--id', workflowId, 'Say hello.'], {
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      BRAID_TASK_QUEUE: taskQueue,
    });
    // Bring a worker back only once the run has waited unclaimed for a while (the CLI may be slow to start under load).
    const started = async () => {
      try {
        return (await h.client.workflow.getHandle(workflowId).describe()).startTime.getTime();
      } catch {
        return undefined;
      }
    };
    let since: number | undefined;
    for (let i = 0; i < 600 && !(since = await started()); i++) await sleep(100);
    expect(since, 'braid ask never started its run').toBeDefined();
    await sleep(Math.max(0, since! + 5000 - Date.now()));
    const back = await startWorker(h, registry(), sim, { BRAID_TASK_QUEUE: taskQueue });
    try {
      const r = await asking;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`waiting for a worker on task queue "${taskQueue}": none has picked this run up for \\d+ s`));
      expect(r.stdout).toMatch(/│\s*│ waiting for a worker\s*│ ✓ ok/);
      expect(r.stdout).toMatch(/total [\d.]+ m?s \([\d.]+ m?s waiting for a worker\)/);
    } finally {
      await back.shutdown();
    }
  });

  it('counts a poller as a live worker only while it keeps polling', () => {
    const now = Date.now();
    const at = (msAgo: number) => ({ lastAccessTime: { seconds: Math.floor((now - msAgo) / 1000), nanos: 0 } });
    expect(livePollers([at(5_000), at(POLLER_FRESH_MS + 5_000)], now)).toEqual([at(5_000)]);
    expect(livePollers([{}], now)).toEqual([]);
  });
});
