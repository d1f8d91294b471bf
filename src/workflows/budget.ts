/**
 * Budgets in workflow code: the plumbing every pattern with `--budget` shares (summarize's tree
 * leaves, ask's turns, a pipeline's chains and their calls, an ensemble's items and members).
 *
 * A `RunBudget` holds one `BudgetLedger` (src/shared/budget.ts) and the calls running under it.
 * `run` reserves a call's worst case before it starts — or refuses it, fails it with
 * `BudgetReached`, and with the `cancel` policy cancels the calls in flight — then charges what the
 * call spent (its answer, and the streamed spend of attempts that failed or were cancelled, which
 * reach the workflow in `retriedSpend` or the failure's details) and gives the reservation back.
 * A call it cancelled fails with `BudgetReached` too, once its activity has reported its spend
 * (`budgeted` proxies wait for the cancellation to complete).
 *
 * Deterministic: plain arithmetic over results in history; the scopes are the workflow's own.
 */
import { ActivityCancellationType, ApplicationFailure, CancellationScope, type ActivityOptions } from '@temporalio/workflow';
import { BudgetLedger, type BudgetReport, type InFlightPolicy } from '../shared/budget';
import { formatUsd, roundUsd, usdFor, type PriceTable } from '../shared/pricing';
import type { ModelRole, TokenUsage } from '../shared/types';
import { spendOfFailure, type PartialSpend } from '../shared/usage';

/** The failure type of a call the budget did not let start, or cancelled in flight. */
export const BUDGET_REACHED_TYPE = 'BudgetReached';

/**
 * A model-call profile for a run with a budget: a cancel waits until the activity reports what it
 * streamed, and a shorter heartbeat timeout lets the cancel reach it within seconds (heartbeats,
 * which carry it, are throttled to 80 % of the timeout).
 */
export const budgeted = <P extends ActivityOptions>(profile: P): P & { cancellationType: ActivityCancellationType } => ({
  ...profile,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  heartbeatTimeout: '5 seconds',
});

/** What a model call (or an activity around one) returns about its spend. */
export interface CallSpend {
  model?: string;
  usage?: TokenUsage;
  retriedSpend?: PartialSpend[];
}

/** Dollars a call spent: its answer's usage, plus its failed and cancelled attempts' (estimated). */
export function spendUsd(
  model: string | undefined,
  usage: TokenUsage | undefined,
  lost: readonly PartialSpend[] | undefined,
  table?: PriceTable,
): number {
  let usd = model && usage ? (usdFor(model, usage, { table }) ?? 0) : 0;
  for (const l of lost ?? []) usd += usdFor(l.model, l.usage, { table }) ?? 0;
  return roundUsd(usd);
}

/** Whether a failure is the budget's: a call not started or cancelled by it, or a call whose stream would have passed its reservation. */
export function isBudgetStop(err: unknown): boolean {
  let e: unknown = err;
  while (e instanceof Error) {
    if (e instanceof ApplicationFailure && (e.type === BUDGET_REACHED_TYPE || e.type === 'LlmBudgetReached')) return true;
    e = e.cause;
  }
  return false;
}

/** The model id a role name or model id stands for, at the models the budget was priced with. */
export const budgetModel = (name: string, models: Record<ModelRole, string>): string => models[name as ModelRole] ?? name;

/** A ledger and the calls running under it. */
export class RunBudget {
  readonly ledger: BudgetLedger;
  private readonly inFlight = new Set<CancellationScope>();

  constructor(
    usd: number,
    private readonly policy: InFlightPolicy = 'keep',
    private readonly prices?: PriceTable,
    spentUsd = 0,
  ) {
    this.ledger = new BudgetLedger(usd, spentUsd);
  }

  get reached(): boolean {
    return this.ledger.reached;
  }

  report(): BudgetReport {
    return this.ledger.report();
  }

  /** The failure of a call that did not start (or was cancelled) because of the budget. */
  stop(what: 'not started' | 'cancelled in flight'): ApplicationFailure {
    return ApplicationFailure.nonRetryable(`${what}: the budget of ${formatUsd(this.ledger.usd)} was reached`, BUDGET_REACHED_TYPE);
  }

  /**
   * Runs `start` under a reservation of `worstUsd` (passed on as the call's `maxUsd`) and charges
   * what `spent` says the outcome cost. `calls` is how many model calls the work stands for (a
   * chain of stages, an item's members), counted as skipped when it cannot start (one call of it is
   * in flight when it is cancelled).
   */
  async run<T>(
    worstUsd: number,
    start: (maxUsd: number) => Promise<T>,
    spent: (outcome: { ok: true; value: T } | { ok: false; error: unknown }) => number,
    calls = 1,
  ): Promise<T> {
    const held = this.ledger.reserve(worstUsd);
    if (!held) {
      this.ledger.skippedCalls += calls - 1;
      if (this.policy === 'cancel') for (const scope of this.inFlight) scope.cancel();
      throw this.stop('not started');
    }
    const scope = new CancellationScope();
    this.inFlight.add(scope);
    try {
      const value = await scope.run(() => start(worstUsd));
      this.ledger.settle(held, spent({ ok: true, value }));
      return value;
    } catch (err) {
      this.ledger.settle(held, spent({ ok: false, error: err }));
      if (scope.consideredCancelled && !CancellationScope.current().consideredCancelled) {
        this.ledger.cancelledCalls++;
        throw this.stop('cancelled in flight');
      }
      throw err;
    } finally {
      this.inFlight.delete(scope);
    }
  }

  /** A model call (`llmTurn`, or an activity around one): charged its answer and its lost attempts' spend. */
  call<T extends CallSpend>(worstUsd: number, start: (maxUsd: number) => Promise<T>): Promise<T> {
    return this.run(worstUsd, start, (o) =>
      o.ok
        ? spendUsd(o.value.model, o.value.usage, o.value.retriedSpend, this.prices)
        : spendUsd(undefined, undefined, spendOfFailure(o.error), this.prices),
    );
  }
}
