/**
 * `braid ensemble`'s contract: the same prompt to several models at once, and one answer from their
 * answers — a majority vote over a label set (classification), or a cheap judge that picks one of
 * the candidates without writing a new one. One prompt, or a batch of items each decided by its own
 * vote. Input, results, the progress query, the limits both the CLI and the workflow check, and the
 * pure rules of the decision (reading a member's label, the vote and its tie rule, the summary), so
 * the workflow, the CLI and the benchmark apply the same ones. No Node APIs.
 */
import { defineQuery } from '@temporalio/workflow';
import { budgetSettingProblem, type BudgetReport, type InFlightPolicy, type RunBudgetSetting } from './budget';
import type { CostSummary, ModelPrice } from './pricing';
import { gist } from './content';
import type { FallbackRoute, ModelRole, RoutedCall, RunLabels, TokenUsage, UsageSummary } from './types';

/** The workflow types: the names of the workflow functions in src/workflows/ensemble.ts (frozen). */
export const ENSEMBLE_WORKFLOW = 'modelEnsemble';
export const ENSEMBLE_ITEM_WORKFLOW = 'ensembleItem';

export const MAX_MEMBERS = 9;
export const MAX_LABELS = 40;
export const MAX_LABEL_CHARS = 40;
export const MAX_PROMPT_CHARS = 20_000;
export const MAX_CONTEXT_CHARS = 100_000;
/** Items of one batch: each is a child workflow of the run, whose history grows by about 6 events per item. */
export const MAX_ITEMS = 500;
export const MAX_CONCURRENCY = 100;

/**
 * Three model lines, the most accurate first — a tie goes to the earliest member — and distinct,
 * since distinct models make independent mistakes.
 */
export const DEFAULT_MEMBERS = ['claude-opus-4-6', 'claude-sonnet-4-6', 'claude-haiku-4-5'];
/** The judge: the worker's fast model. */
export const DEFAULT_JUDGE = 'fast';
export const DEFAULT_MEMBER_TIMEOUT_MS = 60_000;
export const DEFAULT_JUDGE_TIMEOUT_MS = 60_000;
export const DEFAULT_CONCURRENCY = 10;
/** Output budget of a member's label and of the judge's verdict with its reason. */
export const LABEL_MAX_TOKENS = 64;
export const JUDGE_MAX_TOKENS = 400;

/** How the members' answers become one: a majority vote (labels only), or a judge's choice among them. */
export type Aggregate = 'vote' | 'judge';

export interface EnsembleMember {
  /** A model id, or a role name (`fast`, `capable`) the worker resolves. */
  model: string;
  /** A system prompt of this member's own (a second voter on one model needs one). */
  system?: string;
  /** Model routing: where this member's calls may go while its model cannot take them. */
  fallback?: FallbackRoute;
}

export interface EnsembleItem {
  id: string;
  text: string;
  /** The right label, when known: the result then says who got it right. */
  expected?: string;
}

export interface EnsembleInput {
  /** One prompt (`braid ensemble "<prompt>"`); exactly one of `prompt` and `items`. */
  prompt?: string;
  /** A batch of items to classify (`--items`); needs `labels`. */
  items?: EnsembleItem[];
  /** Classification: every member answers with one of these, and the vote counts them. */
  labels?: string[];
  /** Material the members read with a free-form prompt; the judge sees only the prompt and the candidates. */
  context?: string;
  members: EnsembleMember[];
  aggregate: Aggregate;
  /** The judge's model (aggregate `judge`); default DEFAULT_JUDGE. */
  judge?: string;
  /** Valid answers needed for a decision; default a majority of the members. */
  quorum?: number;
  /** Each member's time for its answer, retries and waits included; a member out of time is a missing vote. */
  memberTimeoutMs?: number;
  /** The judge's time; a judge out of time leaves the decision to the vote (or the member order). */
  judgeTimeoutMs?: number;
  /** Items decided at once (batch). */
  concurrency?: number;
  /** Task queue for model calls; default the workflow's own. The CLI uses `<queue>-llm`. */
  llmTaskQueue?: string;
  maxTokens?: number;
  /** USD per million tokens by model, for `cost`; default the list prices (src/shared/pricing.ts). */
  prices?: Record<string, ModelPrice>;
  /**
   * The most the run may spend (src/shared/budget.ts): each member's and the judge's call reserves
   * its worst case before it starts (a batch: each item reserves all its calls'); a call that does
   * not fit is not started — a missing vote — and the run ends `budget-reached`.
   */
  budget?: RunBudgetSetting;
}

/** An item's share of the run's budget (batch), or the run's budget itself (one prompt). */
export interface ItemBudget {
  usd: number;
  inFlight: InFlightPolicy;
  models: Record<ModelRole, string>;
  maxTokens: number;
}

/** The run's static summary and details, for whoever starts it. */
export function ensembleLabels(input: EnsembleInput): RunLabels {
  const how = input.aggregate === 'judge' ? `judge ${input.judge ?? DEFAULT_JUDGE}` : 'majority vote';
  const what = input.items ? `${input.items.length} items` : 'one prompt';
  return {
    summary: `ensemble: ${what} × ${input.members.length} models (${how})`,
    details: [
      input.prompt ? `**Prompt:** ${gist(input.prompt, 500)}` : `**Items:** ${input.items?.length ?? 0}`,
      `**Models:** ${input.members.map((m) => m.model).join(', ')} · **decided by:** ${how}${input.labels ? ` · **labels:** ${input.labels.join(', ')}` : ''}`,
    ].join('\n\n'),
  };
}

/** One item's ensemble, as the run hands it to the item's workflow (a batch) or decides it itself (one prompt). */
export interface EnsembleItemInput {
  index: number;
  item: EnsembleItem;
  labels?: string[];
  context?: string;
  members: EnsembleMember[];
  aggregate: Aggregate;
  judge: string;
  quorum: number;
  memberTimeoutMs: number;
  judgeTimeoutMs: number;
  llmTaskQueue?: string;
  maxTokens?: number;
  prices?: Record<string, ModelPrice>;
  /** Batch: how the Web UI names the item's calls ("item 7"). */
  label?: string;
  /** The item's budget (runs with one). */
  budget?: ItemBudget;
}

/** What became of a member's answer: it voted, or its vote is missing and why. */
export type MemberStatus = 'voted' | 'invalid' | 'failed' | 'timed-out' | 'cancelled';

export interface MemberVote {
  member: number;
  /** The model asked (as configured: an id or a role). */
  model: string;
  /** The model that answered (its fallback's, when the call was routed). */
  answeredBy?: string;
  status: MemberStatus;
  /** The label (classification) or the answer text. */
  answer?: string;
  /** Why the vote is missing: the failure, the timeout, or what an invalid answer said. */
  reason?: string;
  /** Workflow-clock times (epoch ms). */
  startedAt?: number;
  endedAt?: number;
  usage?: TokenUsage;
  routed?: RoutedCall;
}

export interface JudgeOutcome {
  model: string;
  answeredBy?: string;
  status: 'chose' | 'invalid' | 'failed' | 'timed-out';
  /** What it was shown: candidate A, B, … */
  candidates: string[];
  choice?: string;
  /** Its reason (the reply after the verdict line), or why it gave none. */
  reason?: string;
  startedAt: number;
  endedAt: number;
  usage?: TokenUsage;
  routed?: RoutedCall;
}

/**
 * How the answer was reached: every valid vote agreed; the most votes; a tie (or, free-form, a judge
 * that could not decide) settled by member order — the earliest member among the tied wins; the
 * judge's choice; or no answer (quorum not held).
 */
export type DecidedBy = 'unanimous' | 'majority' | 'member-order' | 'judge' | 'none';

export interface VoteCount {
  /** The label the vote alone decides (the tie rule applied); absent without valid votes. */
  label?: string;
  /** Votes per label, in order of first vote. */
  counts: Record<string, number>;
  /** The labels that tied for the most votes, when they did. */
  tie?: string[];
}

export interface ItemOutcome {
  index: number;
  id: string;
  /** The ensemble's answer; absent when the quorum did not hold. */
  answer?: string;
  decidedBy: DecidedBy;
  /** Valid answers, members asked, and the quorum they were held to. */
  voted: number;
  members: number;
  quorum: number;
  quorumHeld: boolean;
  /** Classification: the vote, counted whatever the aggregate (so a judged run also says what the vote said). */
  vote?: VoteCount;
  judge?: JudgeOutcome;
  expected?: string;
  votes: MemberVote[];
  startedAt: number;
  elapsedMs: number;
  /** What the item's calls cost in dollars (members and judge). */
  costUsd: number;
  /** Per model; left out of a batch's items to keep its result small (the run's `usage` and `cost` add them up). */
  usage?: UsageSummary;
  cost?: CostSummary;
  simulated: boolean;
  /** The item could not be decided at all (its workflow failed, or the budget did not let it start). */
  error?: string;
  /** The item's budget ledger (runs with a budget). */
  budget?: BudgetReport;
}

export interface MemberAccuracy {
  member: number;
  model: string;
  /** Right answers over items with an expected label (a missing vote is not right). */
  accuracy: number;
  voted: number;
}

export interface EnsembleSummary {
  items: number;
  answered: number;
  /** Items whose quorum did not hold. */
  noQuorum: number;
  /** Member answers missing (failed, timed out, invalid, cancelled), over all items. */
  missingVotes: number;
  judgeCalls: number;
  routedCalls: number;
  /**
   * Over items with an expected label: each member alone, the majority vote, the judged answers (a
   * judged run: the judge's picks where members disagreed), and the answers given.
   */
  accuracy?: { labelled: number; byMember: MemberAccuracy[]; vote: number; judge?: number; answer: number };
}

export interface EnsembleResult {
  mode: 'single' | 'batch';
  aggregate: Aggregate;
  labels?: string[];
  members: string[];
  judge?: string;
  quorum: number;
  items: ItemOutcome[];
  summary: EnsembleSummary;
  usage: UsageSummary;
  cost: CostSummary;
  totalMs: number;
  /** Most items deciding at once (batch; never above concurrency). */
  peakRunning: number;
  simulated: boolean;
  /** `budget-reached` when calls did not start (or were cancelled) because of the budget; what was decided is kept. */
  status?: 'budget-reached';
  /** The budget and what was spent against it (runs with a budget only). */
  budget?: BudgetReport;
}

export interface EnsembleProgress {
  mode: 'single' | 'batch';
  total: number;
  done: number;
  running: number;
  answered: number;
  /** Single: each member's state so far. */
  votes?: MemberVote[];
  phase: 'voting' | 'judging' | 'done';
}

export const ensembleProgressQuery = defineQuery<EnsembleProgress>('ensembleProgress');

/** The default quorum: a majority of the members. */
export const majorityOf = (members: number): number => Math.floor(members / 2) + 1;

const norm = (s: string): string => s.trim().toLowerCase();

/** Why an ensemble cannot run, or undefined when it can; the CLI says the same before starting. */
export function ensembleProblem(input: EnsembleInput): string | undefined {
  const hasPrompt = typeof input.prompt === 'string';
  if (hasPrompt === Array.isArray(input.items)) return 'give either a prompt or items, not both or neither';
  if (hasPrompt && !input.prompt!.trim()) return 'the prompt is empty';
  if (hasPrompt && input.prompt!.length > MAX_PROMPT_CHARS)
    return `the prompt is ${input.prompt!.length} characters; the limit is ${MAX_PROMPT_CHARS}`;
  if ((input.context?.length ?? 0) > MAX_CONTEXT_CHARS)
    return `the context is ${input.context!.length} characters; the limit is ${MAX_CONTEXT_CHARS}`;
  const members = input.members ?? [];
  if (members.length < 2) return `an ensemble needs at least 2 members, got ${members.length}`;
  if (members.length > MAX_MEMBERS) return `an ensemble has at most ${MAX_MEMBERS} members, got ${members.length}`;
  for (const [i, m] of members.entries()) {
    if (typeof m?.model !== 'string' || !m.model.trim()) return `member ${i + 1} names no model`;
    const same = members.findIndex((o) => o.model === m.model && (o.system ?? '') === (m.system ?? ''));
    if (same < i) return `member ${i + 1} repeats member ${same + 1} (${m.model}, same prompt): it would vote the same way twice`;
    if (m.fallback && members.some((o) => o.model === m.fallback!.model))
      return `member ${i + 1}'s fallback ${m.fallback.model} is a member too: its vote would count twice`;
  }
  const quorum = input.quorum ?? majorityOf(members.length);
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > members.length)
    return `the quorum must be from 1 to ${members.length} (the members), got ${quorum}`;
  if (input.aggregate !== 'vote' && input.aggregate !== 'judge') return `unknown aggregate ${String(input.aggregate)}: use vote or judge`;
  if (input.labels !== undefined) {
    const labels = input.labels;
    if (labels.length < 2) return `a label set needs at least 2 labels, got ${labels.length}`;
    if (labels.length > MAX_LABELS) return `a label set has at most ${MAX_LABELS} labels, got ${labels.length}`;
    const bad = labels.find((l) => !l.trim() || l.length > MAX_LABEL_CHARS || /[\n,]/.test(l));
    if (bad !== undefined) return `label "${bad}" must be 1-${MAX_LABEL_CHARS} characters, without commas or line breaks`;
    const seen = new Set<string>();
    for (const l of labels) {
      if (seen.has(norm(l))) return `label "${l}" is given twice`;
      seen.add(norm(l));
    }
  }
  if (input.aggregate === 'vote' && input.labels === undefined) return 'a vote needs labels; a free-form prompt needs the judge';
  if (input.items) {
    if (input.labels === undefined) return 'a batch of items needs labels';
    if (input.items.length === 0) return 'there are no items';
    if (input.items.length > MAX_ITEMS) return `there are ${input.items.length} items; the limit is ${MAX_ITEMS} per run`;
    const ids = new Set<string>();
    for (const [i, item] of input.items.entries()) {
      if (typeof item?.text !== 'string' || !item.text.trim()) return `item ${i + 1} has no text`;
      if (item.text.length > MAX_PROMPT_CHARS) return `item ${i + 1} is ${item.text.length} characters; the limit is ${MAX_PROMPT_CHARS}`;
      if (ids.has(item.id)) return `item ${i + 1} repeats the id ${item.id}`;
      ids.add(item.id);
      if (item.expected !== undefined && labelOf(item.expected, input.labels) === undefined)
        return `item ${i + 1} (${item.id}) is labelled "${item.expected}", which is not one of the labels`;
    }
    const c = input.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(c) || c < 1 || c > MAX_CONCURRENCY)
      return `concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}, got ${c}`;
  }
  for (const [name, v] of [
    ['memberTimeoutMs', input.memberTimeoutMs],
    ['judgeTimeoutMs', input.judgeTimeoutMs],
  ] as const)
    if (v !== undefined && !(Number.isInteger(v) && v >= 1000)) return `${name} must be at least 1000 ms, got ${v}`;
  if (input.budget) {
    const called = [
      ...members.flatMap((m) => [m.model, ...(m.fallback ? [m.fallback.model] : [])]),
      ...(input.aggregate === 'judge' ? [input.judge ?? DEFAULT_JUDGE] : []),
    ];
    const problem = budgetSettingProblem(input.budget, input.prices, called);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * The label a reply names: the reply is the label (any case, quotes or a full stop around it), or
 * names exactly one of the labels as a whole word. Undefined for anything else — an invalid vote.
 */
export function labelOf(reply: string, labels: readonly string[]): string | undefined {
  const bare = norm(reply).replace(/^["'`*\s]+|["'`*.!\s]+$/g, '');
  const exact = labels.find((l) => norm(l) === bare);
  if (exact !== undefined) return exact;
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const named = labels.filter((l) => new RegExp(`(?:^|[^\\w-])${escape(norm(l))}(?![\\w-])`).test(norm(reply)));
  return named.length === 1 ? named[0] : undefined;
}

/**
 * The vote over valid answers, given in member order. Most votes win; a tie goes to the tied label
 * named by the earliest member (list members in the order you trust them).
 */
export function countVotes(answers: readonly string[]): VoteCount {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[a] = (counts[a] ?? 0) + 1;
  const top = Math.max(0, ...Object.values(counts));
  const tied = Object.keys(counts).filter((l) => counts[l] === top);
  if (tied.length === 0) return { counts };
  const label = tied.length === 1 ? tied[0] : answers.find((a) => tied.includes(a));
  return { label, counts, ...(tied.length > 1 ? { tie: tied } : {}) };
}

/** Accuracy over the items with an expected label, per member and per way of deciding. */
export function summarizeItems(items: readonly ItemOutcome[], members: readonly string[], aggregate: Aggregate): EnsembleSummary {
  const labelled = items.filter((i) => i.expected !== undefined);
  const share = (n: number) => (labelled.length ? n / labelled.length : 0);
  const right = (i: ItemOutcome, a: string | undefined) => a !== undefined && a === i.expected;
  const summary: EnsembleSummary = {
    items: items.length,
    answered: items.filter((i) => i.answer !== undefined).length,
    noQuorum: items.filter((i) => !i.quorumHeld).length,
    missingVotes: items.reduce((n, i) => n + i.votes.filter((v) => v.status !== 'voted').length, 0),
    judgeCalls: items.filter((i) => i.judge !== undefined).length,
    routedCalls: items.reduce((n, i) => n + i.votes.filter((v) => v.routed).length + (i.judge?.routed ? 1 : 0), 0),
  };
  if (labelled.length === 0) return summary;
  summary.accuracy = {
    labelled: labelled.length,
    byMember: members.map((model, member) => ({
      member,
      model,
      accuracy: share(labelled.filter((i) => right(i, i.votes[member]?.status === 'voted' ? i.votes[member]!.answer : undefined)).length),
      voted: labelled.filter((i) => i.votes[member]?.status === 'voted').length,
    })),
    vote: share(labelled.filter((i) => right(i, i.quorumHeld ? i.vote?.label : undefined)).length),
    answer: share(labelled.filter((i) => right(i, i.answer)).length),
  };
  // Judged: the judge decided where the members disagreed (the answers are its picks), so the vote is
  // what the same members would have given without it.
  if (aggregate === 'judge') summary.accuracy.judge = summary.accuracy.answer;
  return summary;
}

/**
 * The accuracy a vote of independent members should have, exactly: member i is wrong with
 * probability `errorRates[i]`, and a wrong member names one of the `labels − 1` wrong labels
 * uniformly (as the simulator's error model does). Wrong votes that split cannot outvote the right
 * one, so with more labels the vote does better than the two-label case, where they always coincide
 * (three members at rate p: error 3p² − 2p³). Ties go to the earliest member, as in countVotes. With
 * `judgeErrorRate`, also the judged accuracy: unanimous votes stand, and where the members disagree
 * the judge picks the right label, if any member named it, with probability 1 − that rate.
 * Exact enumeration over vote patterns up to relabelling of the wrong labels (cheap for ≤ 9 members).
 */
export function predictAccuracy(errorRates: readonly number[], labels: number, judgeErrorRate?: number): { vote: number; judge?: number } {
  const k = errorRates.length;
  let vote = 0;
  let judge = 0;
  // votes[i]: 0 = the right label, 1… = the wrong labels in order of first appearance.
  const walk = (i: number, votes: number[], used: number, prob: number): void => {
    if (prob === 0) return;
    if (i === k) {
      const { label } = countVotes(votes.map(String));
      if (label === '0') vote += prob;
      const distinct = new Set(votes).size;
      if (distinct === 1) judge += votes[0] === 0 ? prob : 0;
      else if (votes.includes(0)) judge += prob * (1 - (judgeErrorRate ?? 0));
      return;
    }
    const p = errorRates[i]!;
    walk(i + 1, [...votes, 0], used, prob * (1 - p));
    for (let w = 1; w <= used; w++) walk(i + 1, [...votes, w], used, (prob * p) / (labels - 1));
    if (used < labels - 1) walk(i + 1, [...votes, used + 1], used + 1, (prob * p * (labels - 1 - used)) / (labels - 1));
  };
  walk(0, [], 0, 1);
  return judgeErrorRate === undefined ? { vote } : { vote, judge };
}
