/**
 * `braid search`: one query searched in every source at once (the handbook, the sample database,
 * the ticket archive, the web), each within its own time, and the ranked lists merged by
 * Reciprocal Rank Fusion; optionally split into sub-queries by the model first (`--decompose`) and
 * answered from the fused top hits with citations (`--answer`). Every input is checked here first —
 * the sources and their times, k, the depths, the models — so a bad one is one line and exit code 2
 * before anything starts. Shows each source's state live, then the fused hits with the lists that
 * ranked each, the sources that are missing and why, and the answer; `--json` prints one object.
 */
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { Command, InvalidArgumentError, Option } from 'commander';
import Table from 'cli-table3';
import pc from 'picocolors';
import { config } from '../config';
import { formatUsd } from '../shared/pricing';
import {
  ANSWER_TOP_BOUNDS,
  DEFAULT_ANSWER_MODEL,
  DEFAULT_ANSWER_TOP,
  DEFAULT_DEPTH,
  DEFAULT_MAX_QUERIES,
  DEFAULT_PLANNER_MODEL,
  DEFAULT_RRF_K,
  DEFAULT_SOURCE_TIMEOUT_MS,
  DEFAULT_SOURCE_TIMEOUTS,
  DEFAULT_TOP_K,
  DEPTH_BOUNDS,
  MAX_QUERIES_BOUNDS,
  RRF_K_BOUNDS,
  SEARCH_SOURCES,
  SEARCH_WORKFLOW,
  SOURCE_NAME,
  searchLabels,
  searchProblem,
  searchProgressQuery,
  TOP_K_BOUNDS,
  type SearchInput,
  type SearchProgress,
  type SearchResult,
  type SearchSourceSpec,
  type SourceReport,
} from '../shared/search';
import { llmTaskQueue } from '../shared/task-queues';
import { webUiLink } from '../temporal/connection';
import type { multiSourceSearch } from '../workflows';
import { checkModel } from './ensemble';
import { budgetSetting } from './budget';
import { BUDGET_REACHED_EXIT, UsageError } from './errors';
import { duration, intWithin, range, usd } from './options';
import { budgetText, LiveBlock, ms, tableStyle } from './render';
import { announceRun, followRun, newRunId, startRun, withSession, workerFor } from './session';

interface SearchCliOptions {
  sources: string[];
  timeout?: number;
  decompose?: boolean;
  maxQueries?: number;
  plannerModel: string;
  k: number;
  top: number;
  depth: number;
  answer?: boolean;
  answerTop: number;
  answerModel: string;
  budget?: number;
  id?: string;
  json?: boolean;
  withWorker?: boolean;
}

/** `--sources handbook,web=1500ms`: names, each with an optional time of its own. */
function sourceList(value: string): string[] {
  const parts = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new InvalidArgumentError(`expected source names, e.g. ${SEARCH_SOURCES.join(',')}`);
  return parts;
}

/**
 * The sources from the command line: names, each time a duration within bounds; UsageError otherwise.
 * A name that is not built in may be a source the worker registers: the run asks the worker first
 * and fails with InvalidInput if it has none of that name (reported as a usage error).
 */
export function sourceSpecs(parts: string[], timeoutMs: number | undefined): SearchSourceSpec[] {
  return parts.map((part) => {
    const m = /^([^=\s]+)(?:=(.+))?$/.exec(part);
    const name = m?.[1] ?? part;
    if (!SOURCE_NAME.test(name))
      throw new UsageError(
        `"${name}" is not a source name (letters, digits, _ and -): use one of ${SEARCH_SOURCES.join(', ')} or a source the worker registers`,
      );
    if (m?.[2] === undefined) return { name, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
    let own: number;
    try {
      own = duration(m[2]);
    } catch (err) {
      throw new UsageError(`source ${name}: time "${m[2]}": ${(err as Error).message}`);
    }
    return { name, timeoutMs: own };
  });
}

/** The workflow input from the command line, every part checked; UsageError otherwise. */
export function searchInput(words: string[], o: SearchCliOptions): SearchInput {
  const query = words.join(' ').trim();
  if (!query) throw new UsageError('nothing to search for: braid search "<query>"');
  if (o.maxQueries !== undefined && !o.decompose) throw new UsageError('--max-queries needs --decompose');
  const sources = sourceSpecs(o.sources, o.timeout);
  if (o.decompose) checkModel(o.plannerModel, 'the planner');
  if (o.answer) checkModel(o.answerModel, 'the answer');
  const input: SearchInput = {
    query,
    sources,
    k: o.k,
    topK: o.top,
    depth: o.depth,
    ...(o.decompose ? { decompose: true, maxQueries: o.maxQueries ?? DEFAULT_MAX_QUERIES, plannerModel: o.plannerModel } : {}),
    ...(o.answer ? { answer: true, answerTop: o.answerTop, answerModel: o.answerModel } : {}),
    prices: { ...config().prices },
  };
  if (o.budget !== undefined) {
    if (!o.decompose && !o.answer)
      throw new UsageError('--budget covers the model calls of --decompose and --answer; this search makes none');
    const budget = budgetSetting(o.budget, undefined, [...(o.decompose ? [o.plannerModel] : []), ...(o.answer ? [o.answerModel] : [])]);
    if (budget) input.budget = budget;
  }
  const problem = searchProblem(input);
  if (problem) throw new UsageError(problem);
  return input;
}

const mark: Record<SourceReport['status'], string> = {
  ok: pc.green('✓'),
  'timed-out': pc.yellow('⏱'),
  failed: pc.red('✗'),
  cancelled: pc.dim('–'),
};

const short = (s: string, n: number) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
};

function liveLines(p: SearchProgress): string[] {
  const parts = p.sources.map((r) =>
    r.endedAt === undefined ? `${pc.cyan('…')} ${r.source}` : `${mark[r.status]} ${r.source}${r.status === 'ok' ? ` ${r.hits}` : ''}`,
  );
  return [`${pc.bold(p.phase)}  ${parts.join('  ')}`];
}

function sourcesLine(r: SearchResult): string {
  return r.sources
    .map((s) => {
      const time = s.startedAt !== undefined && s.endedAt !== undefined ? ` ${ms(s.endedAt - s.startedAt)}` : '';
      return s.status === 'ok' ? `${mark.ok} ${s.source} ${s.hits} hits${time}` : `${mark[s.status]} ${s.source} ${s.status}${time}`;
    })
    .join(' · ');
}

function hitsTable(r: SearchResult): string {
  const t = new Table({ head: ['#', 'passage', 'title', 'ranked by', 'score'], style: tableStyle() });
  const many = r.queries.length > 1;
  for (const h of r.hits)
    t.push([
      h.rank,
      h.id,
      short(h.title, 50),
      h.ranks.map((x) => `${x.source}${many ? `/q${x.query}` : ''} #${x.rank}`).join(', '),
      h.score.toFixed(4),
    ]);
  return t.toString();
}

export function printSearch(r: SearchResult, webUi: string | undefined): void {
  if (r.simulated) console.log(pc.yellow("simulated models (no ANTHROPIC_API_KEY set; answers come from Braid's simulator, not Claude)"));
  if (r.plan) {
    if (r.plan.status === 'split') console.log(`${pc.dim('queries')} ${r.queries.map((q, i) => `q${i} "${short(q, 60)}"`).join(', ')}`);
    else console.log(pc.yellow(`the query was not split (${short(r.plan.reason ?? '', 100)}); it went out alone`));
  }
  console.log(`\n${sourcesLine(r)}`);
  for (const s of r.sources.filter((x) => x.status !== 'ok'))
    console.log(pc.yellow(`  missing ${s.source}: ${short(s.reason ?? s.status, 120)}`));
  if (r.hits.length) console.log(hitsTable(r));
  else console.log(pc.red('No hits: no source that answered found anything.'));
  if (r.answer) {
    if (r.answer.status === 'answered' && r.answer.claims.length) console.log(`\n${pc.bold('Answer')} ${r.answer.text}`);
    else console.log(pc.red(`\nNo answer: ${r.answer.reason ?? 'the model found none'}`));
    if (r.answer.citations?.rejected)
      console.log(pc.yellow(`  ${r.answer.citations.rejected} citation(s) failed Braid's checks and were dropped`));
  }
  const byModel = Object.entries(r.cost.byModel)
    .map(([m, c]) => `${m} ${formatUsd(c.usd)}`)
    .join(', ');
  console.log(
    pc.dim(
      `RRF k=${r.k} · fused at ${ms(r.fusedMs)} · total ${ms(r.totalMs)}` +
        (r.usage.total.inputTokens + r.usage.total.outputTokens > 0
          ? ` · cost ${formatUsd(r.cost.totalUsd)}${byModel ? ` (${byModel})` : ''} · tokens ${r.usage.total.inputTokens} in / ${r.usage.total.outputTokens} out`
          : ''),
    ),
  );
  if (r.budget && r.status === 'budget-reached') console.log(pc.yellow(`${budgetText(r.budget)}; the hits are kept.`));
  if (webUi) console.log(`${pc.dim('Web UI:')} ${webUi}`);
}

/**
 * A run the workflow refused as bad input (a source the worker does not have) is a usage error, exit 2;
 * anything else as it was. The result is read again only once the run is known to have failed, so a
 * lost connection does not wait for a run that goes on.
 */
async function usageFailure(handle: WorkflowHandle, err: unknown): Promise<never> {
  const failed = await handle.describe().then(
    (d) => d.status.name === 'FAILED',
    () => false,
  );
  if (!failed) throw err;
  const failure = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  const cause = failure instanceof WorkflowFailedError ? failure.cause : undefined;
  if (cause instanceof ApplicationFailure && cause.type === 'InvalidInput')
    throw new UsageError(`${cause.message} (run ${handle.workflowId})`);
  throw err;
}

const TIMEOUTS_HINT = `${DEFAULT_SOURCE_TIMEOUT_MS / 1000}s each, ${Object.entries(DEFAULT_SOURCE_TIMEOUTS)
  .map(([s, t]) => `${s} ${t / 1000}s`)
  .join(', ')}`;

export function searchCommand(): Command {
  return new Command('search')
    .description('search several sources at once, each within its own time, and fuse their ranked lists (Reciprocal Rank Fusion)')
    .argument('[query...]', 'what to search for (quote it)')
    .addOption(
      new Option(
        '--sources <name[=time],...>',
        `where to search, in the order ties are broken by; a time of its own after = (${SEARCH_SOURCES.join(', ')}, or a source the worker registers)`,
      )
        .argParser(sourceList)
        .default([...SEARCH_SOURCES], SEARCH_SOURCES.join(',')),
    )
    .option('--timeout <duration>', `every source's time, retries included, unless it names its own (default: ${TIMEOUTS_HINT})`, duration)
    .option('--decompose', 'have the model split the query into sub-queries first; every source searches each')
    .option(
      '--max-queries <n>',
      `sub-queries at most, with --decompose (${range(MAX_QUERIES_BOUNDS)}, default ${DEFAULT_MAX_QUERIES})`,
      intWithin(MAX_QUERIES_BOUNDS),
    )
    .option('--planner-model <model>', 'the model that splits the query', DEFAULT_PLANNER_MODEL)
    .option(
      '-k, --k <n>',
      `RRF's constant: a hit at rank r adds 1/(k + r) (${range(RRF_K_BOUNDS)})`,
      intWithin(RRF_K_BOUNDS),
      DEFAULT_RRF_K,
    )
    .option('--top <n>', `fused hits to keep (${range(TOP_K_BOUNDS)})`, intWithin(TOP_K_BOUNDS), DEFAULT_TOP_K)
    .option('--depth <n>', `hits asked of each source per query (${range(DEPTH_BOUNDS)})`, intWithin(DEPTH_BOUNDS), DEFAULT_DEPTH)
    .option('--answer', 'have the capable model answer from the fused top hits, citing them')
    .option(
      '--answer-top <n>',
      `fused hits the answer reads (${range(ANSWER_TOP_BOUNDS)})`,
      intWithin(ANSWER_TOP_BOUNDS),
      DEFAULT_ANSWER_TOP,
    )
    .option('--answer-model <model>', 'the model that answers', DEFAULT_ANSWER_MODEL)
    .option(
      '--budget <usd>',
      "most the run may spend, in US dollars: the planner's or the answer's call whose worst case would pass it does not start (exit code 3 when reached)",
      usd,
    )
    .option('--id <workflowId>', 'workflow id for the run (default: generated)')
    .option('--json', 'print one JSON object: the fused hits with their ranks, every source, the answer, usage and cost')
    .option('--with-worker', 'run a worker inside this command')
    .addHelpText(
      'after',
      '\nA source that does not answer within its time is reported missing and not waited for; the others are fused.\n' +
        'Ties of the fused score go to the better best rank, then the earlier source in --sources, then the passage id.\n' +
        'Exit code 1 when no source answered; 3 when the budget stopped a model call (the hits are kept).',
    )
    .action(async (words: string[], o: SearchCliOptions) => {
      const input = searchInput(words, o);
      await withSession(workerFor(o.withWorker), async (s) => {
        input.llmTaskQueue = llmTaskQueue(s.taskQueue);
        const names = input.sources.map((x) => x.name).join(', ');
        const handle = await startRun<typeof multiSourceSearch>(s, SEARCH_WORKFLOW, {
          workflowId: o.id ?? newRunId('search'),
          args: [input],
          kind: 'search',
          status: input.decompose ? 'planning' : 'searching',
          labels: searchLabels(input),
        });
        const webUi = webUiLink(handle.workflowId, handle.firstExecutionRunId, s.target);
        if (!o.json) announceRun(handle.workflowId, webUi, `${names} · RRF k=${input.k}${input.answer ? ' · answer' : ''}`);
        const live = o.json ? undefined : new LiveBlock();
        const result: SearchResult = await followRun(handle, {
          tick: live ? async () => live.update(liveLines(await handle.query(searchProgressQuery))) : undefined,
          everyMs: 200,
          stop: () => live?.clear(),
          detachHint: `the search goes on in Temporal: ${handle.workflowId}`,
        }).catch((err: unknown) => usageFailure(handle, err));
        if (o.json) console.log(JSON.stringify({ workflowId: handle.workflowId, ...(webUi ? { webUi } : {}), ...result }));
        else printSearch(result, webUi);
        if (result.missing.length === result.sources.length) process.exitCode = 1;
        else if (result.status === 'budget-reached') process.exitCode = BUDGET_REACHED_EXIT;
      });
    });
}
