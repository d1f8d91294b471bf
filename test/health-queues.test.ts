/**
 * Queue depth and lag in `braid health` (issue #13 §2): per task queue, backlog count, the oldest
 * task's age and pollers alive, from the server's task-queue description. A pipeline whose model
 * calls go to a `-llm` queue nobody polls builds a backlog there that health must show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueStats, type QueueStat } from '../src/cli/health';
import { PIPELINE_WORKFLOW, type PipelineInput } from '../src/shared/pipeline';
import { llmTaskQueue } from '../src/shared/task-queues';
import type { Simulator } from '../src/simulator';
import { createDefaultRegistry } from '../src/tools';
import { braid } from './cli-helpers';
import { connect, sleep, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

let h: Harness;
let sim: Simulator;
let worker: TestWorker;
beforeAll(async () => {
  h = await connect();
  sim = await startSimulator();
  worker = await startWorker(h, createDefaultRegistry(), sim);
});
afterAll(async () => {
  await worker?.shutdown();
  await sim?.close();
  await h?.close();
});

describe('braid health: task queues', () => {
  it('shows the backlog, its age and zero pollers on a queue nobody polls, and live pollers on a worked one', async () => {
    // Runs started on a queue no worker polls: their first workflow tasks wait there.
    const idle = `${worker.taskQueue}-idle`;
    const input: PipelineInput = { topics: ['tides'], concurrency: 1 };
    const handles = await Promise.all(
      [1, 2, 3].map((i) => h.client.workflow.start(PIPELINE_WORKFLOW, { taskQueue: idle, workflowId: `${idle}-${i}`, args: [input] })),
    );
    try {
      let stats: QueueStat[] = [];
      for (let i = 0; i < 60; i++) {
        stats = await queueStats({ client: h.client, taskQueue: idle });
        if ((stats.find((s) => s.type === 'workflow')?.backlog ?? 0) >= 3) break;
        await sleep(250);
      }
      expect(stats.map((s) => `${s.queue}/${s.type}`)).toEqual([`${idle}/workflow`, `${idle}/activity`, `${llmTaskQueue(idle)}/activity`]);
      const wf = stats[0]!;
      expect(wf).toMatchObject({ backlog: 3, pollers: 0 });
      expect(wf.backlogAgeMs).toBeGreaterThan(0);

      // The CLI, on the worked queue: its JSON and table carry the queues next to the flow-control snapshot.
      const env = { TEMPORAL_ADDRESS: h.address, BRAID_TASK_QUEUE: worker.taskQueue };
      const r = await braid(['health', '--json'], env);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.breakers).toBeDefined();
      expect(out.queues.find((s: QueueStat) => s.queue === worker.taskQueue && s.type === 'workflow')).toMatchObject({ backlog: 0 });
      expect(out.queues.find((s: QueueStat) => s.queue === worker.taskQueue && s.type === 'workflow').pollers).toBeGreaterThanOrEqual(1);
      const human = await braid(['health'], env);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toMatch(/task queues/);
      expect(human.stdout).toMatch(new RegExp(`${worker.taskQueue}\\s*│\\s*workflow\\s*│\\s*0\\s*│`));
    } finally {
      await Promise.all(handles.map((hd) => hd.terminate('test done').catch(() => undefined)));
    }
  });
});
