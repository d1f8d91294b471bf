/**
 * `npm run bench -- search`: what rank fusion buys and what a slow source costs, measured with the
 * real workflow (a throwaway Temporal server, the worker's four sources, the simulator's web search
 * as the remote one) on the labelled query set of bench/search-set.ts (62 queries, passage-level
 * labels over every passage the sources hold, fixed before any ranker existed).
 *
 * Two phases in one run:
 * - quality: every query searched in all four sources (the web at its usual 300-900 ms, well within
 *   its time); each source's own list is read back from the run's history (the `searchSource`
 *   activity's result) and the fused top 10 from the result, and each is scored against the labels:
 *   recall@10 = relevant passages in the top 10 ÷ all relevant passages (grade ≥ 1), nDCG@10 with
 *   gain 2^grade − 1 and the ideal order over every labelled passage; means over the queries.
 * - latency: the web made slower (`--slow-ms`) than every source's time (`--timeout`), queries run
 *   one after another; makespanMs is the median wall-clock time of a search, client start to result,
 *   which should sit near the per-source timeout, not near the slow source's latency.
 */
import Table from 'cli-table3';
import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import { simulatedBench } from './harness';
import { plotFile, writePlot } from './plot';
import { readQuerySet, type LabelledQuery } from './search-set';
import { tableStyle } from '../src/cli/render';
import {
  DEFAULT_DEPTH,
  SEARCH_SOURCES,
  SEARCH_WORKFLOW,
  type SearchInput,
  type SearchResult,
  type SourceLists,
} from '../src/shared/search';

export interface SearchBenchOptions {
  queries: number;
  k: number;
  /** Every source's time in the latency phase. */
  timeoutMs: number;
  /** The web's latency in the latency phase. */
  slowMs: number;
  slowRuns: number;
  concurrency: number;
  json: boolean;
  /** Also draw the figures as an SVG (`--plot [file]`). */
  plot?: string | true;
}

const CUTOFF = 10;
const round = (x: number, digits = 4) => Number(x.toFixed(digits));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Relevant passages (grade ≥ 1) among the first `cutoff` ids, over all the query's relevant passages. */
export function recallAt(ids: readonly string[], relevant: Readonly<Record<string, number>>, cutoff = CUTOFF): number {
  const all = Object.values(relevant).filter((g) => g > 0).length;
  if (all === 0) return 0;
  return ids.slice(0, cutoff).filter((id) => (relevant[id] ?? 0) > 0).length / all;
}

/** nDCG at `cutoff`: Σ (2^grade − 1) / log2(rank + 1) over the list, over the same for the ideal order of every labelled passage. */
export function ndcgAt(ids: readonly string[], relevant: Readonly<Record<string, number>>, cutoff = CUTOFF): number {
  const dcg = (grades: number[]) => grades.slice(0, cutoff).reduce((s, g, i) => s + (2 ** g - 1) / Math.log2(i + 2), 0);
  const ideal = dcg(
    Object.values(relevant)
      .filter((g) => g > 0)
      .sort((a, b) => b - a),
  );
  return ideal === 0 ? 0 : dcg(ids.map((id) => relevant[id] ?? 0)) / ideal;
}

/** Each source's list for the query (index 0), as its activity returned it in the run's history. */
async function sourceListsOf(handle: WorkflowHandle): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const e of (await handle.fetchHistory()).events ?? []) {
    const payload = e.activityTaskCompletedEventAttributes?.result?.payloads?.[0];
    if (!payload) continue;
    const v = defaultPayloadConverter.fromPayload(payload) as Partial<SourceLists>;
    if (typeof v?.source === 'string' && Array.isArray(v.lists))
      out.set(
        v.source,
        (v.lists[0] ?? []).map((h) => h.id),
      );
  }
  return out;
}

export async function searchBench(o: SearchBenchOptions): Promise<void> {
  const log = (l: string) => !o.json && process.stderr.write(`${l}\n`);
  const set = readQuerySet();
  if (o.queries > set.length) throw new Error(`--queries is at most ${set.length} (the labelled set)`);
  const queries = set.slice(0, o.queries);
  // Errors only: the worker would log every web search it gives up on, and the slow phase gives up on each.
  const bench = await simulatedBench({ log, taskQueue: 'bench-search', level: 'ERROR' });
  const { sim, temporal, cfg } = bench;
  let n = 0;
  const search = async (input: Omit<SearchInput, 'k'>) => {
    const t0 = Date.now();
    const handle = await temporal.client.workflow.start<(i: SearchInput) => Promise<SearchResult>>(SEARCH_WORKFLOW, {
      taskQueue: cfg.taskQueue,
      workflowId: `bench-search-${Date.now()}-${n++}`,
      args: [{ ...input, k: o.k }],
    });
    const result = await handle.result();
    return { handle, result, wallMs: Date.now() - t0 };
  };
  const scores = new Map<string, { recall: number[]; ndcg: number[] }>(
    [...SEARCH_SOURCES, 'fused'].map((s) => [s, { recall: [], ndcg: [] }]),
  );
  const qualityWall: number[] = [];
  let qualityMissing = 0;
  const slow: { wallMs: number; fusedMs: number; webStatus: string; webMs: number }[] = [];
  try {
    // Quality: every source answers within its time.
    log(`quality: ${queries.length} labelled queries, 4 sources, RRF k=${o.k}, ${o.concurrency} at once`);
    const score = async (q: LabelledQuery) => {
      const { handle, result, wallMs } = await search({ query: q.query, sources: SEARCH_SOURCES.map((name) => ({ name })), topK: CUTOFF });
      qualityWall.push(wallMs);
      qualityMissing += result.missing.length;
      const lists = await sourceListsOf(handle);
      for (const s of SEARCH_SOURCES) {
        const ids = lists.get(s) ?? [];
        scores.get(s)!.recall.push(recallAt(ids, q.relevant));
        scores.get(s)!.ndcg.push(ndcgAt(ids, q.relevant));
      }
      const fused = result.hits.map((h) => h.id);
      scores.get('fused')!.recall.push(recallAt(fused, q.relevant));
      scores.get('fused')!.ndcg.push(ndcgAt(fused, q.relevant));
    };
    for (let i = 0; i < queries.length; i += o.concurrency) await Promise.all(queries.slice(i, i + o.concurrency).map(score));

    // Latency: the web slower than every source's time; one search at a time.
    sim.configure({ latency: { tools: { web_search: { fixed: o.slowMs } } } });
    log(`latency: the web answers in ${o.slowMs} ms, every source has ${o.timeoutMs} ms; ${o.slowRuns} searches one after another`);
    for (let i = 0; i < o.slowRuns; i++) {
      const q = queries[i % queries.length]!;
      const { result, wallMs } = await search({
        query: q.query,
        sources: SEARCH_SOURCES.map((name) => ({ name, timeoutMs: o.timeoutMs })),
        topK: CUTOFF,
      });
      const web = result.sources.find((s) => s.source === 'web')!;
      slow.push({ wallMs, fusedMs: result.fusedMs, webStatus: web.status, webMs: (web.endedAt ?? 0) - (web.startedAt ?? 0) });
    }
  } finally {
    await bench.close();
  }

  const by = (pick: (s: { recall: number[]; ndcg: number[] }) => number[]) =>
    Object.fromEntries([...scores].map(([s, v]) => [s, round(mean(pick(v)))]));
  const out = {
    queries: queries.length,
    labelledPassages: queries.reduce((s, q) => s + Object.keys(q.relevant).length, 0),
    k: o.k,
    depth: DEFAULT_DEPTH,
    recallAt10: by((v) => v.recall),
    ndcgAt10: by((v) => v.ndcg),
    slowSourceTimedOut: slow.every((s) => s.webStatus === 'timed-out'),
    slowSourceTimeouts: slow.filter((s) => s.webStatus === 'timed-out').length,
    slowRuns: slow.length,
    makespanMs: Math.round(median(slow.map((s) => s.wallMs))),
    makespanMaxMs: Math.max(...slow.map((s) => s.wallMs)),
    fusedMs: Math.round(median(slow.map((s) => s.fusedMs))),
    perSourceTimeoutMs: o.timeoutMs,
    slowSourceLatencyMs: o.slowMs,
    allSourcesMakespanMs: Math.round(median(qualityWall)),
    missingInQualityRuns: qualityMissing,
  };
  if (o.plot) {
    const sources = [...SEARCH_SOURCES, 'fused'] as const;
    await writePlot(plotFile('search', o.plot), 'npm run bench -- search', [
      {
        title: `${out.queries} labelled queries: each source alone and fused by RRF (k=${o.k})`,
        yTitle: 'mean over the queries',
        bars: sources.flatMap((s) => [
          { group: s === 'fused' ? 'RRF of all four' : s, series: 'recall@10', value: out.recallAt10[s]! },
          { group: s === 'fused' ? 'RRF of all four' : s, series: 'nDCG@10', value: out.ndcgAt10[s]! },
        ]),
      },
      {
        title: `a search's makespan, median; with the web at ${o.slowMs} ms, each source gets ${o.timeoutMs} ms`,
        yTitle: 'ms',
        bars: [
          { group: 'all four answering', series: 'makespan', value: out.allSourcesMakespanMs },
          { group: 'web slower than its time', series: 'makespan', value: out.makespanMs },
          { group: 'per-source timeout', series: 'makespan', value: out.perSourceTimeoutMs },
        ],
      },
    ]);
  }
  if (o.json) {
    console.log(JSON.stringify(out));
    return;
  }
  const t = new Table({ head: ['', 'recall@10', 'nDCG@10'], style: tableStyle() });
  for (const s of [...SEARCH_SOURCES, 'fused'] as const)
    t.push([s === 'fused' ? `RRF of all four (k=${o.k})` : s, out.recallAt10[s]!.toFixed(3), out.ndcgAt10[s]!.toFixed(3)]);
  console.log(`${out.queries} queries, ${out.labelledPassages} labelled (query, passage) pairs; means over the queries`);
  console.log(t.toString());
  console.log(
    `all four answering: median ${out.allSourcesMakespanMs} ms a search (${out.missingInQualityRuns} source lists missing)\n` +
      `web at ${o.slowMs} ms, each source ${o.timeoutMs} ms: median ${out.makespanMs} ms a search (max ${out.makespanMaxMs} ms), ` +
      `web timed out in ${out.slowSourceTimeouts} of ${out.slowRuns}`,
  );
}
