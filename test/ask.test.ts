/**
 * The parallel tool-calling agent end to end: real Temporal server, real worker, the real Anthropic
 * SDK talking to the simulator, tools with controlled latency and failures.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASK_WORKFLOW, agentProgressQuery, type AgentInput, type AgentResult } from '../src/shared/ask';
import type { ChatMessage, LlmRequest, ToolResultBlock } from '../src/shared/types';
import type { Simulator } from '../src/simulator';
import { z } from 'zod';
import { defineTool, ToolRegistry } from '../src/tools';
import type { toolAgent } from '../src/workflows';
import {
  CallLog,
  connect,
  failingTool,
  latencyTool,
  scheduledInputs,
  startSimulator,
  startWorker,
  type Harness,
  type TestWorker,
} from './helpers';

let h: Harness;
let sim: Simulator;
let worker: TestWorker;
const log = new CallLog();
const L = 1500;

beforeAll(async () => {
  h = await connect();
  sim = await startSimulator();
  const registry = new ToolRegistry().register(
    ...[1, 2, 3, 4, 5].map((i) => latencyTool(`slow_${i}`, L, log)),
    latencyTool('order_first', 900, log),
    latencyTool('order_second', 500, log),
    latencyTool('order_third', 100, log),
    latencyTool('quick', 50, log),
    latencyTool('hangs', 60_000, log, 1000),
    failingTool('crashes', log, 'throw'),
    failingTool('refuses', log, 'refuse'),
    // Ignores its abort signal and never answers: only the registry's own deadline ends it.
    defineTool({
      name: 'deaf',
      description: 'Never answers.',
      input: z.object({}).passthrough(),
      timeoutMs: 1000,
      handler: () => new Promise(() => {}),
    }),
  );
  worker = await startWorker(h, registry, sim);
});

afterAll(async () => {
  await worker?.shutdown();
  await sim?.close();
  await h?.close();
});

const run = (input: AgentInput, id = `agent-${Math.random().toString(36).slice(2)}`) =>
  h.client.workflow.start<typeof toolAgent>(ASK_WORKFLOW, { taskQueue: worker.taskQueue, workflowId: id, args: [input] });

const toolResultsSentToModel = async (handle: Awaited<ReturnType<typeof run>>): Promise<ToolResultBlock[]> => {
  const turns = (await scheduledInputs(handle, 'llmTurn')) as LlmRequest[];
  const last = turns.at(-1)!.messages.at(-1) as ChatMessage;
  return last.content as ToolResultBlock[];
};

describe('parallel tool calls', () => {
  it('runs the tools of one turn at once: N tools of latency L take about L, not N·L', async () => {
    const names = [1, 2, 3, 4, 5].map((i) => `slow_${i}`);
    const handle = await run({ question: `Check every source.\n#sim tools=${names.join(',')}` });
    const r: AgentResult = await handle.result();
    const calls = log.calls.filter((c) => names.includes(c.name));
    expect(calls).toHaveLength(5);
    // Every handler started before the first one finished: they really overlapped.
    const firstEnd = Math.min(...calls.map((c) => c.end!));
    expect(Math.max(...calls.map((c) => c.start))).toBeLessThan(firstEnd);
    const tools = r.branches.filter((b) => b.kind === 'tool');
    expect(tools.map((b) => b.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    const toolPhase = Math.max(...tools.map((b) => b.endedAt!)) - Math.min(...tools.map((b) => b.startedAt));
    expect(toolPhase).toBeLessThan(2.5 * L); // sequential would be 5·L
    expect(r.timing.sequentialMs).toBeGreaterThan(5 * L);
    expect(r.stopReason).toBe('end_turn');
    expect(r.simulated).toBe(true);
    expect(r.usage.total.inputTokens).toBeGreaterThan(0);
    expect(r.usage.total.outputTokens).toBeGreaterThan(0);
  });

  it('returns results in the model order, keyed by tool_use id, whatever the completion order', async () => {
    const handle = await run({ question: '#sim tools=order_first,order_second,order_third' });
    const r = await handle.result();
    const toolBranches = r.branches.filter((b) => b.kind === 'tool');
    // They finished in reverse order…
    const byEnd = [...toolBranches].sort((a, b) => a.endedAt! - b.endedAt!).map((b) => b.name);
    expect(byEnd[0]).toBe('order_third');
    // …but the model got them in its own order, each under its own id.
    const sent = await toolResultsSentToModel(handle);
    expect(sent.map((b) => b.tool_use_id)).toEqual(toolBranches.map((b) => b.id));
    expect(sent.map((b) => JSON.parse(b.content).tool)).toEqual(['order_first', 'order_second', 'order_third']);
  });

  it('turns a crashing, refusing or hung tool into an is_error result while the others finish', async () => {
    const before = { crashes: log.count('crashes'), refuses: log.count('refuses') };
    const handle = await run({ question: '#sim tools=quick,crashes,refuses,hangs,deaf' });
    const r = await handle.result();
    const status = Object.fromEntries(r.branches.filter((b) => b.kind === 'tool').map((b) => [b.name, b.status]));
    expect(status).toEqual({ quick: 'ok', crashes: 'error', refuses: 'error', hangs: 'timeout', deaf: 'timeout' });
    expect(log.count('crashes') - before.crashes).toBe(3); // retried within its budget, then reported
    expect(log.count('refuses') - before.refuses).toBe(1); // a refusal is never retried
    const sent = await toolResultsSentToModel(handle);
    expect(sent.map((b) => Boolean(b.is_error))).toEqual([false, true, true, true, true]);
    // The activity answers before Temporal's 1 s timeout, keeping 100 ms to report back; on a
    // starved machine Temporal's own timeout may come first. Either way the model hears a timeout.
    // (The registry's deadline on a handler that ignores its signal is pinned in tool-limits.test.ts.)
    for (const [i, name] of [
      [3, 'hangs'],
      [4, 'deaf'],
    ] as const) {
      expect(sent[i]!.content).toMatch(
        new RegExp(`^(ToolTimeoutError: ${name} did not finish within 0\\.9 s and was stopped\\.|tool ${name} timed out after 1000 ms)$`),
      );
    }
    expect(r.stopReason).toBe('end_turn');
    expect(r.answer.length).toBeGreaterThan(0);
  });

  it('stops at the max-turns cap', async () => {
    const r = await (await run({ question: '#sim tools=quick\n#sim rounds=5', maxTurns: 2 })).result();
    expect(r.stopReason).toBe('max_turns');
    expect(r.turns).toBe(2);
    expect(r.branches.filter((b) => b.kind === 'llm')).toHaveLength(2);
  });

  it('reports live progress through the query while tools run', async () => {
    const handle = await run({ question: '#sim tools=slow_1,slow_2' });
    let seen;
    for (let i = 0; i < 40 && !seen; i++) {
      const p = await handle.query(agentProgressQuery);
      if (p.phase === 'tools' && p.branches.some((b) => b.kind === 'tool' && b.status === 'running')) seen = p;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen?.branches.filter((b) => b.kind === 'tool').map((b) => b.name)).toEqual(['slow_1', 'slow_2']);
    await handle.result();
  });

  it('keeps API keys out of workflow history', async () => {
    const handle = await run({ question: '#sim tools=quick' });
    await handle.result();
    const history = JSON.stringify(await handle.fetchHistory());
    expect(history).not.toContain('braid-simulator');
    expect(history).toContain('llmTurn');
  });
});

describe('bad input fails the run at once', () => {
  it('rejects an empty question as InvalidInput', async () => {
    const err = await (await run({ question: '   ' })).result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toMatch(/question is empty/);
  });

  it('rejects unknown tool names before calling the model', async () => {
    sim.clearLedger();
    const err = await (await run({ question: 'hi', tools: ['nope'] })).result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(JSON.stringify((err as WorkflowFailedError).cause)).toMatch(/unknown tool\(s\) nope/);
    expect(sim.ledger()).toHaveLength(0);
  });
});

describe('model failures through the workflow', () => {
  it('fails fast on a 400: one request, request id in the error', async () => {
    sim.clearLedger();
    sim.configure({ faults: [{ kind: 'status', status: 400, match: { contains: 'marker-400' } }] });
    const err = await (await run({ question: 'marker-400 please' })).result().catch((e: unknown) => e);
    sim.configure({ faults: [] });
    const entries = sim.ledger();
    expect(entries).toHaveLength(1);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const text = JSON.stringify((err as WorkflowFailedError).cause);
    expect(text).toContain(entries[0]!.requestId);
    expect(text).toContain('LlmBadRequest');
  });

  it('retries a 429 no sooner than retry-after says', async () => {
    sim.clearLedger();
    sim.configure({ faults: [{ kind: 'status', status: 429, retryAfterS: 2, times: 1, match: { contains: 'marker-429' } }] });
    const r = await (await run({ question: 'marker-429 please' })).result();
    sim.configure({ faults: [] });
    const [first, second] = sim.ledger();
    expect(first!.outcome).toBe('fault:status');
    expect(first!.status).toBe(429);
    expect(second!.outcome).toBe('ok');
    expect(second!.receivedAt - first!.finishedAt).toBeGreaterThanOrEqual(2000);
    expect(r.branches[0]!.attempts).toBe(2);
  });

  it('retries a stream that ends without message_stop instead of using the partial answer', async () => {
    sim.clearLedger();
    sim.configure({ faults: [{ kind: 'truncate', times: 1, match: { contains: 'marker-trunc' } }] });
    const r = await (await run({ question: 'marker-trunc please' })).result();
    sim.configure({ faults: [] });
    expect(sim.ledger().map((e) => e.outcome)).toEqual(['fault:truncate', 'ok']);
    expect(r.branches[0]!.attempts).toBe(2);
    expect(r.answer.length).toBeGreaterThan(0);
  });
});
