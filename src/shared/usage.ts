/**
 * Adding up token usage, for every pattern: per call, per stage, per run, per model. Pure and free
 * of Node APIs, so workflow code uses it as well as the CLI and benchmarks.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { TokenUsage, UsageSummary } from './types';

export const noUsage = (): TokenUsage => ({ inputTokens: 0, outputTokens: 0 });

export const noUsageSummary = (): UsageSummary => ({ total: noUsage(), byModel: {} });

/** Adds `more` into `into` and returns `into`. Cache counts appear only once a call had some. */
export function addUsage(into: TokenUsage, more: TokenUsage): TokenUsage {
  into.inputTokens += more.inputTokens;
  into.outputTokens += more.outputTokens;
  if (more.cacheReadTokens) into.cacheReadTokens = (into.cacheReadTokens ?? 0) + more.cacheReadTokens;
  if (more.cacheWriteTokens) into.cacheWriteTokens = (into.cacheWriteTokens ?? 0) + more.cacheWriteTokens;
  return into;
}

/** The sum of several usages, as a new object. */
export const sumUsage = (all: Iterable<TokenUsage>): TokenUsage => {
  const total = noUsage();
  for (const u of all) addUsage(total, u);
  return total;
};

/** Adds one model call's usage to a run's summary: to the total and to its model's line. */
export function addModelUsage(summary: UsageSummary, model: string, usage: TokenUsage): UsageSummary {
  addUsage(summary.total, usage);
  addUsage((summary.byModel[model] ??= noUsage()), usage);
  return summary;
}

/** Several runs' (or items') summaries added into a new one. */
export function mergeUsageSummaries(all: Iterable<UsageSummary>): UsageSummary {
  const out = noUsageSummary();
  for (const u of all) for (const [model, usage] of Object.entries(u.byModel)) addModelUsage(out, model, usage);
  return out;
}

/**
 * What a model call cancelled mid-stream had spent: its input, and the output streamed before the
 * cancel (estimated from the text received, since the final usage never arrived). The model
 * activity puts it in its cancellation's details; `spendOfCancelled` reads it back in the workflow.
 */
export interface PartialSpend {
  model: string;
  usage: TokenUsage;
  /** Always true: the output tokens are counted from the streamed text, not billed back. */
  estimated: true;
  /** How long the call had been streaming when it stopped. */
  streamedMs: number;
}

/** Characters per output token, for estimating a cancelled stream's output from its text. */
export const CHARS_PER_TOKEN = 4;

export const estimateOutputTokens = (chars: number): number => Math.ceil(chars / CHARS_PER_TOKEN);

const isSpend = (d: unknown): d is PartialSpend => {
  const s = d as Partial<PartialSpend> | undefined;
  return typeof s === 'object' && s !== null && typeof s.model === 'string' && typeof s.usage === 'object' && s.estimated === true;
};

/**
 * What the attempts of one model call that left no result spent: the model activity carries it from
 * attempt to attempt in its heartbeat details (history keeps only an activity's last attempt), puts
 * it in the details of the failure it ends with, and returns it with a result as `retriedSpend`.
 */
export interface SpendDetails {
  braidSpend: PartialSpend[];
}

/** The attempts' spend a heartbeat or failure details entry carries (empty when it carries none). */
export function spendIn(details: unknown): PartialSpend[] {
  const d = details as Partial<SpendDetails> | undefined;
  return Array.isArray(d?.braidSpend) ? d.braidSpend.filter(isSpend) : [];
}

/**
 * Everything a model call that failed or was cancelled had spent, every attempt included: the
 * cancelled attempt's own spend and the spend its failed earlier attempts carried, found anywhere in
 * the failure chain. Empty for a failure that says nothing of spend (e.g. a call never sent).
 */
export function spendOfFailure(err: unknown): PartialSpend[] {
  let e: unknown = err;
  while (e instanceof Error) {
    if (e instanceof CancelledFailure || e instanceof ApplicationFailure) {
      const details: unknown[] = e.details ?? [];
      const own = e instanceof CancelledFailure && isSpend(details[0]) ? [details[0]] : [];
      const carried = details.flatMap(spendIn);
      if (own.length || carried.length) return [...carried, ...own];
    }
    e = e.cause;
  }
  return [];
}

/**
 * The spend a cancelled model call reported on its way out (see `PartialSpend`), found anywhere in
 * the failure chain (an ActivityFailure around the activity's CancelledFailure); undefined for any
 * other failure, or a call cancelled before it was sent.
 */
export function spendOfCancelled(err: unknown): PartialSpend | undefined {
  let e: unknown = err;
  while (e instanceof Error) {
    if (e instanceof CancelledFailure) {
      const d = e.details[0] as Partial<PartialSpend> | undefined;
      if (d && typeof d.model === 'string' && d.usage && d.estimated === true) return d as PartialSpend;
    }
    e = e.cause;
  }
  return undefined;
}
