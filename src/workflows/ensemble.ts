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
  type EnsembleProgress,
  type EnsembleResult,
  type ItemOutcome,
  type JudgeOutcome,
  type MemberStatus,
  type MemberVote,
} from '../shared/ensemble';
import { failureMessage, outOfTime } from '../shared/failures';
import { addCall, emptyCost, mergeCosts } from '../shared/pricing';
import type { LlmResult } from '../shared/types';
import { addModelUsage, mergeUsageSummaries, noUsageSummary } from '../shared/usage';
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
async function decideItem(x: EnsembleItemInput, onVote?: (votes: MemberVote[]) => void, onJudge?: () => void): Promise<ItemOutcome> {
  const t0 = Date.now();
  const labels = x.labels;
  const messages = labels ? classifyMessages(x.item.text) : answerMessages(x.item.text, x.context);
  const usage = noUsageSummary();
  const cost = emptyCost();
  let simulated = false;
  const charge = (res: LlmResult) => {
    simulated ||= res.simulated;
    addModelUsage(usage, res.model, res.usage);
    addCall(cost, res.model, res.usage, { table: x.prices });
  };
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
      const call = proxyActivities<Activities>(
        callOptions(x, `member-${i + 1}:${m.model}`, x.memberTimeoutMs, `member ${i + 1}: ${m.model}`),
      );
      const res = await call.llmTurn({
        role: 'fast',
        model: m.model,
        system: labels ? classifySystem(labels, m.system) : m.system,
        messages,
        maxTokens: x.maxTokens ?? (labels ? LABEL_MAX_TOKENS : undefined),
        ...(m.fallback ? { fallback: m.fallback } : {}),
      });
      charge(res); // an answer is paid for whether it counts or not
      return res;
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
      judge = await judgeItem(x, candidates, charge);
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
  };
}

/** The judge picks one of `candidates`; it sees the item or question and the candidates, not the context. */
async function judgeItem(x: EnsembleItemInput, candidates: string[], charge: (res: LlmResult) => void): Promise<JudgeOutcome> {
  const startedAt = Date.now();
  const base = { model: x.judge, candidates, startedAt };
  const call = proxyActivities<Activities>(
    callOptions(x, `judge:${x.judge}`, x.judgeTimeoutMs, `judge: ${x.judge} picks among ${candidates.map((_, i) => letter(i)).join(', ')}`),
  );
  try {
    const res = await call.llmTurn({
      role: 'fast',
      model: x.judge,
      system: JUDGE_SYSTEM,
      messages: judgeMessages(x.labels ? 'label' : 'answer', x.item.text, candidates),
      maxTokens: JUDGE_MAX_TOKENS,
    });
    charge(res);
    const reply = textOf(res.content);
    const verdict = readVerdict(reply, candidates.length);
    const answered = { answeredBy: res.model, usage: res.usage, endedAt: Date.now(), ...(res.routed ? { routed: res.routed } : {}) };
    if (!verdict)
      return { ...base, ...answered, status: 'invalid', reason: `no verdict among ${candidates.length} candidates: "${gist(reply)}"` };
    return { ...base, ...answered, status: 'chose', choice: candidates[verdict.index], reason: gist(verdict.reason, 200) };
  } catch (err) {
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
  const outcome = await decideItem(x);
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
      { ...base, index: 0, item: { id: 'prompt', text: input.prompt! } },
      (votes) => (progress.votes = votes),
      () => {
        progress.phase = 'judging';
        status('judging', `**Judging**: the members disagree; ${base.judge} picks one answer.`);
      },
    );
    progress.votes = outcome.votes;
    outcomes = [outcome];
    peakRunning = 1;
  } else {
    status('voting', `**Classifying ${total} items** with ${who}, ${input.concurrency ?? DEFAULT_CONCURRENCY} at once.`);
    const parentId = workflowInfo().workflowId;
    const inputs = input.items!.map((item, index): EnsembleItemInput => ({ ...base, index, item, label: `item ${index + 1}` }));
    const startedAt: number[] = [];
    const settled = await slidingWindow(
      inputs,
      input.concurrency ?? DEFAULT_CONCURRENCY,
      (x) =>
        executeChild(ensembleItem, {
          workflowId: `${parentId}/item-${x.index + 1}`,
          args: [x],
          staticSummary: `item ${x.index + 1} (${gist(x.item.id, 40)}): ${x.members.length} models`,
        }),
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
  progress.phase = 'done';
  progress.answered = items.filter((i) => i.answer !== undefined).length;
  const summary = summarizeItems(
    items,
    input.members.map((m) => m.model),
    input.aggregate,
  );
  status(
    'done',
    `**Done**: ${summary.answered} of ${total} answered${summary.noQuorum ? `, ${summary.noQuorum} without quorum` : ''}${
      summary.accuracy ? `; accuracy ${(summary.accuracy.answer * 100).toFixed(1)}%` : ''
    }.`,
  );
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
  };
}
