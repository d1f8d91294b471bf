/**
 * `braid ask` with large content, against the real server (issue #8, defect 4): a 50-turn agent loop
 * whose tool returns ~100 KB every turn must finish with every history — each continue-as-new
 * segment — under Temporal's limits, read back from the server and measured; a model answer over
 * the 2 MB payload limit must come back by reference and be printed whole by the CLI.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentProgressQuery, ASK_WORKFLOW, type AgentInput, type AgentProgress } from '../src/shared/ask';
import { failureMessage } from '../src/shared/failures';
import type { LlmRequest } from '../src/shared/types';
import type { Simulator } from '../src/simulator';
import { defineTool, ToolRegistry } from '../src/tools';
import type { toolAgent } from '../src/workflows';
import { braid, expectOneLineError, server } from './cli-helpers';
import { connect, scheduledInputs, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

/** ~100 KB of text, different for every call (content-addressed blobs would otherwise dedupe). */
function page(id: string): string {
  const line = (i: number) => `${id} line ${i}: the quarterly figures for region ${i % 7} rose by ${(i * 37) % 100} units.\n`;
  let text = '';
  for (let i = 0; text.length < 100_000; i++) text += line(i);
  return text;
}

interface RunStats {
  runId: string;
  events: number;
  /** The history as the server stores it: the encoded size of its events. */
  bytes: number;
  /** The server's own figure, from the last workflow task started event. */
  serverBytes: number;
}

/** Every run of a workflow id, first to last, following the continue-as-new chain. */
async function runChain(client: Client, workflowId: string, firstRunId: string): Promise<RunStats[]> {
  const runs: RunStats[] = [];
  for (let runId: string | undefined = firstRunId; runId;) {
    const history: temporal.api.history.v1.IHistory = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events: temporal.api.history.v1.IHistoryEvent[] = history.events ?? [];
    const started = events.filter((e) => e.workflowTaskStartedEventAttributes).at(-1);
    runs.push({
      runId,
      events: events.length,
      bytes: temporal.api.history.v1.History.encode(history).finish().length,
      serverBytes: Number(started?.workflowTaskStartedEventAttributes?.historySizeBytes ?? 0),
    });
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}

let h: Harness;
let sim: Simulator;
let worker: TestWorker;
const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-ask-large-'));
let pagesRead = 0;

beforeAll(async () => {
  h = await connect();
  // A made-up output limit, so one answer can outgrow a payload.
  sim = await startSimulator({ models: { 'claude-sonnet-4-6': { maxOutputTokens: 1_000_000 } } });
  const registry = new ToolRegistry().register(
    defineTool({
      name: 'big_page',
      description: 'Returns a long page of figures.',
      input: z.object({}).passthrough(),
      async handler(_input, ctx) {
        pagesRead++;
        return page(ctx.toolUseId ?? String(pagesRead));
      },
    }),
  );
  worker = await startWorker(h, registry, sim, { BRAID_BLOB_DIR: blobDir, BRAID_MAX_TOKENS: '900000' });
});

afterAll(async () => {
  await worker?.shutdown();
  await sim?.close();
  await h?.close();
  fs.rmSync(blobDir, { recursive: true, force: true });
});

const start = (input: AgentInput, id = `ask-large-${Math.random().toString(36).slice(2)}`) =>
  h.client.workflow.start<typeof toolAgent>(ASK_WORKFLOW, { taskQueue: worker.taskQueue, workflowId: id, args: [input] });

describe('a long agent loop with large tool results', () => {
  it('runs 50 turns reading ~100 KB per turn with every history under 10,240 events and 4 MB', async () => {
    const before = pagesRead;
    const handle = await start({ question: 'Read every page and sum the figures.\n#sim tools=big_page\n#sim rounds=49', maxTurns: 50 });
    const r = await handle.result();
    expect(r.turns).toBe(50);
    expect(r.stopReason).toBe('end_turn');
    expect(pagesRead - before).toBe(49);
    expect(r.branches.filter((b) => b.kind === 'tool' && b.status === 'ok')).toHaveLength(49);
    const runs = await runChain(h.client, handle.workflowId, handle.firstExecutionRunId);
    console.log(
      `50-turn ask, ~100 KB per tool result: ${runs.length} run(s); events ${runs.map((x) => x.events).join(', ')}; bytes ${runs.map((x) => x.bytes).join(', ')}`,
    );
    for (const run of runs) {
      expect(run.events).toBeLessThan(10_240);
      expect(run.bytes).toBeLessThan(4 * 1024 * 1024);
      expect(run.serverBytes).toBeLessThan(4 * 1024 * 1024);
    }
  }, 240_000);
});

describe('continue-as-new', () => {
  it('hands a long loop over to new runs, with one whole result and progress across them', async () => {
    const handle = await start({
      question: 'Read the pages.\n#sim tools=big_page\n#sim rounds=8',
      maxTurns: 10,
      continueAsNewAfterEvents: 30,
    });
    const seen: number[] = [];
    let later: AgentProgress | undefined;
    for (let i = 0; i < 400 && !later; i++) {
      const p = await handle.query(agentProgressQuery).catch(() => undefined);
      if (p) seen.push(p.turn);
      if (p && p.turn >= 6) later = p;
      else await new Promise((r) => setTimeout(r, 25));
    }
    const r = await handle.result();
    const runs = await runChain(h.client, handle.workflowId, handle.firstExecutionRunId);
    expect(runs.length).toBeGreaterThan(2);
    expect(r.runs).toBe(runs.length);
    // The progress query answered from a later run still lists the first run's branches.
    expect(later?.branches[0]?.id).toBe('turn-1/model');
    expect(later!.branches.filter((b) => b.kind === 'llm').map((b) => b.turn)).toEqual(
      Array.from({ length: later!.branches.filter((b) => b.kind === 'llm').length }, (_, i) => i + 1),
    );
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    // One whole result: every turn once, usage summed over every run, timing from the first run's start.
    expect(r.turns).toBe(9);
    expect(r.stopReason).toBe('end_turn');
    const llm = r.branches.filter((b) => b.kind === 'llm');
    expect(llm.map((b) => b.turn)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(r.branches.filter((b) => b.kind === 'tool' && b.status === 'ok')).toHaveLength(8);
    expect(r.usage.total.inputTokens).toBe(llm.reduce((sum, b) => sum + b.usage!.inputTokens, 0));
    expect(r.timing.totalMs).toBeGreaterThanOrEqual(r.branches.at(-1)!.endedAt! - r.branches[0]!.startedAt);
    // The last turn sent references and its own new messages only: turn 1's messages went inline (no
    // stored block yet); turns 2-8 each stored theirs as one segment.
    const last = (await scheduledInputs(h.client.workflow.getHandle(handle.workflowId), 'llmTurn')).at(-1) as LlmRequest;
    expect(last.history).toHaveLength(7);
    expect(last.messages.map((m) => m.role)).toEqual(['assistant', 'user']);
    expect(JSON.stringify(last).length).toBeLessThan(8_000);
    expect(r.answer).toMatch(/big_page/);
  }, 120_000);
});

describe('an answer over the payload limit', () => {
  it('comes back stored, and the CLI prints it whole where it shares the blob store', async () => {
    const handle = await start({ question: 'Write the long report.\n#sim answer_tokens=800000' });
    const result = await handle.result();
    expect(result.answerStored?.chars).toBeGreaterThan(3_000_000);
    expect(result.answer.length).toBeLessThan(1_000);
    const [run] = await runChain(h.client, handle.workflowId, handle.firstExecutionRunId);
    console.log(`${result.answerStored!.chars}-character answer: history of ${run!.events} events, ${run!.bytes} bytes`);
    expect(run!.bytes).toBeLessThan(256 * 1024);

    const env = { ...server(), BRAID_TASK_QUEUE: worker.taskQueue, BRAID_BLOB_DIR: blobDir };
    const json = await braid(['watch', '--json', handle.workflowId], env, { maxBuffer: 64 * 1024 * 1024 });
    expect(json.code, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout) as { answer: string; stopReason: string };
    expect(out.stopReason).toBe('end_turn');
    expect(out.answer.length).toBe(result.answerStored!.chars);
    expect(out.answer.startsWith(result.answer.slice(0, 300))).toBe(true);

    const text = await braid(['watch', handle.workflowId], env, { maxBuffer: 64 * 1024 * 1024 });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(out.answer);

    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-other-host-'));
    expectOneLineError(
      await braid(['watch', '--json', handle.workflowId], { ...env, BRAID_BLOB_DIR: elsewhere }),
      1,
      /the answer \(\d+ characters\) is stored as sha256:[0-9a-f]{64}, which is not in the blob store here .*BRAID_BLOB_DIR/,
    );
    fs.rmSync(elsewhere, { recursive: true, force: true });
  }, 240_000);
});

describe('a reference this host cannot resolve', () => {
  it('fails the run in one line that says the blob store must be shared', async () => {
    const missing = `sha256:${'0'.repeat(64)}`;
    const handle = await start({
      question: 'Go on.',
      carry: {
        turn: 3,
        segments: [missing],
        messages: [],
        tools: [],
        branches: [],
        startedAt: Date.now(),
        models: [],
        simulated: true,
        runs: 2,
      },
    });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const message = failureMessage(err);
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(/blob sha256:0{64} is missing from .*: the workers and the CLI must share one blob store \(BRAID_BLOB_DIR\)/);
  });
});
