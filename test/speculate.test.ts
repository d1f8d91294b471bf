/**
 * `braid ask --speculate`'s workflow (speculativeAsk) on the real server with the simulator: the
 * fast model wins a cold race and its answer is cached; the same question (normalised) is answered
 * from the cache next time; a change to the data a tool reads makes the cached answer unservable;
 * an unfinished candidate is refused and the agent wins; a late strategy never starts; bad input is
 * refused before anything runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { DECLINE, JUDGE_SYSTEM, RETRIEVAL_SYSTEM } from '../src/prompts/speculate';
import type { LlmRequest } from '../src/shared/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPECULATE_WORKFLOW, speculateProblem, type SpeculateInput, type SpeculateResult } from '../src/shared/speculate';
import type { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import { createSearchTool } from '../src/tools/search';
import { parseStrategies } from '../src/cli/speculate';
import { connect, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

let h: Harness;
let sim: Simulator;
let w: TestWorker;
let n = 0;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-speculate-'));
const docs = path.join(dir, 'docs');

beforeAll(async () => {
  fs.mkdirSync(docs);
  fs.writeFileSync(path.join(docs, 'refunds.md'), '# Refunds\n\nDamaged items are refunded within 14 days.\n');
  h = await connect();
  sim = await startSimulator({ latency: { ttftMs: 20, perTokenMs: 1 } });
  const registry = new ToolRegistry().register(createSearchTool({ docsDir: docs }));
  // A stalled stream is left to its cancellation, not retried (the test workers' default idle timeout is 1.5 s).
  w = await startWorker(h, registry, sim, {
    BRAID_ANSWER_CACHE: path.join(dir, 'answers.db'),
    BRAID_BLOB_DIR: path.join(dir, 'blobs'),
    BRAID_STREAM_IDLE_TIMEOUT_MS: '30000',
  });
}, 120_000);

afterAll(async () => {
  await w?.shutdown();
  await sim?.close();
  await h?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const ask = (input: SpeculateInput) =>
  h.client.workflow.execute<(i: SpeculateInput) => Promise<SpeculateResult>>(SPECULATE_WORKFLOW, {
    taskQueue: w.taskQueue,
    workflowId: `speculate-test-${Date.now()}-${n++}`,
    args: [input],
  });

const byName = (r: SpeculateResult) => Object.fromEntries(r.strategies.map((s) => [s.name, s]));

describe('speculative ask', () => {
  it('lets the fast model win a cold race, caches its answer, and answers the same question from the cache next time', async () => {
    const first = await ask({ question: 'How are damaged items refunded?', tools: ['search_docs'] });
    expect(first.winner).toBe('fast');
    expect(first.cached).toBe(true);
    expect(byName(first).cache).toMatchObject({ status: 'failed', reason: 'no cached answer' });
    expect(byName(first).fast!.tokens).toBeGreaterThan(0);
    expect(first.cost.totalUsd).toBeGreaterThan(0);

    // Case, spacing and the question mark do not make another question.
    const again = await ask({ question: '  how are DAMAGED items refunded ', tools: ['search_docs'] });
    expect(again.winner).toBe('cache');
    expect(again.answer).toBe(first.answer);
    expect(again.cached).toBe(false);
    expect(byName(again).cache!.tokens).toBe(0);

    // Other tools offered: another key.
    const otherTools = await ask({ question: 'How are damaged items refunded?', tools: [] });
    expect(byName(otherTools).cache).toMatchObject({ status: 'failed', reason: 'no cached answer' });
  }, 60_000);

  it('never serves a cached answer after the data its tools read changed', async () => {
    const q = { question: 'What is the refund window?', tools: ['search_docs'] };
    expect((await ask(q)).winner).toBe('fast');
    expect((await ask(q)).winner).toBe('cache');
    fs.writeFileSync(path.join(docs, 'refunds.md'), '# Refunds\n\nDamaged items are refunded within 30 days.\n');
    const after = await ask(q);
    expect(after.winner).toBe('fast');
    expect(byName(after).cache).toMatchObject({ status: 'failed', reason: 'the data the tools read changed since the answer was cached' });
    // The new answer is cached under the new version.
    expect((await ask(q)).winner).toBe('cache');
  }, 60_000);

  it('refuses an unfinished candidate and lets the agent win; a strategy whose start never came never starts', async () => {
    const r = await ask({
      question: 'Explain everything at length.\n#sim answer_tokens=800',
      tools: [],
      strategies: [
        { name: 'fast', startAfterMs: 0 },
        { name: 'agent', startAfterMs: 50 },
        { name: 'cache', startAfterMs: 30_000 },
      ],
    });
    expect(r.winner).toBe('agent');
    expect(byName(r).fast).toMatchObject({ status: 'invalid', reason: 'unfinished answer (max_tokens)' });
    expect(byName(r).cache!.status).toBe('not-started');
    expect(byName(r).agent!.tokens).toBeGreaterThan(0);
  }, 60_000);

  it('charges a cancelled agent’s spend to the run: its finished turn as billed, its cut stream as estimated', async () => {
    const question = 'What happens to a damaged item refund?\n#sim tools=search_docs';
    const tools = ['search_docs'];
    // The fast model answers first, so the cache has the answer for the race below.
    expect(
      (
        await ask({
          question,
          tools,
          strategies: [
            { name: 'fast', startAfterMs: 0 },
            { name: 'cache', startAfterMs: 0 },
          ],
        })
      ).winner,
    ).toBe('fast');
    // The agent's second turn (the only request holding a tool call's input) stalls after its first event.
    sim.configure({ faults: [{ kind: 'stall', match: { contains: '{"query":' } }] });
    sim.clearLedger();
    let r: SpeculateResult;
    try {
      r = await ask({
        question,
        tools,
        strategies: [
          { name: 'agent', startAfterMs: 0 },
          { name: 'cache', startAfterMs: 5000 },
        ],
      });
    } finally {
      sim.configure({ faults: [] });
    }
    expect(r.winner).toBe('cache');
    const agent = byName(r).agent!;
    expect(agent).toMatchObject({ status: 'lost-cancelled', reason: 'another strategy won', estimated: true });
    const [turn1, turn2] = sim.ledger();
    expect(turn1).toMatchObject({ outcome: 'ok', toolUses: 1 });
    expect(turn2).toMatchObject({ outcome: 'fault:stall' });
    // Both of the agent's calls are charged: the finished one whole, the cut one's input as streamed before the cancel.
    expect(agent.tokens).toBe(turn1!.inputTokens + turn1!.outputTokens + turn2!.inputTokens);
    expect(r.usage.total.inputTokens).toBe(turn1!.inputTokens + turn2!.inputTokens);
    expect(r.cost.estimatedUsd).toBeGreaterThan(0);
    expect(r.cost.totalUsd).toBeGreaterThan(r.cost.estimatedUsd);
    expect(agent.costUsd).toBe(r.cost.totalUsd);
  }, 60_000);

  it('fails the run with each strategy’s reason when none gives a valid answer', async () => {
    const err = await ask({
      question: 'Never asked before.\n#sim answer_tokens=800',
      tools: [],
      strategies: [
        { name: 'cache', startAfterMs: 0 },
        { name: 'fast', startAfterMs: 0 },
      ],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toBe(
      'no strategy gave a valid result — cache: failed (no cached answer); fast: invalid (unfinished answer (max_tokens))',
    );
  }, 60_000);

  it('refuses bad input before anything starts', () => {
    expect(() => parseStrategies('cache=0,slow=10')).toThrow(
      '--speculate: "slow=10" is not name[=ms] with name one of cache, fast, retrieval, agent',
    );
    expect(parseStrategies('fast,agent=500')).toEqual([
      { name: 'fast', startAfterMs: 50 },
      { name: 'agent', startAfterMs: 500 },
    ]);
    expect(speculateProblem({ question: 'q', strategies: [{ name: 'cache', startAfterMs: 0 }] })).toMatch(/cache alone/);
    expect(
      speculateProblem({
        question: 'q',
        strategies: [
          { name: 'fast', startAfterMs: 0 },
          { name: 'fast', startAfterMs: 5 },
        ],
      }),
    ).toBe('strategy "fast" is given twice');
    expect(speculateProblem({ question: ' ' })).toBe('the question is empty');
    expect(speculateProblem({ question: 'q', validator: 'vibes' as never })).toBe('unknown validator "vibes" (known: non-empty, judge)');
    expect(speculateProblem({ question: 'q', retrievalSource: 'no such source' })).toBe('"no such source" is not a source name');
  });
});

const start = (input: SpeculateInput) =>
  h.client.workflow.start<(i: SpeculateInput) => Promise<SpeculateResult>>(SPECULATE_WORKFLOW, {
    taskQueue: w.taskQueue,
    workflowId: `speculate-test-${Date.now()}-${n++}`,
    args: [input],
  });

/** The inputs of the activities the run scheduled, by activity id. */
async function scheduledById(handle: WorkflowHandle): Promise<Map<string, unknown>> {
  const history = await handle.fetchHistory();
  const out = new Map<string, unknown>();
  for (const e of history.events ?? []) {
    const a = e.activityTaskScheduledEventAttributes;
    if (!a) continue;
    const payload = a.input?.payloads?.[0];
    out.set(a.activityId!, payload?.data ? JSON.parse(Buffer.from(payload.data).toString()) : undefined);
  }
  return out;
}

describe('the judge validator', () => {
  it('asks the fast model to approve a candidate, and charges its call to the strategy it judged', async () => {
    const plain = await ask({
      question: 'How long do damaged item refunds take?',
      tools: [],
      strategies: [{ name: 'fast', startAfterMs: 0 }],
    });
    const handle = await start({
      question: 'How long do damaged item refunds take?',
      tools: [],
      strategies: [{ name: 'fast', startAfterMs: 0 }],
      validator: 'judge',
    });
    const r = await handle.result();
    expect(r.winner).toBe('fast');
    const judge = (await scheduledById(handle)).get('judge:fast') as LlmRequest;
    expect(judge).toMatchObject({ role: 'fast', system: JUDGE_SYSTEM });
    const asked = JSON.stringify(judge.messages);
    expect(asked).toContain(`Answer A: ${DECLINE}`);
    expect(asked).toContain(`Answer B: ${r.answer.replace(/\s*\n\s*/g, ' ').trim()}`);
    // The same answer, one model call more: the judge's tokens are the strategy's.
    expect(r.answer).toBe(plain.answer);
    expect(byName(r).fast!.tokens).toBeGreaterThan(byName(plain).fast!.tokens);
    expect(r.usage.total.inputTokens).toBeGreaterThan(plain.usage.total.inputTokens);
  }, 60_000);

  it('refuses the candidates the judge rejects, and fails the run with the judge’s reasons when it rejects them all', async () => {
    sim.configure({ answerRules: [{ match: { contains: JUDGE_SYSTEM }, answer: 'wrong' }] });
    try {
      const err = await ask({
        question: 'How long do damaged item refunds take?',
        tools: [],
        strategies: [
          { name: 'fast', startAfterMs: 0 },
          { name: 'agent', startAfterMs: 0 },
        ],
        validator: 'judge',
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(String((err as WorkflowFailedError).cause?.message)).toMatch(
        /^no strategy gave a valid result — fast: invalid \(the judge rejected it: .+\); agent: invalid \(the judge rejected it: .+\)$/,
      );
    } finally {
      sim.configure({ answerRules: [] });
    }
  }, 60_000);
});

describe('the retrieval strategy', () => {
  it('searches a source and lets the fast model answer from its top hits', async () => {
    const handle = await start({
      question: 'How are damaged items refunded?',
      tools: [],
      strategies: [{ name: 'retrieval', startAfterMs: 0 }],
    });
    const r = await handle.result();
    expect(r.winner).toBe('retrieval');
    const acts = await scheduledById(handle);
    expect(acts.get('strategy:retrieval:search')).toEqual({ source: 'handbook', queries: ['How are damaged items refunded?'], limit: 5 });
    const turn = acts.get('strategy:retrieval') as LlmRequest;
    expect(turn).toMatchObject({ role: 'fast', system: RETRIEVAL_SYSTEM });
    expect(String(turn.messages[0]!.content)).toMatch(/^Result 1 \(.+\):\n.+/);
    expect(byName(r).retrieval!.tokens).toBeGreaterThan(0);
  }, 60_000);

  it('fails the strategy, not the race, when the source does not exist', async () => {
    const r = await ask({
      question: 'How are damaged items refunded?',
      tools: [],
      retrievalSource: 'nowhere',
      strategies: [
        { name: 'retrieval', startAfterMs: 0 },
        { name: 'fast', startAfterMs: 0 },
      ],
    });
    expect(r.winner).toBe('fast');
    expect(byName(r).retrieval).toMatchObject({ status: 'failed', reason: expect.stringContaining('nowhere') as unknown });
  }, 60_000);
});
