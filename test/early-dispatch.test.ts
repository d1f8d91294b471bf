/**
 * Early tool dispatch (issue #12 §2) against the real server: each tool starts when the model's
 * stream completes its tool_use block, not after the whole turn; a stream that breaks after some
 * tools started and is retried reuses them for the identical calls of the retried turn.
 */
import { defaultPayloadConverter, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASK_WORKFLOW, type AgentInput, type AgentResult } from '../src/shared/ask';
import type { ToolBlockReady } from '../src/shared/stream';
import type { ChatMessage, LlmRequest, ToolResultBlock, ToolUseBlock } from '../src/shared/types';
import type { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import type { toolAgent } from '../src/workflows';
import { CallLog, connect, latencyTool, scheduledInputs, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

let h: Harness;
let sim: Simulator;
let worker: TestWorker;
const log = new CallLog();
const TOOLS = ['lookup_a', 'lookup_b', 'lookup_c', 'lookup_d'];
// A tool that changes things: never started before its turn is whole (it may need a person's approval).
const destructive = { ...latencyTool('erase_e', 50, log), annotations: { destructive: true } };

beforeAll(async () => {
  h = await connect();
  // A slow writer: the turn of four tool calls streams for about two seconds.
  sim = await startSimulator({ latency: { ttftMs: 20, perTokenMs: 80 } });
  worker = await startWorker(h, new ToolRegistry().register(...TOOLS.map((t) => latencyTool(t, 200, log)), destructive), sim);
});

afterAll(async () => {
  await worker?.shutdown();
  await sim?.close();
  await h?.close();
});

const run = (input: AgentInput) =>
  h.client.workflow.start<typeof toolAgent>(ASK_WORKFLOW, {
    taskQueue: worker.taskQueue,
    workflowId: `early-${Math.random().toString(36).slice(2)}`,
    args: [input],
  });

/** History events in order: when each tool was scheduled, when the first model turn completed, and the announcements. */
async function timeline(handle: WorkflowHandle) {
  const history = await handle.fetchHistory();
  const scheduled = new Map<number, string>(); // scheduled event id -> activity type
  let turnDoneAt = -1;
  const toolsScheduledAt: number[] = [];
  const announced: ToolBlockReady[] = [];
  for (const [i, e] of (history.events ?? []).entries()) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      scheduled.set(Number(e.eventId), s.activityType!.name!);
      if (s.activityType!.name === 'runTool') toolsScheduledAt.push(i);
    }
    const c = e.activityTaskCompletedEventAttributes;
    if (c && turnDoneAt < 0 && scheduled.get(Number(c.scheduledEventId)) === 'llmTurn') turnDoneAt = i;
    const sig = e.workflowExecutionSignaledEventAttributes;
    if (sig?.signalName === 'braid.toolBlockReady') announced.push(defaultPayloadConverter.fromPayload(sig.input!.payloads![0]!));
  }
  return { turnDoneAt, toolsScheduledAt, announced };
}

const toolResultsSent = async (handle: WorkflowHandle): Promise<{ uses: ToolUseBlock[]; results: ToolResultBlock[] }> => {
  const turns = (await scheduledInputs(handle, 'llmTurn')) as LlmRequest[];
  const messages = turns.at(-1)!.messages as ChatMessage[];
  const uses = (messages.at(-2)!.content as ToolUseBlock[]).filter((b) => b.type === 'tool_use');
  return { uses, results: messages.at(-1)!.content as ToolResultBlock[] };
};

describe('early tool dispatch', () => {
  it('starts each tool while the model is still writing the rest of its turn', async () => {
    const handle = await run({ question: `Look everything up.\n#sim answer_tokens=12\n#sim tools=${TOOLS.join(',')}` });
    const r: AgentResult = await handle.result();
    expect(r.stopReason).toBe('end_turn');
    const t = await timeline(handle);
    expect(t.announced.map((a) => a.block.name)).toEqual(TOOLS);
    expect(t.toolsScheduledAt).toHaveLength(4);
    // The first tool (three more blocks still to write) was scheduled before the model's turn ended.
    expect(t.toolsScheduledAt[0]).toBeLessThan(t.turnDoneAt);
    const { uses, results } = await toolResultsSent(handle);
    expect(results.map((x) => x.tool_use_id)).toEqual(uses.map((u) => u.id));
    expect(results.every((x) => !x.is_error)).toBe(true);
  });

  it('never starts a destructive tool early: it is scheduled after the turn, and refused without approval', async () => {
    const tools = ['erase_e', 'lookup_a', 'lookup_b'];
    const handle = await run({ question: `Erase, then look up.\n#sim answer_tokens=12\n#sim tools=${tools.join(',')}` });
    const r: AgentResult = await handle.result();
    const t = await timeline(handle);
    expect(t.announced.map((a) => a.block.name)).toEqual(tools);
    const history = await handle.fetchHistory();
    const runToolAt = (history.events ?? []).flatMap((e, i) => {
      const s = e.activityTaskScheduledEventAttributes;
      if (s?.activityType?.name !== 'runTool') return [];
      const call = defaultPayloadConverter.fromPayload<{ name: string }>(s.input!.payloads![0]!);
      return [{ name: call.name, at: i }];
    });
    // The lookups announced after it started while the model wrote; the erase only after the turn.
    expect(runToolAt.find((x) => x.name === 'lookup_a')!.at).toBeLessThan(t.turnDoneAt);
    expect(runToolAt.find((x) => x.name === 'erase_e')!.at).toBeGreaterThan(t.turnDoneAt);
    expect(r.branches.find((b) => b.name === 'erase_e')?.error).toMatch(/ToolRefused/);
    expect(log.count('erase_e')).toBe(0);
  });

  it('waits for the whole turn with earlyDispatch: false', async () => {
    const handle = await run({
      question: `Look everything up again.\n#sim answer_tokens=12\n#sim tools=${TOOLS.join(',')}`,
      earlyDispatch: false,
    });
    await handle.result();
    const t = await timeline(handle);
    expect(t.announced).toEqual([]);
    expect(t.toolsScheduledAt).toHaveLength(4);
    expect(Math.min(...t.toolsScheduledAt)).toBeGreaterThan(t.turnDoneAt);
  });

  it('reuses the tools a broken stream started for the identical calls of the retried turn, each run once', async () => {
    const marker = `marker-reset-${Math.random().toString(36).slice(2)}`;
    sim.configure({ faults: [{ kind: 'reset', times: 1, match: { contains: marker } }] });
    const before = new Map(TOOLS.map((n) => [n, log.count(n)]));
    try {
      const handle = await run({ question: `Look it all up (${marker}).\n#sim answer_tokens=12\n#sim tools=${TOOLS.join(',')}` });
      const r: AgentResult = await handle.result();
      expect(r.stopReason).toBe('end_turn');
      const t = await timeline(handle);
      const first = t.announced.filter((a) => a.attempt === 1);
      const second = t.announced.filter((a) => a.attempt === 2);
      // The broken attempt announced some calls before the cut; the retried one announced all four again.
      expect(first.length).toBeGreaterThan(0);
      expect(first.length).toBeLessThan(4);
      expect(second.map((a) => a.block.name)).toEqual(TOOLS);
      // …yet every tool ran once, and every result answers the kept turn's tool_use ids.
      expect(t.toolsScheduledAt).toHaveLength(4);
      for (const n of TOOLS) expect(log.count(n) - before.get(n)!).toBe(1);
      const { uses, results } = await toolResultsSent(handle);
      expect(results.map((x) => x.tool_use_id)).toEqual(uses.map((u) => u.id));
      expect(results.every((x) => !x.is_error)).toBe(true);
    } finally {
      sim.configure({ faults: [] });
    }
  });
});
