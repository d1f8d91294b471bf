/**
 * What the budget tests share: the real server with a worker and a quick simulator, run ids that say
 * what they test, and a run's budget setting.
 */
import { afterAll, beforeAll } from 'vitest';
import { config } from '../src/config';
import type { RunBudgetSetting } from '../src/shared/budget';
import type { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import { connect, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

export interface BudgetRig {
  h: Harness;
  sim: Simulator;
  worker: TestWorker;
}

/** The real server, a quick simulator and a worker with `registry`'s tools: started before a file's tests, stopped after. */
export function budgetRig(registry: () => ToolRegistry = () => new ToolRegistry()): BudgetRig {
  const rig = {} as BudgetRig;
  beforeAll(async () => {
    rig.h = await connect();
    rig.sim = await startSimulator({ latency: { ttftMs: 5, perTokenMs: 1 } });
    rig.worker = await startWorker(rig.h, registry(), rig.sim);
  });
  afterAll(async () => {
    await rig.worker?.shutdown();
    await rig.sim?.close();
    await rig.h?.close();
  });
  return rig;
}

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
