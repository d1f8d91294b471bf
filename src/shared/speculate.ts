/**
 * `braid ask --speculate`'s contract: a question answered by a race of strategies (src/workflows/
 * race.ts) — the answer cache, the fast model alone, the full tool agent — started staggered; the
 * first valid answer wins and the others are cancelled. Shared by the workflow, the worker and the
 * CLI; no Node APIs.
 */
import { defineQuery } from '@temporalio/workflow';
import { hedgeProblem, MAX_QUESTION_CHARS, MAX_TURNS, type AskHedge } from './ask';
import { gist } from './content';
import type { CostSummary } from './pricing';
import type { RunLabels, UsageSummary } from './types';

/** The workflow type (frozen once shipped). */
export const SPECULATE_WORKFLOW = 'speculativeAsk';

/**
 * The strategies Braid knows: `cache` (a stored answer to the same normalised question, tools and
 * data version), `fast` (the fast model answers alone, in one turn, no tools), `retrieval` (one search
 * of a `braid search` source, then the fast model answers from its top hits), `agent` (the tool
 * agent, `toolAgent`, as a child workflow).
 */
export const STRATEGY_NAMES = ['cache', 'fast', 'retrieval', 'agent'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export interface StrategySpec {
  name: StrategyName;
  /** Starts this long after the run does (ms). */
  startAfterMs: number;
}

/** The default race: the cache at once, the fast model at +50 ms, the full agent at +200 ms. */
export const DEFAULT_STRATEGIES: readonly StrategySpec[] = [
  { name: 'cache', startAfterMs: 0 },
  { name: 'fast', startAfterMs: 50 },
  { name: 'agent', startAfterMs: 200 },
];

/** A stagger longer than this is a mistake, not a strategy. */
export const MAX_START_AFTER_MS = 60_000;

/**
 * Validators: `non-empty` accepts an answer with text that the model finished (not cut at max_tokens);
 * `judge` asks the fast model, besides, to approve the answer (it chooses between the answer and a
 * refusal to answer), its calls charged to the strategy it judged.
 */
export const VALIDATORS = ['non-empty', 'judge'] as const;
export type ValidatorName = (typeof VALIDATORS)[number];

export interface SpeculateInput {
  question: string;
  /** The strategies and their starts; default DEFAULT_STRATEGIES. */
  strategies?: StrategySpec[];
  validator?: ValidatorName;
  /** Tools offered to the agent (default: every tool the worker registers); part of the cache key. */
  tools?: string[];
  /** The agent's turn limit. */
  maxTurns?: number;
  /** Cached answers live this long (ms); default DEFAULT_CACHE_TTL_MS. */
  cacheTtlMs?: number;
  /** Hedge the agent strategy's slow model turns (as `braid ask --hedge`); default none. */
  hedge?: AskHedge;
  /** The source the `retrieval` strategy searches (a `braid search` source on the worker); default DEFAULT_RETRIEVAL_SOURCE. */
  retrievalSource?: string;
}

/** The `retrieval` strategy searches the handbook unless told otherwise. */
export const DEFAULT_RETRIEVAL_SOURCE = 'handbook';
/** Hits the `retrieval` strategy gives the fast model. */
export const RETRIEVAL_HITS = 5;
/** The `retrieval` strategy's search has this long. */
export const RETRIEVAL_TIMEOUT_MS = 5_000;

/** A cached answer lives an hour unless told otherwise; its data version changing ends it sooner. */
export const DEFAULT_CACHE_TTL_MS = 60 * 60_000;

/** The fast strategy's answer is short. */
export const FAST_MAX_TOKENS = 512;

/** What became of a strategy: won, lost and cancelled, refused by the validator, failed, out of time, or never started. */
export type SpeculateStatus = 'won' | 'lost-cancelled' | 'invalid' | 'failed' | 'timed-out' | 'not-started';

export interface StrategyReport {
  name: StrategyName;
  status: SpeculateStatus;
  /** Offsets from the run's start (ms); absent for a strategy that never started. */
  startMs?: number;
  endMs?: number;
  reason?: string;
  /** Tokens it spent (a cancelled model call's as streamed before the cancel). */
  tokens: number;
  costUsd: number;
  /** True when part of its spend is estimated (a call cut mid-stream). */
  estimated: boolean;
}

export interface SpeculateResult {
  answer: string;
  winner: StrategyName;
  strategies: StrategyReport[];
  /** Workflow-clock time from the start to the winning answer. */
  elapsedMs: number;
  usage: UsageSummary;
  cost: CostSummary;
  /** Whether the winning answer was stored in the cache (a cache hit is not stored again). */
  cached: boolean;
}

export interface SpeculateProgress {
  phase: 'racing' | 'done';
  strategies: StrategyReport[];
}

export const speculateProgressQuery = defineQuery<SpeculateProgress>('speculateProgress');

/** What is wrong with an input, or undefined; the CLI and the workflow both check it. */
export function speculateProblem(input: SpeculateInput): string | undefined {
  const q = input.question.trim();
  if (!q) return 'the question is empty';
  if (q.length > MAX_QUESTION_CHARS) return `the question is ${q.length} characters; the limit is ${MAX_QUESTION_CHARS}`;
  const strategies = input.strategies ?? DEFAULT_STRATEGIES;
  if (strategies.length === 0) return 'speculation needs at least one strategy';
  const seen = new Set<string>();
  for (const s of strategies) {
    if (!(STRATEGY_NAMES as readonly string[]).includes(s.name))
      return `unknown strategy "${String(s.name)}" (known: ${STRATEGY_NAMES.join(', ')})`;
    if (seen.has(s.name)) return `strategy "${s.name}" is given twice`;
    seen.add(s.name);
    if (!Number.isInteger(s.startAfterMs) || s.startAfterMs < 0 || s.startAfterMs > MAX_START_AFTER_MS)
      return `strategy "${s.name}" starts after ${s.startAfterMs} ms; give 0-${MAX_START_AFTER_MS}`;
  }
  if (strategies.every((s) => s.name === 'cache')) return 'the cache alone cannot answer a question it has not seen: add fast or agent';
  if (input.validator && !(VALIDATORS as readonly string[]).includes(input.validator))
    return `unknown validator "${String(input.validator)}" (known: ${VALIDATORS.join(', ')})`;
  if (input.maxTurns !== undefined && (!Number.isInteger(input.maxTurns) || input.maxTurns < 1 || input.maxTurns > MAX_TURNS))
    return `maxTurns must be 1-${MAX_TURNS}`;
  if (input.cacheTtlMs !== undefined && (!Number.isInteger(input.cacheTtlMs) || input.cacheTtlMs < 1))
    return 'the cache TTL must be a positive whole number of ms';
  const hedge = input.hedge && hedgeProblem(input.hedge);
  if (hedge) return hedge;
  if (input.retrievalSource !== undefined && !/^[a-z0-9][a-z0-9_-]{0,39}$/i.test(input.retrievalSource))
    return `"${input.retrievalSource}" is not a source name`;
  return undefined;
}

/** The run's static summary and details, for whoever starts it. */
export function speculateLabels(input: SpeculateInput): RunLabels {
  const strategies = (input.strategies ?? DEFAULT_STRATEGIES).map((s) => `${s.name} +${s.startAfterMs} ms`).join(', ');
  return {
    summary: `ask (speculative): ${gist(input.question, 90)}`,
    details: [
      `**Question:** ${gist(input.question, 500)}`,
      `**Strategies:** ${strategies} · **validator:** ${input.validator ?? 'non-empty'}`,
    ].join('\n\n'),
  };
}

/**
 * The cache key's question part: case, surrounding and repeated whitespace and trailing punctuation
 * do not make a different question.
 */
export function normalizeQuestion(question: string): string {
  return question
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\s?.!]+$/, '');
}
