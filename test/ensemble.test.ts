/**
 * `braid ensemble`'s workflow on the real server with the simulator as every member: votes and the
 * tie rule, the judge (asked only when members disagree, shown candidates but not the context),
 * missing votes (failed, timed out, invalid) and the quorum, a batch whose every vote is checked
 * against the simulator's error model item by item, bounded concurrency, and a member routed to its
 * fallback model while its own breaker is open.
 */
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError, type WorkflowStartOptions } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ENSEMBLE_WORKFLOW,
  ensembleProgressQuery,
  type EnsembleInput,
  type EnsembleResult,
  type ItemOutcome,
} from '../src/shared/ensemble';
import type { ChatMessage, LlmRequest } from '../src/shared/types';
import { llmTaskQueue } from '../src/shared/task-queues';
import type { Simulator } from '../src/simulator';
import { fromJsonl, SUPPORT_TICKET_LABELS } from '../src/simulator/fixtures/support-tickets';
import { Mind } from '../src/simulator/mind';
import { BraidKind, BraidStatus } from '../src/shared/search-attributes';
import { ToolRegistry } from '../src/tools';
import { connect, scheduledInputs, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

const FILE = path.join(__dirname, '..', 'data', 'fixtures', 'support-tickets.jsonl');
const set = fromJsonl('support-tickets', fs.readFileSync(FILE, 'utf8'), [...SUPPORT_TICKET_LABELS]);
const LABELS = [...SUPPORT_TICKET_LABELS];
const HAIKU = 'claude-haiku-4-5';
const SONNET = 'claude-sonnet-4-6';
const OPUS = 'claude-opus-4-6';

let h: Harness;
let sim: Simulator;
let w: TestWorker;
let n = 0;

beforeAll(async () => {
  h = await connect();
  sim = await startSimulator({ datasets: [set] });
  w = await startWorker(h, new ToolRegistry(), sim, { BRAID_BREAKER_FAILURES: '2', BRAID_BREAKER_COOLDOWN_MS: '60000' });
});
afterAll(async () => {
  await w?.shutdown();
  await sim?.close();
  await h?.close();
});
beforeEach(() => sim.configure({ faults: [], answerRules: [] }));

function start(input: Partial<EnsembleInput>, options: Partial<WorkflowStartOptions> = {}) {
  return h.client.workflow.start<(i: EnsembleInput) => Promise<EnsembleResult>>(ENSEMBLE_WORKFLOW, {
    ...options,
    taskQueue: w.taskQueue,
    workflowId: `ensemble-test-${Date.now()}-${n++}`,
    args: [
      {
        members: [{ model: HAIKU }, { model: SONNET }, { model: OPUS }],
        aggregate: 'vote',
        llmTaskQueue: llmTaskQueue(w.taskQueue),
        ...input,
      },
    ],
  });
}
const run = async (input: Partial<EnsembleInput>) => (await start(input)).result();

const ticket = (id: string) => set.items.find((i) => i.id === id)!;
/** A ticket every built-in model labels right (checked against the simulator's error model). */
const easy = set.items.find((i) =>
  [HAIKU, SONNET, OPUS].every((m) => !new Mind({ datasets: [set] }).isWrong(m, i.text, new Mind({ datasets: [set] }).lookup(i.text))),
)!;
const statuses = (o: ItemOutcome) => o.votes.map((v) => v.status);

describe('ensemble: one prompt', () => {
  it('votes: three models agree on the registered label; votes, quorum, usage and cost are in the result', async () => {
    const handle = await start(
      { prompt: easy.text, labels: LABELS },
      {
        typedSearchAttributes: new TypedSearchAttributes([
          { key: BraidKind, value: 'ensemble' },
          { key: BraidStatus, value: 'voting' },
        ]),
      },
    );
    const r = await handle.result();
    // The Web UI and `braid runs` see where the run is: BraidStatus ends `done`; each member call has a label.
    expect((await handle.describe()).typedSearchAttributes.get(BraidStatus)).toBe('done');
    const history = await handle.fetchHistory();
    const summaries = history.events!.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.userMetadata?.summary] : []));
    expect(summaries.map((p) => (p ? JSON.parse(Buffer.from(p.data!).toString()) : undefined))).toEqual([
      `member 1: ${HAIKU}`,
      `member 2: ${SONNET}`,
      `member 3: ${OPUS}`,
    ]);
    const item = r.items[0]!;
    expect(r.mode).toBe('single');
    expect(item.answer).toBe(easy.label);
    expect(item.decidedBy).toBe('unanimous');
    expect(item.votes.map((v) => v.answer)).toEqual([easy.label, easy.label, easy.label]);
    expect(item.votes.map((v) => v.answeredBy)).toEqual([HAIKU, SONNET, OPUS]);
    expect({ voted: item.voted, quorum: item.quorum, quorumHeld: item.quorumHeld }).toEqual({ voted: 3, quorum: 2, quorumHeld: true });
    expect(item.judge).toBeUndefined();
    expect(Object.keys(r.cost.byModel).sort()).toEqual([HAIKU, OPUS, SONNET].sort());
    // Opus's list price per token is 5× haiku's: the same prompt costs it more.
    expect(r.cost.byModel[OPUS]!.usd).toBeGreaterThan(r.cost.byModel[HAIKU]!.usd);
    expect(r.cost.totalUsd).toBeCloseTo(
      Object.values(r.cost.byModel).reduce((s, m) => s + m.usd, 0),
      8,
    );
    expect(r.usage.total.inputTokens).toBe(Object.values(r.usage.byModel).reduce((s, u) => s + u.inputTokens, 0));
    expect(r.simulated).toBe(true);
  });

  it('takes the majority over a dissenting member, and breaks a tie by member order', async () => {
    sim.configure({ answerRules: [{ match: { model: HAIKU }, answer: 'wrong' }] });
    const majority = (await run({ prompt: easy.text, labels: LABELS })).items[0]!;
    expect(majority.answer).toBe(easy.label);
    expect(majority.decidedBy).toBe('majority');
    expect(majority.vote?.counts[easy.label]).toBe(2);
    expect(majority.votes[0]!.answer).not.toBe(easy.label);

    // Two members, one wrong: 1–1. The earliest member's label wins, whichever it is.
    const pair = (first: string, second: string) =>
      run({ prompt: easy.text, labels: LABELS, members: [{ model: first }, { model: second }], quorum: 1 }).then((r) => r.items[0]!);
    const sonnetFirst = await pair(SONNET, HAIKU);
    expect(sonnetFirst.vote?.tie?.sort()).toEqual([easy.label, sonnetFirst.votes[1]!.answer!].sort());
    expect(sonnetFirst.decidedBy).toBe('member-order');
    expect(sonnetFirst.answer).toBe(easy.label);
    const haikuFirst = await pair(HAIKU, SONNET);
    expect(haikuFirst.decidedBy).toBe('member-order');
    expect(haikuFirst.answer).toBe(haikuFirst.votes[0]!.answer);
    expect(haikuFirst.answer).not.toBe(easy.label);
  });

  it('asks the judge only when members disagree, with the distinct labels as candidates, and records its pick', async () => {
    sim.configure({ answerRules: [{ match: { model: HAIKU, contains: 'Classify the message' }, answer: 'wrong' }] });
    const handle = await start({ prompt: easy.text, labels: LABELS, aggregate: 'judge', judge: SONNET });
    const r = await handle.result();
    const item = r.items[0]!;
    const wrong = item.votes[0]!.answer!;
    expect(item.judge).toMatchObject({ model: SONNET, status: 'chose', candidates: [easy.label, wrong] });
    expect(item.answer).toBe(item.judge!.choice);
    expect(item.decidedBy).toBe('judge');
    expect(r.cost.byModel[SONNET]!.inputTokens).toBeGreaterThan(item.votes[1]!.usage!.inputTokens);
    // The judge saw the message and the candidates: no label list, no new answer to write.
    const judged = (await scheduledInputs(handle, 'llmTurn')).map((i) => i as LlmRequest).find((i) => /judge/i.test(i.system ?? ''))!;
    const text = (judged.messages[0] as ChatMessage).content as string;
    expect(text).toContain(easy.text);
    expect(text).toContain(`Answer A: ${easy.label}`);
    expect(text).toContain(`Answer B: ${wrong}`);
    expect(text).not.toContain('Labels:');

    // A judge that names no candidate leaves the decision to the vote, and the result says so.
    sim.configure({
      answerRules: [
        { match: { model: HAIKU, contains: 'Classify the message' }, answer: 'wrong' },
        { match: { model: SONNET, contains: 'Which answer labels' }, answer: 'invalid' },
      ],
    });
    const fallback = (await run({ prompt: easy.text, labels: LABELS, aggregate: 'judge', judge: SONNET })).items[0]!;
    expect(fallback.judge).toMatchObject({ status: 'invalid', candidates: [easy.label, wrong] });
    expect(fallback.judge!.reason).toMatch(/^no verdict among 2 candidates/);
    expect(fallback).toMatchObject({ answer: easy.label, decidedBy: 'majority' });

    // Unanimous: no judge call at all.
    sim.configure({ answerRules: [] });
    const unanimous = await run({ prompt: easy.text, labels: LABELS, aggregate: 'judge' });
    expect(unanimous.items[0]!.decidedBy).toBe('unanimous');
    expect(unanimous.items[0]!.judge).toBeUndefined();
    expect(unanimous.summary.judgeCalls).toBe(0);
  });

  it('judges free-form answers on the question and the candidates, never the context the members read', async () => {
    sim.configure({ answerRules: [{ match: { model: HAIKU, contains: 'Context:' }, answer: 'wrong' }] });
    const context = fs.readFileSync(path.join(__dirname, '..', 'data', 'docs', 'refunds-and-returns.md'), 'utf8');
    const handle = await start({
      prompt: 'How long do customers have to return an item?',
      context,
      members: [{ model: HAIKU }, { model: OPUS }],
      aggregate: 'judge',
      judge: SONNET,
    });
    const r = await handle.result();
    const item = r.items[0]!;
    expect(item.votes.every((v) => v.status === 'voted')).toBe(true);
    expect(item.judge?.status).toBe('chose');
    expect(item.judge?.candidates).toEqual(item.votes.map((v) => v.answer));
    expect(item.answer).toBe(item.judge!.choice);
    const inputs = (await scheduledInputs(handle, 'llmTurn')) as LlmRequest[];
    const memberText = inputs[0]!.messages[0]!.content as string;
    const judgeText = inputs.find((i) => /judge/i.test(i.system ?? ''))!.messages[0]!.content as string;
    expect(memberText).toContain(context.slice(0, 200));
    expect(judgeText).not.toContain(context.slice(0, 200));
    expect(judgeText.length).toBeLessThan(memberText.length);
  });

  it('counts a failed, a timed-out and an invalid member as missing votes, and says whether the quorum held', async () => {
    sim.configure({
      faults: [{ kind: 'status', status: 400, match: { model: HAIKU } }],
      answerRules: [
        { match: { model: SONNET }, slowMs: 20_000 },
        { match: { model: OPUS }, answer: 'invalid' },
      ],
    });
    const members = [{ model: HAIKU }, { model: SONNET }, { model: OPUS }, { model: 'claude-opus-4-7' }];
    const r = await run({ prompt: easy.text, labels: LABELS, members, quorum: 1, memberTimeoutMs: 2000 });
    const item = r.items[0]!;
    expect(statuses(item)).toEqual(['failed', 'timed-out', 'invalid', 'voted']);
    expect(item.votes[0]!.reason).toMatch(/400/);
    expect(item.votes[1]!.reason).toBe('no answer within 2000 ms');
    expect(item.votes[2]!.reason).toMatch(/^not one of the labels/);
    expect(item).toMatchObject({ voted: 1, quorum: 1, quorumHeld: true, answer: easy.label });
    expect(r.summary.missingVotes).toBe(3);

    // The same with a quorum of 2: no answer, and the votes still say why.
    const strict = (await run({ prompt: easy.text, labels: LABELS, members, quorum: 2, memberTimeoutMs: 2000 })).items[0]!;
    expect(strict).toMatchObject({ voted: 1, quorum: 2, quorumHeld: false, decidedBy: 'none' });
    expect(strict.answer).toBeUndefined();
    expect(strict.vote?.label).toBe(easy.label);
  });

  it('shows each member’s vote while the others are still answering', async () => {
    sim.configure({ answerRules: [{ match: { model: OPUS }, slowMs: 3000 }] });
    const handle = await start({ prompt: easy.text, labels: LABELS });
    let seen: string[] = [];
    for (let i = 0; i < 100 && !seen.includes('voted'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = ((await handle.query(ensembleProgressQuery).catch(() => undefined))?.votes ?? []).map((v) => v.status);
    }
    expect(seen).toContain('voted');
    const r = await handle.result();
    expect(statuses(r.items[0]!)).toEqual(['voted', 'voted', 'voted']);
  });

  it('refuses bad input before any model call', async () => {
    const err = await run({ prompt: 'x', labels: ['only'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause?.message).toBe('a label set needs at least 2 labels, got 1');
    const k = await run({ prompt: 'x', labels: LABELS, quorum: 4 }).catch((e: unknown) => e);
    expect((k as WorkflowFailedError).cause?.message).toBe('the quorum must be from 1 to 3 (the members), got 4');
  });
});

describe('ensemble: a batch', () => {
  it('classifies every item by its own vote, each member exactly as the error model says, at most C at once', async () => {
    const items = set.items.slice(0, 40).map((i) => ({ id: i.id, text: i.text, expected: i.label }));
    const handle = await start({ items, labels: LABELS, concurrency: 4, aggregate: 'judge' });
    const r = await handle.result();
    expect(r.mode).toBe('batch');
    expect(r.items).toHaveLength(40);
    expect(r.peakRunning).toBe(4);
    const mind = new Mind({ datasets: [set] });
    for (const [i, item] of r.items.entries()) {
      const t = ticket(item.id);
      expect(item.index).toBe(i);
      // Every vote is the simulator's: right exactly where its error model says the model is right.
      for (const v of item.votes)
        expect(v.answer === t.label, `${t.id} ${v.model}`).toBe(!mind.isWrong(v.model, t.text, mind.lookup(t.text)));
      if (new Set(item.votes.map((v) => v.answer)).size > 1) expect(item.judge?.status).toBe('chose');
      else expect(item.judge).toBeUndefined();
    }
    const acc = r.summary.accuracy!;
    expect(acc.labelled).toBe(40);
    for (const m of acc.byMember) {
      const wrong = items.filter((i) => mind.isWrong(m.model, i.text, mind.lookup(i.text))).length;
      expect(m.accuracy).toBeCloseTo(1 - wrong / 40, 10);
    }
    expect(acc.judge).toBe(acc.answer);
    expect(r.summary.judgeCalls).toBe(r.items.filter((i) => i.judge).length);
    // Each item is a child workflow of the run, named after its position and labelled for the Web UI;
    // the run's own history grows by a few events per item, not by every model call.
    const child = h.client.workflow.getHandle(`${handle.workflowId}/item-7`);
    expect((await child.describe()).type).toBe('ensembleItem');
    expect(await (await child.describe()).staticSummary()).toBe(`item 7 (${items[6]!.id}): 3 models`);
    const events = (await handle.fetchHistory()).events!.length;
    expect(events).toBeLessThan(12 * items.length);
  });
});

describe('ensemble: model routing', () => {
  it('sends a member to its fallback while its model’s breaker is open, and the vote records it', async () => {
    // Two server errors open opus's breaker on this worker (BRAID_BREAKER_FAILURES=2).
    sim.configure({ faults: [{ kind: 'status', status: 500, times: 2, match: { model: OPUS } }] });
    const members = [{ model: HAIKU }, { model: SONNET }, { model: OPUS, fallback: { model: 'claude-opus-4-7' } }];
    const r = await run({ prompt: easy.text, labels: LABELS, members });
    const opus = r.items[0]!.votes[2]!;
    expect(opus.status).toBe('voted');
    expect(opus.answeredBy).toBe('claude-opus-4-7');
    expect(opus.routed).toMatchObject({ from: OPUS, to: 'claude-opus-4-7', reason: 'breaker-open' });
    expect(r.summary.routedCalls).toBe(1);
    expect(r.cost.byModel['claude-opus-4-7']).toBeDefined();

    // Without a route (the default) the member waits out the open breaker: here, past its time.
    const waiting = await run({ prompt: easy.text, labels: LABELS, memberTimeoutMs: 3000 });
    expect(waiting.items[0]!.votes[2]).toMatchObject({ status: 'timed-out', model: OPUS });
    expect(waiting.items[0]!.votes[2]!.reason).toMatch(/^no answer within 3000 ms \(last: circuit open for model:claude-opus-4-6/);
    expect(waiting.items[0]!.votes[2]!.routed).toBeUndefined();
  });
});
