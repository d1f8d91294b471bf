/**
 * `braid search`'s contract: a query — optionally split by the model into sub-queries — fanned out
 * to several sources at once, each within its own time, their ranked lists merged by Reciprocal
 * Rank Fusion, and optionally an answer from the fused top hits with citations. Input, result, the
 * progress query, the limits both the CLI and the workflow check, and the pure rules the workflow,
 * the CLI and the benchmark share: passage ids and the fusion itself. No Node APIs.
 */
import { defineQuery } from '@temporalio/workflow';
import { budgetSettingProblem, type BudgetReport, type RunBudgetSetting } from './budget';
import type { CostSummary, ModelPrice } from './pricing';
import { gist } from './content';
import type { RunLabels, TokenUsage, UsageSummary } from './types';

/** The workflow type: the name of the workflow function in src/workflows/search.ts (frozen). */
export const SEARCH_WORKFLOW = 'multiSourceSearch';

/** The sources every Braid worker offers (src/search/): what `braid search --sources` may name. */
export const SEARCH_SOURCES = ['handbook', 'database', 'tickets', 'web'] as const;
/** What a source's name may be (a worker's own sources too): letters, digits, '_' or '-', at most 40. */
export const SOURCE_NAME = /^[a-zA-Z0-9_-]{1,40}$/;
/** Sources the input names beyond the built-in ones: the workflow asks the worker whether it has them before searching. */
export const customSources = (input: Pick<SearchInput, 'sources'>): string[] =>
  input.sources.map((s) => s.name).filter((name) => !(SEARCH_SOURCES as readonly string[]).includes(name));

/** Reciprocal Rank Fusion's constant: a hit at rank r of a list adds 1 / (k + r). */
export const DEFAULT_RRF_K = 60;
export const RRF_K_BOUNDS = { min: 0, max: 1000 };
/** Fused hits the result keeps. */
export const DEFAULT_TOP_K = 10;
export const TOP_K_BOUNDS = { min: 1, max: 100 };
/**
 * Hits asked of each source for each query: the depth of the lists fusion reads. As deep as the
 * fused list kept: deeper lists let weak matches that many lists share outvote a strong one.
 */
export const DEFAULT_DEPTH = 10;
export const DEPTH_BOUNDS = { min: 1, max: 100 };
/** A source's time for its search, retries included, when the input does not say: the remote `web` has less. */
export const DEFAULT_SOURCE_TIMEOUT_MS = 5_000;
export const DEFAULT_SOURCE_TIMEOUTS: Readonly<Record<string, number>> = { web: 3_000 };
export const sourceTimeoutMs = (s: SearchSourceSpec): number => s.timeoutMs ?? DEFAULT_SOURCE_TIMEOUTS[s.name] ?? DEFAULT_SOURCE_TIMEOUT_MS;
export const SOURCE_TIMEOUT_BOUNDS = { min: 50, max: 10 * 60_000 };
/** Sub-queries the model may split a query into. */
export const DEFAULT_MAX_QUERIES = 4;
export const MAX_QUERIES_BOUNDS = { min: 2, max: 8 };
/** Fused hits the answer is written from. */
export const DEFAULT_ANSWER_TOP = 5;
export const ANSWER_TOP_BOUNDS = { min: 1, max: 20 };
export const MAX_QUERY_CHARS = 1_000;
export const MAX_SOURCES = 16;
/** The model that answers (`--answer`) and the one that splits a query: roles or model ids. */
export const DEFAULT_ANSWER_MODEL = 'capable';
export const DEFAULT_PLANNER_MODEL = 'fast';
export const ANSWER_MAX_TOKENS = 1_024;
export const PLANNER_MAX_TOKENS = 200;
/** Characters of a hit's passage the answer reads at most (the rest is cut). */
export const ANSWER_HIT_CHARS = 4_000;

/**
 * A passage's id names its source and its place there, the same in every run: `handbook:shipping#customs-duties-and-taxes`
 * (file and section heading), `database:orders/123` (table and row id), `tickets:ticket-042`, `web:page-017`.
 */
export const passageId = (source: string, key: string): string => `${source}:${key}`;

/** A heading as it appears in a handbook passage id: lower case, runs of other characters as one hyphen. */
export const headingSlug = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/** `shipping.md`, "Customs, duties and taxes" → `handbook:shipping#customs-duties-and-taxes`. */
export const handbookPassageId = (file: string, heading: string): string =>
  passageId('handbook', `${file.replace(/\.md$/, '')}#${headingSlug(heading)}`);

/** One passage a source found, as its ranked list carries it (best first). */
export interface SourceHit {
  /** `<source>:<key>` (see passageId). */
  id: string;
  title: string;
  /** A few hundred characters around what matched. */
  snippet: string;
  url?: string;
}

export interface SearchSourceSpec {
  name: string;
  /** This source's time for its search, retries included; later, it is reported missing. Default: sourceTimeoutMs. */
  timeoutMs?: number;
}

export interface SearchInput {
  query: string;
  /** Where to search, in the order ties are broken by (see reciprocalRankFusion). */
  sources: SearchSourceSpec[];
  /** Have the model split the query into sub-queries first; every source then searches each. */
  decompose?: boolean;
  /** At most this many sub-queries (with `decompose`); default DEFAULT_MAX_QUERIES. */
  maxQueries?: number;
  /** The model that splits the query; default DEFAULT_PLANNER_MODEL. */
  plannerModel?: string;
  /** RRF's k; default DEFAULT_RRF_K. */
  k?: number;
  /** Fused hits kept; default DEFAULT_TOP_K. */
  topK?: number;
  /** Hits asked of each source per query; default DEFAULT_DEPTH. */
  depth?: number;
  /** Answer from the fused top hits, citing them. */
  answer?: boolean;
  /** How many of the fused hits the answer reads; default DEFAULT_ANSWER_TOP. */
  answerTop?: number;
  /** The model that answers; default DEFAULT_ANSWER_MODEL. */
  answerModel?: string;
  /** Task queue for model calls; default the workflow's own. The CLI uses `<queue>-llm`. */
  llmTaskQueue?: string;
  /** USD per million tokens by model, for `cost`; default the list prices (src/shared/pricing.ts). */
  prices?: Record<string, ModelPrice>;
  /**
   * Most the run may spend on its model calls (the planner's, the answer's): each reserves its worst
   * case before it starts, and one that would pass the budget does not start — the query goes out
   * unsplit, or the hits stand without an answer — and the result says `budget-reached`.
   */
  budget?: RunBudgetSetting;
}

/** The run's static summary and details, for whoever starts it. */
export function searchLabels(input: SearchInput): RunLabels {
  const names = input.sources.map((x) => x.name).join(', ');
  return {
    summary: `search: "${gist(input.query, 80)}" in ${names}${input.answer ? ', answered' : ''}`,
    details: [
      `**Query:** ${gist(input.query, 500)}`,
      `**Sources:** ${input.sources.map((x) => `${x.name} (${sourceTimeoutMs(x)} ms)`).join(', ')} · **fusion:** RRF k=${input.k ?? DEFAULT_RRF_K}${input.decompose ? ' · split into sub-queries' : ''}${input.answer ? ' · cited answer' : ''}`,
    ].join('\n\n'),
  };
}

/** What became of a source's search: its lists count, or it is missing and why. */
export type SourceStatus = 'ok' | 'timed-out' | 'failed' | 'cancelled';

export interface SourceReport {
  source: string;
  status: SourceStatus;
  /** The time it had. */
  timeoutMs: number;
  /** Hits over all its lists (0 when missing). */
  hits: number;
  /** Workflow-clock times (epoch ms). */
  startedAt?: number;
  endedAt?: number;
  /** Why it is missing. */
  reason?: string;
}

/** One source's search, as the workflow asks the worker for it (the `searchSource` activity). */
export interface SourceSearch {
  source: string;
  /** Every query of the run; the source answers each with a list. */
  queries: string[];
  /** Hits per list, at most. */
  limit: number;
}

export interface SourceLists {
  source: string;
  /** One ranked list per query, in query order. */
  lists: SourceHit[][];
}

/** One list that ranked a fused hit: which source, for which query (index into `queries`), and at what rank (1 = first). */
export interface FusedRank {
  source: string;
  query: number;
  rank: number;
}

export interface FusedHit extends SourceHit {
  /** Its place in the fused list (1 = first). */
  rank: number;
  /** The source it came from (the id's prefix). */
  source: string;
  /** Σ 1 / (k + rank) over the lists that ranked it. */
  score: number;
  /** Every list that ranked it, in list order. */
  ranks: FusedRank[];
}

/** A ranked list as fusion reads it: a source's hits for one query, best first. */
export interface RankedList {
  source: string;
  query: number;
  hits: readonly SourceHit[];
}

/** One statement of an answer and the fused hits (their `rank`s) it cites; Braid checked every citation. */
export interface AnswerClaim {
  text: string;
  cites: number[];
}

export interface SearchAnswer {
  status: 'answered' | 'failed';
  /** The claims as prose, each followed by the ranks it cites: "… [1][3]". */
  text: string;
  claims: AnswerClaim[];
  /** The ranks of the hits it read. */
  read: number[];
  model?: string;
  usage?: TokenUsage;
  /** Citations the reply carried, and how many failed Braid's checks (and were dropped). */
  citations?: { returned: number; rejected: number };
  /** Why there is no answer. */
  reason?: string;
}

/** The model's split of the query (`decompose`): its sub-queries, or why the query went out alone. */
export interface QueryPlan {
  status: 'split' | 'failed';
  model: string;
  /** The model that answered. */
  answeredBy?: string;
  subQueries: string[];
  usage?: TokenUsage;
  reason?: string;
}

export interface SearchResult {
  query: string;
  /** What every source searched: the query, then any sub-queries the model split it into. */
  queries: string[];
  plan?: QueryPlan;
  k: number;
  hits: FusedHit[];
  sources: SourceReport[];
  /** Sources whose lists are missing (timed out, failed), in input order. */
  missing: string[];
  answer?: SearchAnswer;
  usage: UsageSummary;
  cost: CostSummary;
  /** Workflow-clock time from the start to the fused list, and to the end. */
  fusedMs: number;
  totalMs: number;
  simulated: boolean;
  /** `budget-reached` when a model call did not start because of the budget; the hits are kept. */
  status?: 'budget-reached';
  /** The budget and what was spent against it (runs with a budget only). */
  budget?: BudgetReport;
}

export type SearchPhase = 'planning' | 'searching' | 'answering' | 'done';

export interface SearchProgress {
  phase: SearchPhase;
  queries: string[];
  /** Every source so far: running ones have no `endedAt`. */
  sources: SourceReport[];
  /** The fused list of what has arrived so far (its best few). */
  top: FusedHit[];
}

export const searchProgressQuery = defineQuery<SearchProgress>('searchProgress');

const within = (n: number | undefined, b: { min: number; max: number }) =>
  n === undefined || (Number.isInteger(n) && n >= b.min && n <= b.max);

/** What is wrong with an input, in one line, or undefined: the CLI and the workflow check the same. */
export function searchProblem(input: SearchInput): string | undefined {
  const query = input.query?.trim() ?? '';
  if (!query) return 'the query is empty';
  if (query.length > MAX_QUERY_CHARS) return `the query is ${query.length} characters; the limit is ${MAX_QUERY_CHARS}`;
  if (!input.sources?.length) return 'no sources to search';
  if (input.sources.length > MAX_SOURCES) return `${input.sources.length} sources; at most ${MAX_SOURCES}`;
  const seen = new Set<string>();
  for (const s of input.sources) {
    if (!s.name?.trim()) return 'a source without a name';
    if (seen.has(s.name)) return `source ${s.name} is given twice`;
    seen.add(s.name);
    if (!within(s.timeoutMs, SOURCE_TIMEOUT_BOUNDS))
      return `source ${s.name}: timeout ${s.timeoutMs} ms is outside ${SOURCE_TIMEOUT_BOUNDS.min}-${SOURCE_TIMEOUT_BOUNDS.max} ms`;
  }
  if (!within(input.k, RRF_K_BOUNDS)) return `k = ${input.k}: RRF's k is a whole number from ${RRF_K_BOUNDS.min} to ${RRF_K_BOUNDS.max}`;
  if (!within(input.topK, TOP_K_BOUNDS)) return `top ${input.topK}: keep ${TOP_K_BOUNDS.min}-${TOP_K_BOUNDS.max} fused hits`;
  if (!within(input.depth, DEPTH_BOUNDS)) return `depth ${input.depth}: ask each source for ${DEPTH_BOUNDS.min}-${DEPTH_BOUNDS.max} hits`;
  if (!within(input.maxQueries, MAX_QUERIES_BOUNDS))
    return `${input.maxQueries} sub-queries: split into ${MAX_QUERIES_BOUNDS.min}-${MAX_QUERIES_BOUNDS.max}`;
  if (!within(input.answerTop, ANSWER_TOP_BOUNDS))
    return `the answer reads ${ANSWER_TOP_BOUNDS.min}-${ANSWER_TOP_BOUNDS.max} hits, not ${input.answerTop}`;
  if (input.budget) {
    const called = [
      ...(input.decompose ? [input.plannerModel ?? DEFAULT_PLANNER_MODEL] : []),
      ...(input.answer ? [input.answerModel ?? DEFAULT_ANSWER_MODEL] : []),
    ];
    if (called.length === 0) return 'a budget needs model calls to cover: --decompose or --answer';
    const problem = budgetSettingProblem(input.budget, input.prices, called);
    if (problem) return `budget: ${problem}`;
  }
  return undefined;
}

/** Scores closer than this are equal: sums of the same terms in another order may differ in the last bit. */
const SCORE_EPSILON = 1e-12;

/**
 * Reciprocal Rank Fusion (Cormack, Clarke & Büttcher, 2009): each hit scores Σ 1 / (k + rank) over
 * the lists that ranked it (rank 1 = first; a list naming a hit twice counts its first place), so a
 * passage several sources rank well rises, and no source's own scores — incomparable across
 * engines — are read. Ties, in order: the better best rank, then the earlier list that ranked it
 * (lists in source order, then query order), then the id. The same lists always give the same
 * order.
 */
export function reciprocalRankFusion(lists: readonly RankedList[], k = DEFAULT_RRF_K): FusedHit[] {
  const byId = new Map<string, { hit: SourceHit; source: string; score: number; ranks: FusedRank[]; best: number; firstList: number }>();
  lists.forEach((list, li) => {
    const seen = new Set<string>();
    list.hits.forEach((hit, i) => {
      if (seen.has(hit.id)) return;
      seen.add(hit.id);
      const rank = i + 1;
      const entry = byId.get(hit.id);
      if (entry) {
        entry.score += 1 / (k + rank);
        entry.ranks.push({ source: list.source, query: list.query, rank });
        entry.best = Math.min(entry.best, rank);
      } else
        byId.set(hit.id, {
          hit,
          source: list.source,
          score: 1 / (k + rank),
          ranks: [{ source: list.source, query: list.query, rank }],
          best: rank,
          firstList: li,
        });
    });
  });
  const sorted = [...byId.values()].sort(
    (a, b) =>
      (Math.abs(a.score - b.score) > SCORE_EPSILON ? b.score - a.score : 0) ||
      a.best - b.best ||
      a.firstList - b.firstList ||
      (a.hit.id < b.hit.id ? -1 : a.hit.id > b.hit.id ? 1 : 0),
  );
  return sorted.map((e, i) => ({ ...e.hit, rank: i + 1, source: e.source, score: e.score, ranks: e.ranks }));
}
