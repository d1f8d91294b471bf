/**
 * The content pipeline against the real Temporal server and the simulator: chains in a bounded
 * window, stage outputs to files, the quality gate's one send-back, failure isolation, and failed
 * chains retried once after every other chain has finished. Also `braid health`'s workflow.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowSnapshot } from '../src/flow';
import { HEALTH_WORKFLOW } from '../src/shared/health';
import { PIPELINE_WORKFLOW, type PipelineInput, type PipelineResult } from '../src/shared/pipeline';
import { pipelineLlmQueue } from '../src/cli/pipeline';
import { llmTaskQueue } from '../src/shared/task-queues';
import type { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import { connect, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

let h: Harness;
let sim: Simulator;
let worker: TestWorker;
let out: string;

beforeAll(async () => {
  h = await connect();
  sim = await startSimulator();
  worker = await startWorker(h, new ToolRegistry(), sim);
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-pipeline-'));
});

afterAll(async () => {
  await worker?.shutdown();
  await sim?.close();
  await h?.close();
  if (out) fs.rmSync(out, { recursive: true, force: true });
});

const run = (input: Partial<PipelineInput>) =>
  h.client.workflow.execute<(i: PipelineInput) => Promise<PipelineResult>>(PIPELINE_WORKFLOW, {
    taskQueue: worker.taskQueue,
    workflowId: `pipeline-${Math.random().toString(36).slice(2)}`,
    args: [{ topics: [], concurrency: 2, llmTaskQueue: llmTaskQueue(worker.taskQueue), ...input }],
  });

describe('content pipeline', () => {
  it('isolates failures, retries failed chains once after all others, gates drafts, writes files', async () => {
    sim.clearLedger();
    sim.configure({ faults: [{ kind: 'status', status: 400, times: 1, match: { contains: 'poison-once' } }] });
    const topics = [
      'Solar power in cities',
      'poison-once: a topic whose first call is refused',
      'Tidal energy',
      '#sim answer_tokens=2 always-short',
      'Wind farms at sea',
      'Heat pumps',
      'Geothermal heating',
    ];
    const r = await run({ topics, concurrency: 2, outDir: out });
    sim.configure({ faults: [] });

    const byTopic = Object.fromEntries(r.chains.map((c) => [c.topic, c]));
    const healthy = ['Solar power in cities', 'Tidal energy', 'Wind farms at sea', 'Heat pumps', 'Geothermal heating'];
    for (const t of healthy) {
      expect(byTopic[t]).toMatchObject({ status: 'ok', attempt: 1 });
      expect(byTopic[t]!.stages!.map((s) => s.stage)).toEqual(['research', 'write', 'edit']);
      expect(byTopic[t]!.usage.outputTokens).toBeGreaterThan(0);
      expect(fs.readFileSync(byTopic[t]!.file!, 'utf8')).toMatch(new RegExp(`^# ${t}\\n\\n\\S`));
    }
    const poison = byTopic[topics[1]!]!;
    expect(poison).toMatchObject({ status: 'ok', attempt: 2 });
    expect(poison.firstAttempt!.error).toMatch(/400/);
    const short = byTopic[topics[3]!]!;
    expect(short).toMatchObject({ status: 'failed', attempt: 2 });
    expect(short.error).toMatch(/quality gate failed after research was sent back once/);
    // The gate sent the research back once per attempt: two attempts × (draft + revision).
    const asked = sim.ledger().filter((e) => e.status === 200 && e.inputTokens > 0);
    expect(asked.length).toBe(healthy.length * 3 + 3 + 4);
    expect(fs.readdirSync(out)).toHaveLength(6);

    // Retries start only after every first-pass chain has finished.
    const firstPassEnd = Math.max(...r.chains.map((c) => c.firstAttempt?.endedAt ?? c.endedAt!));
    const retried = r.chains.filter((c) => c.firstAttempt);
    expect(retried.map((c) => c.topic).sort()).toEqual([topics[1], topics[3]].sort());
    for (const c of retried) expect(c.startedAt!).toBeGreaterThanOrEqual(firstPassEnd);
    expect(r).toMatchObject({ ok: 6, failed: 1, retried: 2, peakRunning: 2 });

    // Never more than two chains at once (first-pass intervals on the workflow clock).
    const intervals = r.chains.map((c) => c.firstAttempt ?? { startedAt: c.startedAt!, endedAt: c.endedAt! });
    const overlap = Math.max(
      ...intervals.map((a) => intervals.filter((b) => b.startedAt <= a.startedAt && b.endedAt > a.startedAt).length),
    );
    expect(overlap).toBeLessThanOrEqual(2);
  });

  it('rejects empty and duplicate topic lists and a bad concurrency as InvalidInput', async () => {
    for (const [input, message] of [
      [{ topics: [] }, /no topics/],
      [{ topics: ['Solar', 'solar'] }, /topic 2 repeats topic 1/],
      [{ topics: ['Solar'], concurrency: 0 }, /concurrency must be/],
    ] as [Partial<PipelineInput>, RegExp][]) {
      const err = await run(input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(String((err as WorkflowFailedError).cause?.message)).toMatch(message);
    }
  });
});

/** Waits until some worker polls the queue for activities, so the server has seen its poll's settings. */
async function polled(queue: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const res = await h.client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: queue }, taskQueueType: 2 });
    if (res.pollers?.length) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nobody polled ${queue}`);
}

describe('LLM task queue rate limit', () => {
  it("routes the pipeline's model calls to <queue>-llm only when that queue carries a rate limit", async () => {
    await polled(llmTaskQueue(worker.taskQueue));
    expect(await pipelineLlmQueue(h.client, worker.taskQueue, undefined)).toBeUndefined();
    expect(await pipelineLlmQueue(h.client, worker.taskQueue, 5)).toBe(llmTaskQueue(worker.taskQueue));
    const paced = await startWorker(h, new ToolRegistry(), sim, { BRAID_LLM_QUEUE_ACTIVITIES_PER_SECOND: '5' });
    try {
      await polled(llmTaskQueue(paced.taskQueue));
      // Set by the other worker's polls: a CLI without the setting still routes there.
      expect(await pipelineLlmQueue(h.client, paced.taskQueue, undefined)).toBe(llmTaskQueue(paced.taskQueue));
    } finally {
      await paced.shutdown();
    }
  });

  it("paces the pipeline's model calls at BRAID_LLM_QUEUE_ACTIVITIES_PER_SECOND across the queue", async () => {
    const paced = await startWorker(h, new ToolRegistry(), sim, { BRAID_LLM_QUEUE_ACTIVITIES_PER_SECOND: '5' });
    try {
      sim.clearLedger();
      const topics = Array.from({ length: 6 }, (_, i) => `Paced topic ${i + 1}`);
      const r = await h.client.workflow.execute<(i: PipelineInput) => Promise<PipelineResult>>(PIPELINE_WORKFLOW, {
        taskQueue: paced.taskQueue,
        workflowId: `pipeline-paced-${Date.now()}`,
        args: [{ topics, concurrency: 6, minWords: 0, llmTaskQueue: llmTaskQueue(paced.taskQueue) }],
      });
      expect(r.ok).toBe(6);
      const at = sim
        .ledger()
        .map((e) => e.receivedAt)
        .sort((a, b) => a - b);
      expect(at).toHaveLength(18);
      // 18 calls at 5/s take over 2 s whatever burst the server allows; unpaced they take well under 1 s.
      expect(at.at(-1)! - at[0]!).toBeGreaterThan(2000);
      // After the server's initial burst the calls arrive at the rate on average. (Not per 1 s window:
      // the server releases tasks in small bursts, so a window's edge can catch one more.)
      const steady = at.filter((t) => t >= at[0]! + 1000);
      const perSecond = (steady.length - 1) / ((steady.at(-1)! - steady[0]!) / 1000);
      expect(perSecond).toBeLessThanOrEqual(6);
    } finally {
      await paced.shutdown();
    }
  });
});

describe('flowHealth', () => {
  it('reports the limiter backend and budgets of the worker that answers', async () => {
    const s = await h.client.workflow.execute<() => Promise<FlowSnapshot | null>>(HEALTH_WORKFLOW, {
      taskQueue: worker.taskQueue,
      workflowId: `health-${Date.now()}`,
    });
    expect(s?.backend).toBe('memory');
    expect(s?.budgets.map((b) => b.model).sort()).toEqual(['claude-haiku-4-5', 'claude-sonnet-4-6']);
  });
});
