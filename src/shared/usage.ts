/**
 * Adding up token usage, for every pattern: per call, per stage, per run, per model. Pure and free
 * of Node APIs, so workflow code uses it as well as the CLI and benchmarks.
 */
import type { TokenUsage, UsageSummary } from './types';

export const noUsage = (): TokenUsage => ({ inputTokens: 0, outputTokens: 0 });

export const noUsageSummary = (): UsageSummary => ({ total: noUsage(), byModel: {} });

/** Adds `more` into `into` and returns `into`. */
export function addUsage(into: TokenUsage, more: TokenUsage): TokenUsage {
  into.inputTokens += more.inputTokens;
  into.outputTokens += more.outputTokens;
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
