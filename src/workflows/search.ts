/**
 * Pattern: multi-source search with rank fusion (`braid search`) — a query, optionally split by the
 * model into sub-queries, goes to every source at once; each source ranks passages for every query
 * within its own time; the lists that arrived are merged by Reciprocal Rank Fusion; optionally the
 * capable model answers from the fused top hits, citing them.
 *
 * The sources are a quorum fan-in (quorum.ts) that collects every branch: one activity per source
 * (`source:<name>`), whose schedule-to-close timeout is that source's time, retries included. A
 * slow source therefore never holds the fast ones' results back beyond its own time, and one that
 * runs out of it is reported missing (`timed-out`) — the server ends its activity, the worker drops
 * its request — and is not waited for. Every list is an activity result in history, so the fused
 * order (ranks only, ties by a fixed rule) is the same on replay; the sources' activity ids name
 * them, so replaying a recorded search against code that asks other sources, or in another order,
 * fails instead of silently fusing other lists.
 */
import { ApplicationFailure, isCancellation, patched, proxyActivities, setHandler, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ANSWER_SYSTEM, plannerMessages, plannerSystem, readQueries } from '../prompts/search';
import { BUDGET_REACHED, inputBound, worstCaseUsd } from '../shared/budget';
import { textOf } from '../shared/content';
import { failureMessage } from '../shared/failures';
import { addCall, addEstimated, emptyCost } from '../shared/pricing';
import {
  ANSWER_HIT_CHARS,
  ANSWER_MAX_TOKENS,
  DEFAULT_ANSWER_MODEL,
  DEFAULT_ANSWER_TOP,
  DEFAULT_DEPTH,
  DEFAULT_MAX_QUERIES,
  DEFAULT_PLANNER_MODEL,
  DEFAULT_RRF_K,
  DEFAULT_TOP_K,
  customSources,
  PLANNER_MAX_TOKENS,
  reciprocalRankFusion,
  searchProblem,
  searchProgressQuery,
  sourceTimeoutMs,
  type FusedHit,
  type QueryPlan,
  type RankedList,
  type SearchAnswer,
  type SearchInput,
  type SearchProgress,
  type SearchResult,
  type SourceLists,
  type SourceReport,
  type SourceStatus,
} from '../shared/search';
import type { TokenUsage } from '../shared/types';
import { RUN_STATUS } from '../shared/search-attributes';
import { addModelUsage, noUsageSummary, spendOfFailure, type PartialSpend } from '../shared/usage';
import { labelled, modelCall, toolCall, workerLookup } from './profiles';
import { outcomeOf, quorum, type QuorumBranchReport, type QuorumStatus } from './quorum';
import { budgeted, budgetModel, RunBudget } from './budget';
import { RunStatus } from './status';

/** A source's status from its branch's: a refused result counts as a failure. */
function sourceStatus(status: QuorumStatus): SourceStatus {
  const outcome = outcomeOf(status);
  return outcome === 'accepted' ? 'ok' : outcome === 'invalid' ? 'failed' : outcome;
}

/** Fused hits the progress query shows while sources are still arriving. */
const PROGRESS_TOP = 5;

const gist = (s: string, n = 60) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
};

/** A model call of the search (the planner, the answer), on the model-call queue, named in history and in the Web UI. */
function modelCallOptions(input: SearchInput, activityId: string, summary: string): ActivityOptions {
  const options = {
    ...modelCall,
    ...(input.llmTaskQueue ? { taskQueue: input.llmTaskQueue } : {}),
    activityId,
    summary: summary.slice(0, 120),
  };
  return input.budget ? budgeted(options) : options;
}

/** A call's worst case in dollars: `inputChars` of input (a token is at least a character) and all of `maxTokens` out. */
function worstUsd(input: SearchInput, model: string, inputChars: number, maxTokens: number): number {
  return worstCaseUsd(budgetModel(model, input.budget!.models), inputChars, maxTokens, input.prices)!;
}

/** Runs a model call under the run's budget when it has one (reserving `worst()` first), else as it is. */
function underBudget<T extends { model?: string }>(
  money: RunBudget | undefined,
  worst: () => number,
  send: (maxUsd?: number) => Promise<T>,
): Promise<T> {
  return money ? money.call(worst(), send) : send();
}

/** The lists of the sources that answered, in source order, then query order: the order fusion's ties follow. */
function listsOf(input: SearchInput, answered: Map<string, SourceLists>): RankedList[] {
  return input.sources.flatMap((s) => (answered.get(s.name)?.lists ?? []).map((hits, query) => ({ source: s.name, query, hits })));
}

/** Sets BraidStatus to a phase word (for runs started with it) and the current details. */
type StatusKeeper = (word: string, details: string) => void;

/**
 * A source that is not built in (a worker's own, `defineSource`) must be one the worker offers: it is
 * asked first, and a name it does not know fails the run before any source is searched (InvalidInput,
 * which the CLI reports as a usage error). Runs naming only built-in sources ask nothing, as before;
 * runs started before this check was patched in search as they began.
 */
async function checkSources(input: SearchInput): Promise<void> {
  const custom = customSources(input);
  if (custom.length === 0 || !patched('search-source-names')) return;
  const offered = await proxyActivities<Activities>(labelled(workerLookup, "list the worker's search sources")).listSources();
  const unknown = custom.filter((name) => !offered.includes(name));
  if (unknown.length)
    throw ApplicationFailure.nonRetryable(
      `unknown source ${unknown.map((n) => `"${n}"`).join(', ')}: the worker offers ${offered.join(', ') || 'none'}`,
      'InvalidInput',
    );
}

export async function multiSourceSearch(input: SearchInput): Promise<SearchResult> {
  const run = new RunStatus();
  return run.around(() => search(input, (word, details) => run.set(word, details)));
}

async function search(input: SearchInput, status: StatusKeeper): Promise<SearchResult> {
  const problem = searchProblem(input);
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidInput');
  await checkSources(input);
  const t0 = Date.now();
  const query = input.query.trim();
  const k = input.k ?? DEFAULT_RRF_K;
  const money = input.budget && new RunBudget(input.budget.usd, input.budget.inFlight, input.prices);
  const usage = noUsageSummary();
  const cost = emptyCost();
  let simulated = false;
  const charge = (model: string, u: TokenUsage, sim: boolean) => {
    simulated ||= sim;
    addModelUsage(usage, model, u);
    addCall(cost, model, u, { table: input.prices });
  };
  // What attempts that failed streamed before they did: charged as estimated.
  const chargeLost = (lost: readonly PartialSpend[] | undefined) => void addEstimated(cost, lost, input.prices);
  const reports: SourceReport[] = input.sources.map((s) => ({
    source: s.name,
    status: 'cancelled',
    timeoutMs: sourceTimeoutMs(s),
    hits: 0,
  }));
  const progress: SearchProgress = { phase: 'planning', queries: [query], sources: reports, top: [] };
  setHandler(
    searchProgressQuery,
    () => ({ ...progress, queries: [...progress.queries], sources: progress.sources.map((r) => ({ ...r })), top: [...progress.top] }),
    { description: 'The queries, each source’s status and hits so far, and the best fused hits of what has arrived.' },
  );

  let plan: QueryPlan | undefined;
  if (input.decompose) {
    const model = input.plannerModel ?? DEFAULT_PLANNER_MODEL;
    const max = input.maxQueries ?? DEFAULT_MAX_QUERIES;
    status('planning', `**Planning**: ${model} splits "${gist(query)}" into at most ${max} search queries.`);
    const llm = proxyActivities<Activities>(modelCallOptions(input, 'planner', `planner: ${model} splits the query`));
    const system = plannerSystem(max);
    const messages = plannerMessages(query);
    try {
      const res = await underBudget(
        money,
        () => worstUsd(input, model, inputBound([system, JSON.stringify(messages)]), PLANNER_MAX_TOKENS),
        (maxUsd) =>
          llm.llmTurn({
            role: 'fast',
            model,
            system,
            messages,
            maxTokens: PLANNER_MAX_TOKENS,
            ...(maxUsd !== undefined ? { maxUsd } : {}),
          }),
      );
      charge(res.model, res.usage, res.simulated);
      chargeLost(res.retriedSpend);
      const subQueries = readQueries(textOf(res.content), max).filter((q) => q.toLowerCase() !== query.toLowerCase());
      plan = { status: 'split', model, answeredBy: res.model, subQueries, usage: res.usage };
    } catch (err) {
      chargeLost(spendOfFailure(err));
      if (isCancellation(err)) throw err;
      // The query alone still searches every source.
      plan = { status: 'failed', model, subQueries: [], reason: failureMessage(err) };
    }
  }
  const queries = [query, ...(plan?.subQueries ?? [])];
  progress.queries = queries;
  progress.phase = 'searching';

  const answered = new Map<string, SourceLists>();
  const depth = input.depth ?? DEFAULT_DEPTH;
  const line = () =>
    reports
      .map((r) => (r.endedAt === undefined ? `${r.source} …` : r.status === 'ok' ? `${r.source} ✓ ${r.hits}` : `${r.source} ${r.status}`))
      .join(' · ');
  const toReport = (r: QuorumBranchReport<SourceLists>): SourceReport => {
    const base = reports[r.index]!;
    const status = sourceStatus(r.status);
    return {
      source: base.source,
      status,
      timeoutMs: base.timeoutMs,
      hits: r.value ? r.value.lists.reduce((n, l) => n + l.length, 0) : 0,
      ...(r.startedAt !== undefined ? { startedAt: r.startedAt } : {}),
      ...(r.endedAt !== undefined ? { endedAt: r.endedAt } : {}),
      ...(status === 'timed-out'
        ? { reason: `no answer within ${base.timeoutMs} ms` }
        : status === 'cancelled'
          ? { reason: r.reason ?? 'stopped' }
          : r.reason
            ? { reason: r.reason }
            : {}),
    };
  };
  status(
    'searching',
    `**Searching** ${input.sources.length} sources for ${queries.length} quer${queries.length === 1 ? 'y' : 'ies'}: ${line()}.`,
  );
  const q = await quorum(
    input.sources.map((s, i) => async () => {
      const timeoutMs = reports[i]!.timeoutMs;
      const act = proxyActivities<Activities>({
        ...toolCall(timeoutMs, `source ${s.name}: "${gist(queries.join(' | '), 80)}" (${timeoutMs} ms)`),
        activityId: `source:${s.name}`,
      });
      return act.searchSource({ source: s.name, queries, limit: depth });
    }),
    {
      k: 1,
      collect: 'all',
      onSettle: (r) => {
        reports[r.index] = toReport(r);
        if (r.value && r.status === 'counted') {
          answered.set(r.value.source, r.value);
          progress.top = reciprocalRankFusion(listsOf(input, answered), k).slice(0, PROGRESS_TOP);
        }
        status('searching', `**Searching**: ${line()}.`);
      },
    },
  );
  for (const r of q.branches) reports[r.index] = toReport(r);
  const fused = reciprocalRankFusion(listsOf(input, answered), k);
  const hits = fused.slice(0, input.topK ?? DEFAULT_TOP_K);
  const fusedMs = Date.now() - t0;
  const missing = reports.filter((r) => r.status !== 'ok').map((r) => r.source);
  progress.top = hits.slice(0, PROGRESS_TOP);

  let answer: SearchAnswer | undefined;
  if (input.answer) {
    progress.phase = 'answering';
    answer = await answerFrom(input, query, hits, status, charge, chargeLost, money);
  }
  progress.phase = 'done';
  status(
    money?.reached ? BUDGET_REACHED : RUN_STATUS.done,
    `**Done**: ${hits.length} fused hits from ${reports.length - missing.length} of ${reports.length} sources` +
      `${missing.length ? ` (missing: ${missing.join(', ')})` : ''}${answer ? `; answer ${answer.status}` : ''}.`,
  );
  return {
    query,
    queries,
    ...(plan ? { plan } : {}),
    k,
    hits,
    sources: reports,
    missing,
    ...(answer ? { answer } : {}),
    usage,
    cost,
    fusedMs,
    totalMs: Date.now() - t0,
    simulated,
    ...(money?.reached ? { status: BUDGET_REACHED } : {}),
    ...(money ? { budget: money.report() } : {}),
  };
}

/** The capable model's answer from the fused top hits; a failure is reported in the answer, the hits stand. */
async function answerFrom(
  input: SearchInput,
  query: string,
  hits: FusedHit[],
  status: StatusKeeper,
  charge: (model: string, u: TokenUsage, sim: boolean) => void,
  chargeLost: (lost: readonly PartialSpend[] | undefined) => void,
  money: RunBudget | undefined,
): Promise<SearchAnswer> {
  const top = hits.slice(0, input.answerTop ?? DEFAULT_ANSWER_TOP);
  const read = top.map((h) => h.rank);
  if (top.length === 0) return { status: 'failed', text: '', claims: [], read, reason: 'no source found anything to answer from' };
  const model = input.answerModel ?? DEFAULT_ANSWER_MODEL;
  status('answering', `**Answering**: ${model} reads the top ${top.length} hits.`);
  const act = proxyActivities<Activities>(modelCallOptions(input, 'answer', `answer: ${model} reads the top ${top.length} hits`));
  try {
    const request = { question: query, model, hits: top.map((h) => ({ rank: h.rank, id: h.id, title: h.title, snippet: h.snippet })) };
    // Each hit is read as at most ANSWER_HIT_CHARS of its passage plus its title and rank.
    const worst = () =>
      worstUsd(
        input,
        model,
        inputBound([ANSWER_SYSTEM, query, ...top.map((h) => h.title)], 200 + top.length * (ANSWER_HIT_CHARS + 50)),
        ANSWER_MAX_TOKENS,
      );
    const res = await underBudget(money, worst, (maxUsd) => act.answerSearch({ ...request, ...(maxUsd !== undefined ? { maxUsd } : {}) }));
    charge(res.model, res.usage, res.simulated);
    chargeLost(res.retriedSpend);
    return {
      status: 'answered',
      text: res.text,
      claims: res.claims,
      read,
      model: res.model,
      usage: res.usage,
      citations: res.citations,
      ...(res.claims.length === 0 ? { reason: 'the reply cited none of the hits' } : {}),
    };
  } catch (err) {
    chargeLost(spendOfFailure(err));
    if (isCancellation(err)) throw err;
    return {
      status: 'failed',
      text: '',
      claims: [],
      read,
      reason: failureMessage(err),
    };
  }
}
