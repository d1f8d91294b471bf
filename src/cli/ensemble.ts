/**
 * `braid ensemble`: one prompt, or a batch of items (`--items`), answered by several models at once
 * and decided by a majority vote over `--labels` or by a cheap judge. Every input is checked here
 * first — the models (a role, or a model Braid has a price for), the labels, the items file, the
 * quorum, the fallback routes — so a bad one is one line and exit code 2 before anything starts.
 * Shows the members' votes (one prompt) or the items done (a batch) live, then the answer with each
 * member's vote, or for a batch the accuracy of each member, the vote and the judge when the items
 * carry labels; `--json` prints the whole result as one object.
 */
import fs from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import Table from 'cli-table3';
import pc from 'picocolors';
import { config } from '../config';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_JUDGE,
  DEFAULT_MEMBER_TIMEOUT_MS,
  DEFAULT_MEMBERS,
  ENSEMBLE_WORKFLOW,
  ensembleLabels,
  ensembleProblem,
  ensembleProgressQuery,
  majorityOf,
  MAX_CONCURRENCY,
  MAX_CONTEXT_CHARS,
  MAX_ITEMS,
  MAX_MEMBERS,
  type Aggregate,
  type EnsembleInput,
  type EnsembleItem,
  type EnsembleProgress,
  type EnsembleResult,
  type ItemOutcome,
  type MemberVote,
} from '../shared/ensemble';
import { formatUsd, priceOf, usdFor, type CostSummary } from '../shared/pricing';
import type { TokenUsage } from '../shared/types';
import { sumUsage } from '../shared/usage';
import { llmTaskQueue } from '../shared/task-queues';
import { webUiLink } from '../temporal/connection';
import type { modelEnsemble } from '../workflows';
import { BUDGET_REACHED, type InFlightPolicy } from '../shared/budget';
import { budgetSetting } from './budget';
import { BUDGET_REACHED_EXIT, UsageError } from './errors';
import { checkInputFile } from './input-file';
import { duration, inFlightPolicy, intIn, list, usd } from './options';
import { budgetText, LiveBlock, ms, parallelismText, tableStyle } from './render';
import { announceRun, followRun, newRunId, startRun, withSession, workerFor } from './session';

/** An items file: at most this many bytes. */
export const MAX_ITEMS_FILE_BYTES = 4 * 1024 * 1024;

const ROLES = ['fast', 'capable'];

/** A model a member, the judge or a fallback may name: a role, or a model with a price (so its cost can be stated). */
export function checkModel(name: string, what: string): string {
  if (ROLES.includes(name) || priceOf(name, config().prices)) return name;
  const known = [...ROLES, ...Object.keys(config().prices)].join(', ');
  throw new UsageError(`unknown model "${name}" (${what}): use one of ${known}, or give its price in BRAID_MODEL_PRICES`);
}

/**
 * An items file: JSON Lines of {"id"?, "text", "label"?} (.jsonl, .json), else one item's text per
 * line (blank lines and # comments skipped). Every problem names the file and line.
 */
export function readItemsFile(file: string): EnsembleItem[] {
  checkInputFile(file, 'items file', MAX_ITEMS_FILE_BYTES);
  const text = fs.readFileSync(file, 'utf8');
  if (text.includes('\u0000')) throw new UsageError(`items file ${file} is not a text file`);
  const json = /\.jsonl?$/i.test(file);
  const items: EnsembleItem[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || (!json && line.startsWith('#'))) continue;
    const at = `items file ${file} line ${i + 1}`;
    if (!json) {
      items.push({ id: `line-${i + 1}`, text: line });
      continue;
    }
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new UsageError(`${at}: not valid JSON; each line is one {"id", "text", "label"} object`);
    }
    const o = v as { id?: unknown; text?: unknown; label?: unknown };
    if (typeof v !== 'object' || v === null || typeof o.text !== 'string')
      throw new UsageError(`${at}: expected {"text": "…"} with an optional id and label`);
    if (o.id !== undefined && typeof o.id !== 'string') throw new UsageError(`${at}: "id" must be a string`);
    if (o.label !== undefined && typeof o.label !== 'string') throw new UsageError(`${at}: "label" must be a string`);
    items.push({ id: o.id ?? `line-${i + 1}`, text: o.text, ...(o.label !== undefined ? { expected: o.label } : {}) });
  }
  if (items.length === 0) throw new UsageError(`items file ${file} has no items`);
  return items;
}

/** `--fallback claude-opus-4-6=claude-opus-4-7`: a member's model and where its calls may go. */
function fallbackPair(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const m = /^([^=\s]+)=([^=\s]+)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected <member model>=<fallback model>, e.g. claude-opus-4-6=claude-opus-4-7');
  return { ...previous, [m[1]!]: m[2]! };
}

interface EnsembleCliOptions {
  labels?: string[];
  items?: string;
  models: string[];
  aggregate?: Aggregate;
  judge: string;
  quorum?: number;
  memberTimeout: number;
  judgeTimeout?: number;
  concurrency: number;
  fallback?: Record<string, string>;
  context?: string;
  id?: string;
  json?: boolean;
  withWorker?: boolean;
  budget?: number;
  onBudget?: InFlightPolicy;
}

/** The workflow input from the command line, every part checked; UsageError otherwise. */
export function ensembleInput(words: string[], o: EnsembleCliOptions): EnsembleInput {
  const prompt = words.join(' ').trim();
  if (prompt && o.items) throw new UsageError('give a prompt or --items, not both');
  if (!prompt && !o.items) throw new UsageError('nothing to ask: braid ensemble "<prompt>" --labels a,b,c, or --items <file>');
  const items = o.items ? readItemsFile(o.items) : undefined;
  // A labelled items file brings its label set along.
  const fromItems = items?.every((i) => i.expected !== undefined) ? [...new Set(items.map((i) => i.expected!))] : undefined;
  const labels = o.labels ?? fromItems;
  if (o.labels !== undefined && o.labels.length === 0)
    throw new UsageError('--labels is empty: give at least 2 labels, e.g. --labels yes,no');
  if (o.models.length === 0) throw new UsageError('--models is empty: give at least 2 models');
  o.models.forEach((m, i) => checkModel(m, `member ${i + 1}`));
  const aggregate = o.aggregate ?? (labels ? 'vote' : 'judge');
  if (aggregate === 'judge') checkModel(o.judge, 'the judge');
  const fallbacks = o.fallback ?? {};
  for (const [from, to] of Object.entries(fallbacks)) {
    if (!o.models.includes(from)) throw new UsageError(`--fallback ${from}=${to}: ${from} is not a member (${o.models.join(', ')})`);
    checkModel(to, `the fallback for ${from}`);
  }
  let context: string | undefined;
  if (o.context) {
    if (labels) throw new UsageError('--context is for a free-form prompt; a classification reads only its message');
    try {
      context = fs.readFileSync(o.context, 'utf8');
    } catch {
      throw new UsageError(`cannot read context file ${o.context}: no such file`);
    }
    if (context.length > MAX_CONTEXT_CHARS)
      throw new UsageError(`context file ${o.context} is ${context.length} characters; the limit is ${MAX_CONTEXT_CHARS}`);
  }
  const input: EnsembleInput = {
    ...(items ? { items } : { prompt }),
    ...(labels ? { labels } : {}),
    ...(context !== undefined ? { context } : {}),
    members: o.models.map((model) => ({ model, ...(fallbacks[model] ? { fallback: { model: fallbacks[model] } } : {}) })),
    aggregate,
    ...(aggregate === 'judge' ? { judge: o.judge } : {}),
    ...(o.quorum !== undefined ? { quorum: o.quorum } : {}),
    memberTimeoutMs: o.memberTimeout,
    ...(o.judgeTimeout !== undefined ? { judgeTimeoutMs: o.judgeTimeout } : {}),
    concurrency: o.concurrency,
    prices: { ...config().prices },
  };
  const called = [...o.models, ...Object.values(fallbacks), ...(aggregate === 'judge' ? [o.judge] : [])];
  const budget = budgetSetting(o.budget, o.onBudget, called);
  if (budget) input.budget = budget;
  const problem = ensembleProblem(input);
  if (problem) throw new UsageError(problem);
  return input;
}

const mark: Record<MemberVote['status'], string> = {
  voted: pc.green('✓'),
  invalid: pc.yellow('?'),
  failed: pc.red('✗'),
  'timed-out': pc.yellow('⏱'),
  cancelled: pc.dim('–'),
};

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const short = (s: string, n = 60) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
};

function liveLines(p: EnsembleProgress, members: string[], now: number, t0: number): string[] {
  if (p.mode === 'batch')
    return [`${pc.bold('ensemble')}  ${p.done} of ${p.total} items decided · ${pc.cyan(`${p.running} deciding`)} · ${ms(now - t0)}`];
  const votes = p.votes ?? [];
  const parts = members.map((m, i) => {
    const v = votes[i];
    return v && v.endedAt !== undefined
      ? `${mark[v.status]} ${m}${v.answer ? ` ${pc.dim(short(v.answer, 24))}` : ''}`
      : `${pc.cyan('…')} ${m}`;
  });
  return [`${pc.bold(p.phase)}  ${parts.join('  ')}`];
}

function votesTable(item: ItemOutcome): string {
  const t = new Table({ head: ['#', 'member', 'status', 'answer', 'time', 'tokens in/out', 'note'], style: tableStyle() });
  for (const v of item.votes) {
    const time = v.startedAt !== undefined && v.endedAt !== undefined ? ms(v.endedAt - v.startedAt) : '';
    const note = v.routed ? `routed to ${v.routed.to} (${v.routed.reason})` : v.status !== 'voted' ? short(v.reason ?? '', 60) : '';
    t.push([
      v.member + 1,
      v.answeredBy && v.answeredBy !== v.model ? `${v.model} → ${v.answeredBy}` : v.model,
      `${mark[v.status]} ${v.status}`,
      short(v.answer ?? '', 40),
      time,
      v.usage ? `${v.usage.inputTokens}/${v.usage.outputTokens}` : '',
      note,
    ]);
  }
  return t.toString();
}

function decisionLine(item: ItemOutcome): string {
  const how = `${item.decidedBy} · ${item.voted} of ${item.members} voted · quorum ${item.quorum} ${item.quorumHeld ? 'held' : pc.red('not held')}`;
  return item.answer !== undefined ? `${pc.bold('Answer')} ${item.answer}  ${pc.dim(`(${how})`)}` : pc.red(`No answer (${how})`);
}

function judgeLine(item: ItemOutcome): string | undefined {
  const j = item.judge;
  if (!j) return undefined;
  const shown = j.candidates.map((c, i) => `${String.fromCharCode(65 + i)} ${short(c, 30)}`).join(', ');
  if (j.status === 'chose')
    return `${pc.dim('judge')} ${j.answeredBy ?? j.model} chose "${short(j.choice!, 40)}" of ${shown}${j.reason ? pc.dim(` — ${short(j.reason, 100)}`) : ''}`;
  return pc.yellow(`judge ${j.model} ${j.status}: ${short(j.reason ?? '', 100)}; the ${item.vote ? 'vote' : 'member order'} decided`);
}

function batchTable(r: EnsembleResult): string {
  const acc = r.summary.accuracy;
  const table = config().prices;
  const t = new Table({ head: ['', 'accuracy', 'answers', 'tokens in/out', 'cost'], style: tableStyle() });
  const row = (name: string, accuracy: number | undefined, answers: string, calls: { model?: string; usage?: TokenUsage }[]) => {
    const used = calls.filter((c) => c.usage);
    const tokens = sumUsage(used.map((c) => c.usage!));
    const usd = used.reduce((sum, c) => sum + (usdFor(c.model!, c.usage!, { table }) ?? 0), 0);
    t.push([name, accuracy === undefined ? '' : pct(accuracy), answers, `${tokens.inputTokens}/${tokens.outputTokens}`, formatUsd(usd)]);
  };
  for (const [i, model] of r.members.entries()) {
    const votes = r.items.map((it) => it.votes[i]).filter((v) => v !== undefined);
    const calls = votes.map((v) => ({ model: v.answeredBy, usage: v.usage }));
    row(
      `member ${i + 1}: ${model}`,
      acc?.byMember[i]?.accuracy,
      `${votes.filter((v) => v.status === 'voted').length}/${r.items.length}`,
      calls,
    );
  }
  if (acc) t.push(['majority vote', pct(acc.vote), '', '', '']);
  const judged = r.items.flatMap((it) => (it.judge ? [it.judge] : []));
  if (r.aggregate === 'judge')
    row(
      `judge: ${judged.find((j) => j.answeredBy)?.answeredBy ?? r.judge}`,
      acc?.judge,
      `${judged.filter((j) => j.status === 'chose').length} picks`,
      judged.map((j) => ({ model: j.answeredBy, usage: j.usage })),
    );
  t.push([
    'ensemble',
    acc ? pct(acc.answer) : '',
    `${r.summary.answered}/${r.items.length}`,
    `${r.usage.total.inputTokens}/${r.usage.total.outputTokens}`,
    formatUsd(r.cost.totalUsd),
  ]);
  return t.toString();
}

/**
 * What asking several models at once bought (time against asking them one after another) and cost
 * (the spend beyond the cheapest member's answer alone).
 */
export function ensembleLine(item: ItemOutcome, cost: CostSummary): string {
  const timed = item.votes.filter((v) => v.startedAt !== undefined && v.endedAt !== undefined);
  const branchMs = timed.reduce((n, v) => n + (v.endedAt! - v.startedAt!), 0);
  const makespanMs = timed.length ? Math.max(...timed.map((v) => v.endedAt!)) - Math.min(...timed.map((v) => v.startedAt!)) : 0;
  const priced = item.votes.flatMap((v) => {
    const usd = v.usage ? usdFor(v.answeredBy ?? v.model, v.usage) : undefined;
    return usd !== undefined ? [usd] : [];
  });
  const total = item.cost?.totalUsd ?? cost.totalUsd;
  const extra = priced.length ? { extraUsd: total - Math.min(...priced), extraOf: 'members beyond the cheapest one' } : {};
  return parallelismText({ branchMs, makespanMs, ...extra });
}

export function printEnsemble(r: EnsembleResult, webUi: string | undefined): void {
  if (r.simulated) console.log(pc.yellow("simulated models (no ANTHROPIC_API_KEY set; answers come from Braid's simulator, not Claude)"));
  if (r.mode === 'single') {
    const item = r.items[0]!;
    console.log(`\n${decisionLine(item)}`);
    const judge = judgeLine(item);
    if (judge) console.log(judge);
    console.log(votesTable(item));
    console.log(ensembleLine(item, r.cost));
  } else {
    console.log(batchTable(r));
    const s = r.summary;
    const missing = r.items.filter((i) => !i.quorumHeld);
    console.log(
      `${s.answered} of ${s.items} items answered${s.noQuorum ? pc.red(`, ${s.noQuorum} without quorum`) : ''} · ${s.missingVotes} missing votes · ${s.routedCalls} routed calls · at most ${r.peakRunning} items at once`,
    );
    for (const i of missing.slice(0, 10))
      console.log(pc.red(`  ${i.id}: ${i.voted} of ${i.members} voted (${i.error ?? i.votes.find((v) => v.reason)?.reason ?? ''})`));
  }
  const byModel = Object.entries(r.cost.byModel)
    .map(([m, c]) => `${m} ${formatUsd(c.usd)}`)
    .join(', ');
  console.log(
    pc.dim(
      `cost ${formatUsd(r.cost.totalUsd)}${byModel ? ` (${byModel})` : ''}${r.cost.unpriced?.length ? `; unpriced: ${r.cost.unpriced.join(', ')}` : ''} · tokens ${r.usage.total.inputTokens} in / ${r.usage.total.outputTokens} out · ${ms(r.totalMs)}`,
    ),
  );
  if (r.status === BUDGET_REACHED && r.budget) console.log(pc.yellow(`${budgetText(r.budget)}; what was decided is kept.`));
  if (webUi) console.log(`${pc.dim('Web UI:')} ${webUi}`);
}

export function ensembleCommand(): Command {
  return new Command('ensemble')
    .description('ask several models at once and decide by majority vote over labels, or by a cheap judge')
    .argument('[prompt...]', 'the prompt (quote it); or --items for a batch')
    .option('--labels <a,b,...>', 'classification: the answer is one of these labels (a labelled --items file brings its own)', list)
    .option('--items <file>', `classify a batch: JSON Lines {"id","text","label"} or one text per line (at most ${MAX_ITEMS})`)
    .addOption(
      new Option('--models <m,...>', `members, in the order the tie rule trusts them: model ids or fast/capable (2-${MAX_MEMBERS})`)
        .argParser(list)
        .default(DEFAULT_MEMBERS, DEFAULT_MEMBERS.join(',')),
    )
    .addOption(
      new Option('--aggregate <how>', 'vote (needs labels) or judge (default: vote with labels, else judge)').choices(['vote', 'judge']),
    )
    .option('--judge <model>', 'the judge: a cheap model that picks among the distinct answers', DEFAULT_JUDGE)
    .option('--quorum <n>', 'valid answers needed for a decision (default: a majority of the members)', intIn(1, MAX_MEMBERS))
    .addOption(
      new Option('--member-timeout <duration>', "each member's time, retries included; later is a missing vote")
        .argParser(duration)
        .default(DEFAULT_MEMBER_TIMEOUT_MS, `${DEFAULT_MEMBER_TIMEOUT_MS / 1000}s`),
    )
    .option('--judge-timeout <duration>', "the judge's time; without a verdict the vote decides", duration)
    .option('-c, --concurrency <n>', `items at once (1-${MAX_CONCURRENCY})`, intIn(1, MAX_CONCURRENCY), DEFAULT_CONCURRENCY)
    .option(
      '--fallback <member=model>',
      "route a member's calls to another model while its breaker is open or its rate budget is spent (repeatable)",
      fallbackPair,
    )
    .option('--context <file>', 'material the members read with a free-form prompt (the judge does not)')
    .option(
      '--budget <usd>',
      "most the run may spend, in US dollars: a member's or the judge's call whose worst case would pass it does not start (exit code 3 when reached)",
      usd,
    )
    .option('--on-budget <policy>', 'calls in flight when the budget is reached: keep (finish them, default) or cancel', inFlightPolicy)
    .option('--id <workflowId>', 'workflow id for the run (default: generated)')
    .option('--json', 'print one JSON object with every item, vote, judge verdict, usage and cost')
    .option('--with-worker', 'run a worker inside this command')
    .addHelpText(
      'after',
      `\nTies go to the tied answer of the earliest member in --models. Missing votes (failed, timed out,\ninvalid) are listed; without --quorum valid answers (default ${majorityOf(3)} of 3) there is no answer and the exit code is 1.`,
    )
    .action(async (words: string[], o: EnsembleCliOptions) => {
      const input = ensembleInput(words, o);
      await withSession(workerFor(o.withWorker), async (s) => {
        input.llmTaskQueue = llmTaskQueue(s.taskQueue);
        const n = input.items?.length ?? 1;
        const handle = await startRun<typeof modelEnsemble>(s, ENSEMBLE_WORKFLOW, {
          workflowId: o.id ?? newRunId('ensemble'),
          args: [input],
          kind: 'ensemble',
          status: 'voting',
          labels: ensembleLabels(input),
        });
        const webUi = webUiLink(handle.workflowId, handle.firstExecutionRunId, s.target);
        if (!o.json)
          announceRun(
            handle.workflowId,
            webUi,
            `${input.items ? `${n} items, ${input.concurrency} at once` : 'one prompt'} · ${input.members.map((m) => m.model).join(', ')} · ${input.aggregate === 'judge' ? `judge ${input.judge}` : 'majority vote'}`,
          );
        const live = o.json ? undefined : new LiveBlock();
        const t0 = Date.now();
        const members = input.members.map((m) => m.model);
        const result: EnsembleResult = await followRun(handle, {
          tick: live ? async () => live.update(liveLines(await handle.query(ensembleProgressQuery), members, Date.now(), t0)) : undefined,
          everyMs: 300,
          stop: () => live?.clear(),
          detachHint: `the ensemble goes on in Temporal: ${handle.workflowId}`,
        });
        if (o.json) console.log(JSON.stringify({ workflowId: handle.workflowId, ...(webUi ? { webUi } : {}), ...result }));
        else printEnsemble(result, webUi);
        if (result.status === BUDGET_REACHED) process.exitCode = BUDGET_REACHED_EXIT;
        else if (result.summary.answered < result.summary.items) process.exitCode = 1;
      });
    });
}
