/**
 * Pattern: model ensembles (`braid ensemble`) — the same prompt to several models at once, and one
 * answer from theirs: a majority vote over a label set, or a cheap judge that picks among the
 * distinct answers without writing a new one.
 *
 * The members run as a quorum fan-in (quorum.ts) that collects every member's answer, each within
 * its own time (an activity schedule-to-close timeout, so a member whose worker died or whose model
 * is down is a missing vote, not a stalled run); a failed, timed-out or invalid answer is an explicit
 * missing vote, and the decision stands only when `quorum` members answered. Every member's answer
 * is an activity result in history, so the vote — and the judge's verdict — are the same on replay.
 * Member and judge calls carry activity ids that name their model (`member-2:claude-sonnet-4-6`,
 * `judge:fast`): a change of members, their order or the judge is then a different command sequence,
 * which the replay test catches, instead of a silently different vote.
 *
 * A batch decides each item in a child workflow of its own (`<run>/item-7`): the item is then a unit
 * with its own history and label in the Web UI, a broken item fails only itself, and the parent's
 * history grows by a few events per item rather than by every model call. The parent runs the items
 * through a sliding window (window.ts), so at most `concurrency` items — `concurrency × members`
 * model calls — are in flight, on the model-call task queue where the worker's shared rate limiter,
 * breakers and the queue's server-side rate apply as for every other pattern.
 */
import {
  ApplicationFailure,
  executeChild,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { classifyMessages, classifySystem, answerMessages, JUDGE_SYSTEM, judgeMessages, letter, readVerdict } from '../prompts/ensemble';
import { textOf } from '../shared/content';
import {
  countVotes,
  DEFAULT_CONCURRENCY,
  DEFAULT_JUDGE,
  DEFAULT_JUDGE_TIMEOUT_MS,
  DEFAULT_MEMBER_TIMEOUT_MS,
  ensembleProblem,
  ensembleProgressQuery,
  JUDGE_MAX_TOKENS,
  LABEL_MAX_TOKENS,
  labelOf,
  majorityOf,
  summarizeItems,
  type DecidedBy,
  type EnsembleInput,
  type EnsembleItemInput,
  type ItemBudget,
  type EnsembleProgress,
  type EnsembleResult,
  type ItemOutcome,
  type JudgeOutcome,
  type MemberStatus,
  type MemberVote,
} from '../shared/ensemble';
import { failureMessage, outOfTime } from '../shared/failures';
import { addCall, emptyCost, formatUsd, mergeCosts, roundUsd } from '../shared/pricing';
import { BUDGET_REACHED, inputBound, worstCaseUsd, type BudgetReport } from '../shared/budget';
import type { ChatMessage, LlmResult } from '../shared/types';
import { addModelUsage, mergeUsageSummaries, noUsageSummary, spendOfFailure, type PartialSpend } from '../shared/usage';
import { budgetModel, budgeted, RunBudget } from './budget';
import { modelCall } from './profiles';
import { RunStatus } from './status';
import { quorum, type QuorumBranchReport, type QuorumStatus } from './quorum';
import { slidingWindow } from './window';

const MODEL_CALL_START_TO_CLOSE_MS = 3 * 60_000;

/** A model call of the ensemble: bounded as a whole by `timeoutMs`, named in history and in the Web UI. */
function callOptions(x: EnsembleItemInput, activityId: string, timeoutMs: number, summary: string): ActivityOptions {
  return {
    ...modelCall,
    ...(x.llmTaskQueue ? { taskQueue: x.llmTaskQueue } : {}),
    scheduleToCloseTimeout: timeoutMs,
    startToCloseTimeout: Math.min(timeoutMs, MODEL_CALL_START_TO_CLOSE_MS),
    activityId,
    summary: `${x.label ? `${x.label} · ` : ''}${summary}`.slice(0, 120),
  };
}

/** A call's worst case: its input bound and max_tokens at the dearer of its model and its fallback. */
function callWorstUsd(
  x: EnsembleItemInput,
  models: string[],
  system: string | undefined,
  messages: ChatMessage[],
  maxTokens: number,
): number {
  const b = x.budget!;
  const tokens = inputBound([system, JSON.stringify(messages)]);
  return Math.max(...models.map((m) => worstCaseUsd(budgetModel(m, b.models), tokens, maxTokens, x.prices)!));
}

/** The most a batch item can cost: every member's call, and the judge's over the longest labels the members could give. */
function itemWorstUsd(x: EnsembleItemInput): number {
  const labels = x.labels ?? [];
  const messages = classifyMessages(x.item.text);
  const maxTokens = x.maxTokens ?? LABEL_MAX_TOKENS;
  let usd = 0;
  for (const m of x.members)
    usd += callWorstUsd(x, [m.model, ...(m.fallback ? [m.fallback.model] : [])], classifySystem(labels, m.system), messages, maxTokens);
  if (x.aggregate === 'judge') {
    const longest = [...labels].sort((a, b) => b.length - a.length).slice(0, x.members.length);
    usd += callWorstUsd(x, [x.judge], JUDGE_SYSTEM, judgeMessages('label', x.item.text, longest), JUDGE_MAX_TOKENS);
  }
  return roundUsd(usd);
}

const gist = (s: string, n = 80) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
};

const MEMBER_STATUS: Record<QuorumStatus, MemberStatus> = {
  counted: 'voted',
  late: 'voted',
  invalid: 'invalid',
  failed: 'failed',
  'timed-out': 'timed-out',
  cancelled: 'cancelled',
  detached: 'cancelled',
  'not-started': 'cancelled',
  running: 'cancelled',
};

/** One item's ensemble: every member's answer, the vote, the judge when asked for and needed. */
async function decideItem(
  x: EnsembleItemInput,
  onVote?: (votes: MemberVote[]) => void,
  onJudge?: () => void,
  money?: RunBudget,
): Promise<ItemOutcome> {
  const t0 = Date.now();
  const labels = x.labels;
  const messages = labels ? classifyMessages(x.item.text) : answerMessages(x.item.text, x.context);
  const usage = noUsageSummary();
  const cost = emptyCost();
  let simulated = false;
  // What attempts that failed or were cancelled streamed: charged as estimated.
  const chargeLost = (lost: readonly PartialSpend[] | undefined) => {
    for (const l of lost ?? []) addCall(cost, l.model, l.usage, { table: x.prices, estimated: true });
  };
  const charge = (res: LlmResult) => {
    simulated ||= res.simulated;
    addModelUsage(usage, res.model, res.usage);
    addCall(cost, res.model, res.usage, { table: x.prices });
    chargeLost(res.retriedSpend);
  };
  const memberMaxTokens = x.maxTokens ?? (labels ? LABEL_MAX_TOKENS : x.budget?.maxTokens);
  const answers = new Map<number, string>();
  const votes: MemberVote[] = x.members.map((m, member) => ({ member, model: m.model, status: 'cancelled' }));
  const toVote = (r: QuorumBranchReport<LlmResult>): MemberVote => {
    const m = x.members[r.index]!;
    const res = r.value;
    const status = MEMBER_STATUS[r.status];
    return {
      member: r.index,
      model: m.model,
      status,
      ...(res ? { answeredBy: res.model, usage: res.usage } : {}),
      ...(answers.has(r.index) ? { answer: answers.get(r.index) } : {}),
      ...(status === 'timed-out'
        ? { reason: `no answer within ${x.memberTimeoutMs} ms${r.reason && !/timeout/i.test(r.reason) ? ` (last: ${r.reason})` : ''}` }
        : r.reason
          ? { reason: r.reason }
          : {}),
      ...(status === 'cancelled' && !r.reason ? { reason: 'stopped: the quorum could no longer be met' } : {}),
      ...(r.startedAt !== undefined ? { startedAt: r.startedAt } : {}),
      ...(r.endedAt !== undefined ? { endedAt: r.endedAt } : {}),
      ...(res?.routed ? { routed: res.routed } : {}),
    };
  };

  const q = await quorum(
    x.members.map((m, i) => async () => {
      const options = callOptions(x, `member-${i + 1}:${m.model}`, x.memberTimeoutMs, `member ${i + 1}: ${m.model}`);
      const call = proxyActivities<Activities>(money ? budgeted(options) : options);
      const system = labels ? classifySystem(labels, m.system) : m.system;
      const send = (maxUsd?: number) =>
        call.llmTurn({
          role: 'fast',
          model: m.model,
          system,
          messages,
          maxTokens: memberMaxTokens,
          ...(m.fallback ? { fallback: m.fallback } : {}),
          ...(maxUsd !== undefined ? { maxUsd } : {}),
        });
      try {
        const worst = () => callWorstUsd(x, [m.model, ...(m.fallback ? [m.fallback.model] : [])], system, messages, memberMaxTokens!);
        const res = money ? await money.call(worst(), send) : await send();
        charge(res); // an answer is paid for whether it counts or not
        return res;
      } catch (err) {
        chargeLost(spendOfFailure(err));
        throw err;
      }
    }),
    {
      k: x.quorum,
      collect: 'all',
      accept: (res, i) => {
        const text = textOf(res.content);
        if (labels) {
          const label = labelOf(text, labels);
          if (label === undefined) return `not one of the labels: "${gist(text)}"`;
          answers.set(i, label);
          return true;
        }
        if (!text) return 'an empty answer';
        if (res.stopReason === 'max_tokens') return 'cut off at max_tokens';
        answers.set(i, text);
        return true;
      },
      onSettle: (r) => {
        votes[r.index] = toVote(r);
        onVote?.(votes.map((v) => ({ ...v })));
      },
    },
  );
  for (const r of q.branches) votes[r.index] = toVote(r);

  // Valid answers in member order: the order the tie rule and the judge's candidates follow.
  const valid = votes.filter((v) => v.status === 'voted').map((v) => v.answer!);
  const quorumHeld = valid.length >= x.quorum;
  const vote = labels ? countVotes(valid) : undefined;
  const distinct = [...new Set(valid)];
  let answer: string | undefined;
  let decidedBy: DecidedBy = 'none';
  let judge: JudgeOutcome | undefined;
  if (quorumHeld && distinct.length === 1) {
    answer = distinct[0];
    decidedBy = 'unanimous';
  } else if (quorumHeld) {
    if (x.aggregate === 'judge') {
      onJudge?.();
      // Labels: most votes first (ties in member order); free-form: member order.
      const candidates = vote ? [...distinct].sort((a, b) => vote.counts[b]! - vote.counts[a]!) : distinct;
      judge = await judgeItem(x, candidates, charge, chargeLost, money);
      if (judge.status === 'chose') {
        answer = judge.choice;
        decidedBy = 'judge';
      }
    }
    if (answer === undefined) {
      answer = vote ? vote.label : distinct[0];
      decidedBy = vote && !vote.tie ? 'majority' : 'member-order';
    }
  }
  return {
    index: x.index,
    id: x.item.id,
    ...(answer !== undefined ? { answer } : {}),
    decidedBy,
    voted: valid.length,
    members: x.members.length,
    quorum: x.quorum,
    quorumHeld,
    ...(vote ? { vote } : {}),
    ...(judge ? { judge } : {}),
    ...(x.item.expected !== undefined ? { expected: x.item.expected } : {}),
    votes,
    startedAt: t0,
    elapsedMs: Date.now() - t0,
    costUsd: cost.totalUsd,
    usage,
    cost,
    simulated,
    ...(money ? { budget: money.report() } : {}),
  };
}

/** The judge picks one of `candidates`; it sees the item or question and the candidates, not the context. */
async function judgeItem(
  x: EnsembleItemInput,
  candidates: string[],
  charge: (res: LlmResult) => void,
  chargeLost: (lost: PartialSpend[]) => void,
  money?: RunBudget,
): Promise<JudgeOutcome> {
  const startedAt = Date.now();
  const base = { model: x.judge, candidates, startedAt };
  const options = callOptions(
    x,
    `judge:${x.judge}`,
    x.judgeTimeoutMs,
    `judge: ${x.judge} picks among ${candidates.map((_, i) => letter(i)).join(', ')}`,
  );
  const call = proxyActivities<Activities>(money ? budgeted(options) : options);
  const messages = judgeMessages(x.labels ? 'label' : 'answer', x.item.text, candidates);
  const send = (maxUsd?: number) =>
    call.llmTurn({
      role: 'fast',
      model: x.judge,
      system: JUDGE_SYSTEM,
      messages,
      maxTokens: JUDGE_MAX_TOKENS,
      ...(maxUsd !== undefined ? { maxUsd } : {}),
    });
  try {
    const res = money ? await money.call(callWorstUsd(x, [x.judge], JUDGE_SYSTEM, messages, JUDGE_MAX_TOKENS), send) : await send();
    charge(res);
    const reply = textOf(res.content);
    const verdict = readVerdict(reply, candidates.length);
    const answered = { answeredBy: res.model, usage: res.usage, endedAt: Date.now(), ...(res.routed ? { routed: res.routed } : {}) };
    if (!verdict)
      return { ...base, ...answered, status: 'invalid', reason: `no verdict among ${candidates.length} candidates: "${gist(reply)}"` };
    return { ...base, ...answered, status: 'chose', choice: candidates[verdict.index], reason: gist(verdict.reason, 200) };
  } catch (err) {
    chargeLost(spendOfFailure(err));
    if (isCancellation(err)) throw err;
    return { ...base, endedAt: Date.now(), status: outOfTime(err) ? 'timed-out' : 'failed', reason: failureMessage(err) };
  }
}

/** An item whose workflow failed: no answer, every vote missing. */
function failedItem(x: EnsembleItemInput, error: unknown, startedAt: number): ItemOutcome {
  const reason = failureMessage(error);
  return {
    index: x.index,
    id: x.item.id,
    decidedBy: 'none',
    voted: 0,
    members: x.members.length,
    quorum: x.quorum,
    quorumHeld: false,
    ...(x.item.expected !== undefined ? { expected: x.item.expected } : {}),
    votes: x.members.map((m, member) => ({ member, model: m.model, status: 'failed', reason })),
    startedAt,
    elapsedMs: Date.now() - startedAt,
    costUsd: 0,
    simulated: false,
    error: reason,
  };
}

/** One item of a batch, as a child workflow of the run. */
export async function ensembleItem(x: EnsembleItemInput): Promise<ItemOutcome> {
  setCurrentDetails(`**${x.label ?? x.item.id}**: ${x.members.length} models answer (${x.aggregate}).`);
  const outcome = await decideItem(x, undefined, undefined, x.budget && new RunBudget(x.budget.usd, x.budget.inFlight, x.prices));
  setCurrentDetails(
    `**${x.label ?? x.item.id}**: ${outcome.answer !== undefined ? `answer "${gist(outcome.answer, 60)}" (${outcome.decidedBy})` : 'no answer: quorum not held'}, ${outcome.voted} of ${outcome.members} voted.`,
  );
  return outcome;
}

export async function modelEnsemble(input: EnsembleInput): Promise<EnsembleResult> {
  // BraidStatus follows the phase, for runs started with it (cli/session.ts); current details say more.
  const run = new RunStatus();
  return run.around(() => ensemble(input, (word, details) => run.set(word, details)));
}

async function ensemble(input: EnsembleInput, status: (word: string, details: string) => void): Promise<EnsembleResult> {
  const problem = ensembleProblem(input);
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidInput');
  const t0 = Date.now();
  const single = input.prompt !== undefined;
  const base: Omit<EnsembleItemInput, 'index' | 'item'> = {
    labels: input.labels,
    context: input.context,
    members: input.members,
    aggregate: input.aggregate,
    judge: input.judge ?? DEFAULT_JUDGE,
    quorum: input.quorum ?? majorityOf(input.members.length),
    memberTimeoutMs: input.memberTimeoutMs ?? DEFAULT_MEMBER_TIMEOUT_MS,
    judgeTimeoutMs: input.judgeTimeoutMs ?? DEFAULT_JUDGE_TIMEOUT_MS,
    llmTaskQueue: input.llmTaskQueue,
    maxTokens: input.maxTokens,
    prices: input.prices,
  };
  const b = input.budget;
  const itemBudget = (usd: number): { budget: ItemBudget } | object =>
    b ? { budget: { usd, inFlight: b.inFlight ?? 'keep', models: b.models, maxTokens: b.maxTokens } } : {};
  // One prompt: the run's ledger is the item's. A batch: each item reserves its worst case here and runs on that grant.
  const money = b && new RunBudget(b.usd, b.inFlight, input.prices);
  const total = single ? 1 : input.items!.length;
  const progress: EnsembleProgress = { mode: single ? 'single' : 'batch', total, done: 0, running: 0, answered: 0, phase: 'voting' };
  setHandler(ensembleProgressQuery, () => ({ ...progress, ...(progress.votes ? { votes: progress.votes.map((v) => ({ ...v })) } : {}) }), {
    description: 'Items done, running and answered; for one prompt, each member’s vote so far.',
  });
  const who = `${input.members.map((m) => m.model).join(', ')}${input.aggregate === 'judge' ? ` · judge ${base.judge}` : ' · majority vote'}`;

  let outcomes: ItemOutcome[];
  let peakRunning = 0;
  if (single) {
    status('voting', `**Voting**: ${who}.`);
    const outcome = await decideItem(
      { ...base, index: 0, item: { id: 'prompt', text: input.prompt! }, ...itemBudget(b?.usd ?? 0) },
      (votes) => (progress.votes = votes),
      () => {
        progress.phase = 'judging';
        status('judging', `**Judging**: the members disagree; ${base.judge} picks one answer.`);
      },
      money,
    );
    progress.votes = outcome.votes;
    outcomes = [outcome];
    peakRunning = 1;
  } else {
    status('voting', `**Classifying ${total} items** with ${who}, ${input.concurrency ?? DEFAULT_CONCURRENCY} at once.`);
    const parentId = workflowInfo().workflowId;
    const inputs = input.items!.map((item, index): EnsembleItemInput => ({ ...base, index, item, label: `item ${index + 1}` }));
    const startedAt: number[] = [];
    const decide = (x: EnsembleItemInput, grant?: number) =>
      executeChild(ensembleItem, {
        workflowId: `${parentId}/item-${x.index + 1}`,
        args: [grant === undefined ? x : { ...x, ...itemBudget(grant) }],
        staticSummary: `item ${x.index + 1} (${gist(x.item.id, 40)}): ${x.members.length} models`,
      });
    const settled = await slidingWindow(
      inputs,
      input.concurrency ?? DEFAULT_CONCURRENCY,
      (x) =>
        money
          ? money.run(
              itemWorstUsd({ ...x, ...itemBudget(0) }),
              (grant) => decide(x, grant),
              (o) => (o.ok ? (o.value.cost?.totalUsd ?? o.value.costUsd) : 0),
              x.members.length,
            )
          : decide(x),
      {
        onStart: (i) => {
          startedAt[i] = Date.now();
          progress.running++;
          peakRunning = Math.max(peakRunning, progress.running);
        },
        onSettle: () => {
          progress.running--;
          progress.done++;
          status('voting', `**${progress.done} of ${total} items** decided, ${progress.running} deciding now (${who}).`);
        },
      },
    );
    outcomes = settled.map((r, i) => (r.ok ? r.value : failedItem(inputs[i]!, r.error, startedAt[i] ?? t0)));
  }
  const usage = mergeUsageSummaries(outcomes.flatMap((i) => (i.usage ? [i.usage] : [])));
  const cost = mergeCosts(...outcomes.flatMap((i) => (i.cost ? [i.cost] : [])));
  // A batch's items keep their votes (with each call's usage) and their dollars, not a cost table each.
  const items = single ? outcomes : outcomes.map(({ usage: _u, cost: _c, ...item }) => item);
  const report = money && budgetOf(money, outcomes, single);
  progress.phase = 'done';
  progress.answered = items.filter((i) => i.answer !== undefined).length;
  const summary = summarizeItems(
    items,
    input.members.map((m) => m.model),
    input.aggregate,
  );
  const answered = `${summary.answered} of ${total} answered${summary.noQuorum ? `, ${summary.noQuorum} without quorum` : ''}`;
  if (report?.reached)
    status(BUDGET_REACHED, `**Budget reached** (${formatUsd(report.spentUsd)} spent of ${formatUsd(report.usd)}): ${answered}.`);
  else status('done', `**Done**: ${answered}${summary.accuracy ? `; accuracy ${(summary.accuracy.answer * 100).toFixed(1)}%` : ''}.`);
  return {
    mode: single ? 'single' : 'batch',
    aggregate: input.aggregate,
    ...(input.labels ? { labels: input.labels } : {}),
    members: input.members.map((m) => m.model),
    ...(input.aggregate === 'judge' ? { judge: base.judge } : {}),
    quorum: base.quorum,
    items,
    summary,
    usage,
    cost,
    totalMs: Date.now() - t0,
    peakRunning,
    simulated: items.some((i) => i.simulated),
    ...(report?.reached ? { status: BUDGET_REACHED } : {}),
    ...(report ? { budget: report } : {}),
  };
}

/** The run's budget report: the run's ledger, and (a batch) every item's, against the run's budget. */
function budgetOf(money: RunBudget, outcomes: ItemOutcome[], single: boolean): BudgetReport {
  const run = money.report();
  if (single) return run;
  const items = outcomes.flatMap((o) => (o.budget ? [o.budget] : []));
  return {
    usd: run.usd,
    spentUsd: run.spentUsd,
    reached: run.reached || items.some((r) => r.reached),
    skippedCalls: run.skippedCalls + items.reduce((n, r) => n + r.skippedCalls, 0),
    cancelledCalls: run.cancelledCalls + items.reduce((n, r) => n + r.cancelledCalls, 0),
  };
}
