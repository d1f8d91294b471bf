/**
 * The content pipeline's stage overlap (issue #12 §2) against the real server and a simulator that
 * writes at a readable pace: each paragraph of the draft is edited as soon as the writer's stream
 * completes it, not after the whole draft; a writer's stream that breaks and is retried reuses an
 * edit only for the identical paragraph, each edited once.
 */
import { defaultPayloadConverter } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PIPELINE_WORKFLOW, type PipelineInput, type PipelineResult } from '../src/shared/pipeline';
import type { SectionReady } from '../src/shared/stream';
import type { LlmRequest } from '../src/shared/types';
import type { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import { connect, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

let h: Harness;
let sim: Simulator;
let worker: TestWorker;

beforeAll(async () => {
  h = await connect();
  // A slow writer: a draft of a few paragraphs streams for a few seconds.
  sim = await startSimulator({ latency: { ttftMs: 20, perTokenMs: 15 } });
  worker = await startWorker(h, new ToolRegistry(), sim);
});

afterAll(async () => {
  await worker?.shutdown();
  await sim?.close();
  await h?.close();
});

const run = async (topic: string, overlap: boolean) => {
  const workflowId = `pipeline-overlap-${Math.random().toString(36).slice(2)}`;
  const r = await h.client.workflow.execute<(i: PipelineInput) => Promise<PipelineResult>>(PIPELINE_WORKFLOW, {
    taskQueue: worker.taskQueue,
    workflowId,
    args: [{ topics: [topic], concurrency: 1, overlap, retryFailed: false }],
  });
  return { r, chainId: `${workflowId}/chain-1` };
};

/** The chain's model calls in history order: what each was asked, when scheduled and completed, and the sections announced. */
async function chainTimeline(chainId: string) {
  const history = await h.client.workflow.getHandle(chainId).fetchHistory();
  const calls = new Map<number, { kind: 'write' | 'edit-part' | 'other'; scheduledAt: number; completedAt?: number; prompt: string }>();
  const announced: SectionReady[] = [];
  for (const [i, e] of (history.events ?? []).entries()) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s?.activityType?.name === 'llmTurn') {
      const req = defaultPayloadConverter.fromPayload(s.input!.payloads![0]!) as LlmRequest;
      const prompt = String(req.messages[0]!.content);
      const kind = req.system?.startsWith('You are a writer') ? 'write' : /Edit this paragraph/.test(prompt) ? 'edit-part' : 'other';
      calls.set(Number(e.eventId), { kind, scheduledAt: i, prompt });
    }
    const c = e.activityTaskCompletedEventAttributes;
    if (c && calls.has(Number(c.scheduledEventId))) calls.get(Number(c.scheduledEventId))!.completedAt = i;
    const sig = e.workflowExecutionSignaledEventAttributes;
    if (sig?.signalName === 'braid.sectionReady') announced.push(defaultPayloadConverter.fromPayload(sig.input!.payloads![0]!));
  }
  return { calls: [...calls.values()], announced };
}

describe('pipeline stage overlap', () => {
  it('edits each paragraph of the draft while the writer is still writing the next', async () => {
    const { r, chainId } = await run('Tidal energy along rocky coasts', true);
    expect(r.ok).toBe(1);
    const edit = r.chains[0]!.stages!.find((s) => s.stage === 'edit')!;
    const t = await chainTimeline(chainId);
    const write = t.calls.find((c) => c.kind === 'write')!;
    const parts = t.calls.filter((c) => c.kind === 'edit-part');
    // One edit per paragraph of the draft, and all but the last started before the draft was finished.
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(edit).toMatchObject({ sections: parts.length });
    expect(edit.startedEarly).toBe(parts.length - 1);
    expect(parts.filter((p) => p.scheduledAt < write.completedAt!)).toHaveLength(parts.length - 1);
    expect(t.announced.map((a) => a.index)).toEqual([...Array(parts.length - 1).keys()]);
    // Each edit was given the paragraph the writer announced, in the draft's order.
    for (const a of t.announced) expect(parts[a.index]!.prompt).toContain(a.text);
    expect(r.chains[0]!.usage.outputTokens).toBeGreaterThan(0);
    expect(r.cost?.totalUsd).toBeGreaterThan(0);
  });

  it('without overlap, edits the whole draft after it is written, in one call', async () => {
    const { r, chainId } = await run('Tidal energy along sandy coasts', false);
    expect(r.ok).toBe(1);
    const t = await chainTimeline(chainId);
    expect(t.calls.filter((c) => c.kind === 'edit-part')).toHaveLength(0);
    expect(t.announced).toHaveLength(0);
    expect(r.chains[0]!.stages!.find((s) => s.stage === 'edit')!.sections).toBeUndefined();
  });

  it("reuses the edits a broken writer's stream started for the identical paragraphs of the retried draft, each edited once", async () => {
    sim.configure({ faults: [{ kind: 'reset', times: 1, match: { contains: 'You are a writer' } }] });
    try {
      const { r, chainId } = await run('Wave power on windy islands', true);
      expect(r.ok).toBe(1);
      const t = await chainTimeline(chainId);
      const first = t.announced.filter((a) => a.attempt === 1);
      const second = t.announced.filter((a) => a.attempt === 2);
      // The broken attempt announced some paragraphs before the cut; the retried one announced them again.
      expect(first.length).toBeGreaterThan(0);
      expect(second.length).toBeGreaterThan(first.length);
      expect(second.slice(0, first.length)).toEqual(first.map((a) => ({ ...a, attempt: 2 })));
      // Every paragraph of the kept draft was edited exactly once.
      const parts = t.calls.filter((c) => c.kind === 'edit-part');
      const write = t.calls.find((c) => c.kind === 'write')!;
      expect(parts).toHaveLength(second.length + 1);
      expect(r.chains[0]!.stages!.find((s) => s.stage === 'edit')).toMatchObject({ sections: parts.length });
      // A paragraph's edit started by the broken attempt was not started again: one edit per announced paragraph before the draft ended.
      expect(parts.filter((p) => p.scheduledAt < write.completedAt!)).toHaveLength(second.length);
    } finally {
      sim.configure({ faults: [] });
    }
  });
});
