/**
 * `braid search`'s workflow on the real server, with the worker's four sources (the handbook, the
 * sample database, the ticket archive, and the simulator's web search as the remote one): every
 * source searched at once, the fused list equal to RRF over exactly the lists recorded in history,
 * a slow source reported missing at its own timeout while the fast ones count, a failing source, the
 * model's sub-queries, and an answer whose every citation names a fused hit it read.
 */
import { WorkflowFailedError, type WorkflowStartOptions } from '@temporalio/client';
import { ApplicationFailure, TypedSearchAttributes } from '@temporalio/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDefaultSources, defineSource, SourceError } from '../src/search';
import { BraidKind, BraidStatus } from '../src/shared/search-attributes';
import {
  reciprocalRankFusion,
  SEARCH_SOURCES,
  SEARCH_WORKFLOW,
  searchProgressQuery,
  type SearchInput,
  type SearchResult,
  type SourceLists,
} from '../src/shared/search';
import { llmTaskQueue } from '../src/shared/task-queues';
import { usdFor } from '../src/shared/pricing';
import type { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import { connect, scheduledInputs, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';
import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';

let h: Harness;
let sim: Simulator;
let w: TestWorker;
let n = 0;

beforeAll(async () => {
  h = await connect();
  sim = await startSimulator();
  w = await startWorker(h, new ToolRegistry(), sim);
});
afterAll(async () => {
  await w?.shutdown();
  await sim?.close();
  await h?.close();
});
beforeEach(() =>
  sim.configure({ latency: { ttftMs: 20, perTokenMs: 0, tools: { web_search: { fixed: 50 } } }, faults: [], answerRules: [] }),
);

const all = SEARCH_SOURCES.map((name) => ({ name }));

function start(input: Partial<SearchInput>, options: Partial<WorkflowStartOptions> = {}, worker: TestWorker = w) {
  return h.client.workflow.start<(i: SearchInput) => Promise<SearchResult>>(SEARCH_WORKFLOW, {
    ...options,
    taskQueue: worker.taskQueue,
    workflowId: `search-test-${Date.now()}-${n++}`,
    args: [{ query: 'refund for an item that arrived damaged', sources: all, llmTaskQueue: llmTaskQueue(worker.taskQueue), ...input }],
  });
}

/** The lists each source's activity returned, as recorded in the run's history, by source. */
async function recordedLists(handle: WorkflowHandle): Promise<Map<string, SourceLists>> {
  const history = await handle.fetchHistory();
  const out = new Map<string, SourceLists>();
  for (const e of history.events ?? []) {
    const done = e.activityTaskCompletedEventAttributes;
    if (!done?.result?.payloads?.[0]) continue;
    const value = defaultPayloadConverter.fromPayload(done.result.payloads[0]) as Partial<SourceLists>;
    if (value && typeof value.source === 'string' && Array.isArray(value.lists)) out.set(value.source, value as SourceLists);
  }
  return out;
}

describe('search: every source at once, fused by rank', () => {
  it('searches the four sources, and fuses exactly the lists in history by RRF', async () => {
    const handle = await start(
      { query: 'Juniper Hotel Percale Sheet Set orders', k: 60, topK: 15 },
      {
        typedSearchAttributes: new TypedSearchAttributes([
          { key: BraidKind, value: 'search' },
          { key: BraidStatus, value: 'searching' },
        ]),
      },
    );
    const r = await handle.result();
    expect(r.sources.map((s) => [s.source, s.status])).toEqual(SEARCH_SOURCES.map((s) => [s, 'ok']));
    expect(r.missing).toEqual([]);
    expect(r.queries).toEqual(['Juniper Hotel Percale Sheet Set orders']);
    expect(r.hits).toHaveLength(15);
    // The workflow read nothing but the recorded lists: the same fusion over them gives the same hits.
    const lists = await recordedLists(handle);
    expect([...lists.keys()].sort()).toEqual([...SEARCH_SOURCES].sort());
    const expected = reciprocalRankFusion(
      SEARCH_SOURCES.map((s) => ({ source: s, query: 0, hits: lists.get(s)!.lists[0]! })),
      60,
    ).slice(0, 15);
    expect(r.hits).toEqual(expected);
    // Each fused hit says which lists ranked it and where; its score is theirs, by the formula.
    for (const hit of r.hits) {
      expect(hit.id.startsWith(`${hit.source}:`)).toBe(true);
      for (const rank of hit.ranks) expect(lists.get(rank.source)!.lists[rank.query]![rank.rank - 1]!.id).toBe(hit.id);
      expect(hit.score).toBeCloseTo(
        hit.ranks.reduce((s, x) => s + 1 / (60 + x.rank), 0),
        12,
      );
    }
    // Each source's first hit scores 1/61; tied, they come in source order (the tie rule), before any second place.
    expect(r.hits.slice(0, 4).map((x) => [x.source, x.ranks[0]!.rank])).toEqual(SEARCH_SOURCES.map((s) => [s, 1]));
    expect(r.hits[1]!.title).toMatch(/^Order \d+: Juniper Hotel, Percale Sheet Set$/);
    // Every source searched at once: each activity was scheduled before the first one finished.
    const history = await handle.fetchHistory();
    const events = history.events!;
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => Number(e.eventId));
    const firstDone = events.find((e) => e.activityTaskCompletedEventAttributes || e.activityTaskFailedEventAttributes)!;
    expect(scheduled).toHaveLength(4);
    expect(Math.max(...scheduled)).toBeLessThan(Number(firstDone.eventId));
    // Web UI: each source's call is labelled with its name and time; BraidStatus ends `done`.
    const ids = events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityId] : []));
    expect(ids).toEqual(SEARCH_SOURCES.map((s) => `source:${s}`));
    const summaries = events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.userMetadata?.summary] : []));
    expect(summaries.map((p) => JSON.parse(Buffer.from(p!.data!).toString()) as string)).toEqual(
      SEARCH_SOURCES.map((s) => `source ${s}: "Juniper Hotel Percale Sheet Set orders" (${s === 'web' ? 3000 : 5000} ms)`),
    );
    expect((await handle.describe()).typedSearchAttributes.get(BraidStatus)).toBe('done');
    const progress = await handle.query(searchProgressQuery);
    expect(progress.phase).toBe('done');
    expect(progress.top.map((x) => x.id)).toEqual(r.hits.slice(0, 5).map((x) => x.id));
  });

  it('reports a slow source missing at its own timeout, without waiting for it, and fuses the others', async () => {
    sim.configure({ latency: { ttftMs: 20, perTokenMs: 0, tools: { web_search: { fixed: 20_000 } } } });
    const t0 = Date.now();
    const r = await (await start({ sources: [{ name: 'handbook' }, { name: 'web', timeoutMs: 1_000 }, { name: 'tickets' }] })).result();
    const wall = Date.now() - t0;
    const web = r.sources.find((s) => s.source === 'web')!;
    expect(web).toMatchObject({ status: 'timed-out', hits: 0, timeoutMs: 1_000, reason: 'no answer within 1000 ms' });
    expect(r.missing).toEqual(['web']);
    expect(r.sources.filter((s) => s.source !== 'web').every((s) => s.status === 'ok' && s.hits > 0)).toBe(true);
    expect(r.hits.length).toBeGreaterThan(0);
    expect(r.hits.every((x) => x.source !== 'web')).toBe(true);
    // It waited for (nearly all of) the web's time — the worker gives up 50 ms early — and not for its 20 s answer.
    expect(r.fusedMs).toBeGreaterThanOrEqual(950);
    expect(wall).toBeLessThan(10_000);
    expect(web.endedAt! - web.startedAt!).toBeLessThan(10_000);
  });

  it('reports a failing source with its reason and a source that refuses without retrying it', async () => {
    let calls = 0;
    const sources = createDefaultSources().register(
      defineSource({
        name: 'broken',
        description: 'always fails',
        search: async () => {
          calls++;
          throw new Error('index server unreachable');
        },
      }),
      defineSource({
        name: 'closed',
        description: 'always refuses',
        search: async () => {
          throw new SourceError('this source needs a licence key');
        },
      }),
    );
    const worker = await startWorker(h, new ToolRegistry(), sim, {}, { sources });
    try {
      const r = await (
        await start({ sources: [{ name: 'handbook' }, { name: 'broken', timeoutMs: 10_000 }, { name: 'closed' }] }, {}, worker)
      ).result();
      const by = new Map(r.sources.map((s) => [s.source, s]));
      expect(by.get('handbook')!.status).toBe('ok');
      expect(by.get('broken')).toMatchObject({ status: 'failed', reason: 'broken: index server unreachable' });
      expect(calls).toBe(3); // the tool-call profile's attempts, within the source's time
      expect(by.get('closed')).toMatchObject({ status: 'failed', reason: 'this source needs a licence key' });
      expect(r.missing).toEqual(['broken', 'closed']);
      expect(r.hits.every((x) => x.source === 'handbook')).toBe(true);
    } finally {
      await worker.shutdown();
      await sources.close();
    }
  });

  it('searches a source the worker registers by its name, and fails at once on a name the worker does not have', async () => {
    const sources = createDefaultSources().register(
      defineSource({
        name: 'faq',
        description: 'frequent questions',
        search: async () => [{ id: 'faq:refunds', title: 'Refunds FAQ', snippet: 'Damaged items are refunded.' }],
      }),
    );
    const worker = await startWorker(h, new ToolRegistry(), sim, {}, { sources });
    const activities = async (handle: WorkflowHandle) =>
      ((await handle.fetchHistory()).events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    try {
      const found = await start({ sources: [{ name: 'handbook' }, { name: 'faq' }] }, {}, worker);
      const r = await found.result();
      expect(r.sources.map((x) => [x.source, x.status])).toEqual([
        ['handbook', 'ok'],
        ['faq', 'ok'],
      ]);
      expect(r.hits.some((x) => x.id === 'faq:refunds')).toBe(true);
      // The worker was asked once, before any source was searched.
      expect(await activities(found)).toEqual(['listSources', 'searchSource', 'searchSource']);

      const unknown = await start({ sources: [{ name: 'handbook' }, { name: 'nowhere' }] }, {}, worker);
      const err = await unknown.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
      expect([cause.type, cause.message]).toEqual([
        'InvalidInput',
        'unknown source "nowhere": the worker offers handbook, database, tickets, web, faq',
      ]);
      expect(await activities(unknown)).toEqual(['listSources']);

      // Built-in names alone: the worker is not asked.
      const builtIn = await start({ sources: [{ name: 'handbook' }] }, {}, worker);
      await builtIn.result();
      expect(await activities(builtIn)).toEqual(['searchSource']);
    } finally {
      await worker.shutdown();
      await sources.close();
    }
  });

  it('fails at once on bad input: a source named twice, an RRF k out of range', async () => {
    const cases: [Partial<SearchInput>, string][] = [
      [{ sources: [{ name: 'handbook' }, { name: 'handbook' }] }, 'source handbook is given twice'],
      [{ k: -1 }, "k = -1: RRF's k is a whole number from 0 to 1000"],
      [{ query: '  ' }, 'the query is empty'],
    ];
    for (const [input, message] of cases) {
      const err = await (await start(input)).result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect((err as WorkflowFailedError).cause?.message).toBe(message);
    }
  });
});

describe('search: sub-queries and answers', () => {
  it('searches every source for the query and the sub-queries the model split it into', async () => {
    const handle = await start({
      query: 'How long until a refund appears on my card, and what are the express delivery prices?',
      sources: [{ name: 'handbook' }, { name: 'tickets' }],
      decompose: true,
      depth: 3,
    });
    const r = await handle.result();
    expect(r.plan).toMatchObject({ status: 'split', subQueries: ['refund appears on my card', 'express delivery prices'] });
    expect(r.queries).toHaveLength(3);
    const lists = await recordedLists(handle);
    expect(lists.get('handbook')!.lists).toHaveLength(3);
    // Hits ranked for a sub-query carry that query's index.
    expect(r.hits.some((x) => x.ranks.some((rank) => rank.query > 0))).toBe(true);
    // The section each part asks for is first for its sub-query and ranked for the whole query too: fusion puts it on top.
    expect(r.hits.slice(0, 3).map((x) => x.id)).toEqual(
      expect.arrayContaining([
        'handbook:shipping#delivery-options-and-prices',
        'handbook:refunds-and-returns#how-and-when-money-is-returned',
      ]),
    );
    // The planner's call is paid for like any other.
    expect(r.usage.total.outputTokens).toBeGreaterThan(0);
    expect(r.cost.totalUsd).toBeGreaterThan(0);
  });

  it('answers from the fused top hits, every statement citing a hit it read', async () => {
    const handle = await start({ query: 'refund for an item that arrived damaged', answer: true, answerTop: 4 });
    const r = await handle.result();
    const answer = r.answer!;
    expect(answer.status).toBe('answered');
    expect(answer.read).toEqual([1, 2, 3, 4]);
    expect(answer.claims.length).toBeGreaterThan(0);
    for (const c of answer.claims) {
      expect(c.cites.length).toBeGreaterThan(0);
      for (const rank of c.cites) expect(answer.read).toContain(rank);
    }
    expect(answer.citations!.rejected).toBe(0);
    expect(answer.text).toMatch(/\[\d\]/);
    // The answer read the full passages of the hits, not their snippets.
    const [req] = (await scheduledInputs(handle, 'answerSearch')) as { hits: { id: string }[] }[];
    expect(req!.hits.map((x) => x.id)).toEqual(r.hits.slice(0, 4).map((x) => x.id));
    expect(r.cost.byModel[answer.model!]!.usd).toBeGreaterThan(0);
  });

  it("charges the answer's stream cut mid-answer and retried as estimated", async () => {
    sim.configure({ faults: [{ kind: 'reset', times: 1, match: { contains: 'arrived damaged' } }] });
    const r = await (await start({ answer: true, answerTop: 4 })).result();
    expect(r.answer!.status).toBe('answered');
    expect(r.cost.estimatedUsd).toBeGreaterThan(0);
    const billed = usdFor(r.answer!.model!, r.answer!.usage!)!;
    expect(r.cost.totalUsd).toBeCloseTo(billed + r.cost.estimatedUsd, 7);
  });
});
