/**
 * `--budget` and `--on-budget` for the commands whose model calls take the worker's default
 * `max_tokens` (ask, pipeline, ensemble): the run's budget setting, priced at this CLI's models and
 * price table, or a usage error before anything starts. (`braid summarize` builds its own: its
 * calls' max_tokens are fixed by the job.)
 */
import { config } from '../config';
import { budgetSettingProblem, type InFlightPolicy, type RunBudgetSetting } from '../shared/budget';
import { UsageError } from './errors';

/** The setting for `--budget <usd>` (undefined without one); `more` names models the run calls beyond the two roles. */
export function budgetSetting(
  usd: number | undefined,
  onBudget: InFlightPolicy | undefined,
  more: readonly string[] = [],
): RunBudgetSetting | undefined {
  if (usd === undefined) {
    if (onBudget !== undefined) throw new UsageError('--on-budget needs --budget');
    return undefined;
  }
  const c = config();
  const setting: RunBudgetSetting = { usd, models: { ...c.models }, maxTokens: c.maxTokens, ...(onBudget ? { inFlight: onBudget } : {}) };
  const problem = budgetSettingProblem(setting, c.prices, more);
  if (problem) throw new UsageError(`--budget: ${problem}`);
  return setting;
}
