/** What the budget tests share: run ids that say what they test, and a run's budget setting. */
import { config } from '../src/config';
import type { RunBudgetSetting } from '../src/shared/budget';

/** The models a run's budget prices: the configured roles. */
export const budgetModels = config().models;

/** A workflow id for a budget test of `kind`, unique per call. */
export const budgetRunId = (kind: string): string => `budget-${kind}-${Math.random().toString(36).slice(2)}`;

/** A run's budget of `usd` at the configured models, 1,000 output tokens a call unless `more` says otherwise. */
export const budgetSetting = (usd: number, more: Partial<RunBudgetSetting> = {}): RunBudgetSetting => ({
  usd,
  models: budgetModels,
  maxTokens: 1000,
  ...more,
});
