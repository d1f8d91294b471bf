/**
 * Budgets: a run's most spend in US dollars, enforced before each model call starts.
 *
 * Spend is known only after a call, so a budget cannot be checked against it; instead each call
 * reserves its worst case first — its input-token bound at the model's input price plus its
 * `max_tokens` at the output price — and no call starts whose reservation would take reserved plus
 * spent past the budget. A call that ends gives back its reservation and is charged what it
 * actually spent, which is never more. So spend never passes the budget, whatever order the calls
 * end in; the price is that a run stops a little early (by up to one worst case per call in flight).
 *
 * The ledger is plain arithmetic, deterministic, so workflow code keeps it; the model activity
 * enforces each call's reservation once more (`LlmRequest.maxUsd`): it stops a stream that would
 * pass it, and starts no retry after an attempt that already spent part of it.
 *
 * Pure and free of Node APIs: workflows, the CLI and tests import it.
 */
import { priceOf, roundUsd, type PriceTable } from './pricing';
import type { ModelRole } from './types';

/** What a run does with calls in flight once a call cannot start: let them finish, or cancel them. */
export type InFlightPolicy = 'keep' | 'cancel';

/** A run's budget as its input carries it. */
export interface BudgetSetting {
  /** Most the run may spend, in US dollars (list prices, or the run's `prices`). */
  usd: number;
  /** Calls in flight when the budget is reached: `keep` (default) lets them finish, `cancel` stops them. */
  inFlight?: InFlightPolicy;
  /** The model each role names on the worker, to price reservations at; the CLI passes its configured ones. */
  models: Record<ModelRole, string>;
}

/** What a run with a budget reports about it (the result's `budget`). */
export interface BudgetReport {
  usd: number;
  /** What the calls counted against the budget spent (the run's cost.totalUsd for a run with one ledger). */
  spentUsd: number;
  /** True when a call could not start because its reservation would have passed the budget. */
  reached: boolean;
  /** Model calls not started because of the budget. */
  skippedCalls: number;
  /** Calls in flight cancelled because of the budget (`inFlight: 'cancel'`). */
  cancelledCalls: number;
}

/** The result status of a run that stopped because its budget was reached. */
export const BUDGET_REACHED = 'budget-reached';

/** Bounds of `--budget`, inclusive: a millionth of a dollar to a million dollars. */
export const BUDGET_LIMITS = { minUsd: 0.000001, maxUsd: 1_000_000 } as const;

/** Why `usd` is not a budget, or undefined when it is one. */
export function budgetProblem(usd: unknown): string | undefined {
  if (typeof usd !== 'number' || !Number.isFinite(usd)) return 'the budget must be a number of US dollars';
  if (usd < BUDGET_LIMITS.minUsd || usd > BUDGET_LIMITS.maxUsd)
    return `the budget must be from $${BUDGET_LIMITS.minUsd} to $${BUDGET_LIMITS.maxUsd.toLocaleString('en-US')}`;
  return undefined;
}

/** `--budget` as typed: "0.25", "$0.25", "2". Throws an Error with a one-line message otherwise. */
export function parseBudget(text: string): number {
  const t = text.trim().replace(/^\$/, '');
  const usd = /^\d+(\.\d+)?$|^\.\d+$/.test(t) ? Number(t) : NaN;
  const problem = Number.isNaN(usd) ? `"${text}" is not an amount of US dollars (e.g. 0.50)` : budgetProblem(usd);
  if (problem) throw new Error(`--budget: ${problem}`);
  return usd;
}

/**
 * The most one call can cost: `inputTokens` (a bound on what it sends) at the dearest input price —
 * a token the call writes to the prompt cache costs the cache-write price (5-minute entries, the only
 * ones Braid writes), above the plain input price — and `maxTokens` at the output price. Undefined for
 * a model with no price: such a call cannot be budgeted.
 */
export function worstCaseUsd(model: string, inputTokens: number, maxTokens: number, table?: PriceTable): number | undefined {
  const p = priceOf(model, table);
  if (!p) return undefined;
  return roundUsd((inputTokens * Math.max(p.input, p.cacheWrite5m) + maxTokens * p.output) / 1_000_000);
}

/** One call's hold on the budget, given back when it ends. */
export interface Reservation {
  usd: number;
}

/**
 * The ledger of one budget: spent plus reserved never passes `usd`. Once one reservation is
 * refused the budget counts as reached and every later one is refused too, so a run does not go on
 * starting smaller calls out of order after it said it stopped.
 */
export class BudgetLedger {
  spentUsd: number;
  reservedUsd = 0;
  reached = false;
  skippedCalls = 0;
  cancelledCalls = 0;

  constructor(
    readonly usd: number,
    spentUsd = 0,
  ) {
    this.spentUsd = spentUsd;
  }

  /** What is neither spent nor reserved. */
  get leftUsd(): number {
    return roundUsd(this.usd - this.spentUsd - this.reservedUsd);
  }

  /** Reserves `usd` for a call about to start; undefined (and the budget reached) when it does not fit. */
  reserve(usd: number): Reservation | undefined {
    if (this.reached || roundUsd(this.spentUsd + this.reservedUsd + usd) > this.usd) {
      this.reached = true;
      this.skippedCalls++;
      return undefined;
    }
    this.reservedUsd = roundUsd(this.reservedUsd + usd);
    return { usd };
  }

  /** A call ended: its reservation goes back and what it spent is charged. */
  settle(r: Reservation, spentUsd: number): void {
    this.reservedUsd = roundUsd(this.reservedUsd - r.usd);
    this.spentUsd = roundUsd(this.spentUsd + spentUsd);
  }

  report(): BudgetReport {
    return {
      usd: this.usd,
      spentUsd: this.spentUsd,
      reached: this.reached,
      skippedCalls: this.skippedCalls,
      cancelledCalls: this.cancelledCalls,
    };
  }
}

/** Several ledgers' reports (a tree's nodes, a run's segments) as one, against the run's whole budget. */
export function mergeBudgetReports(usd: number, parts: readonly (BudgetReport | undefined)[]): BudgetReport {
  const out: BudgetReport = { usd, spentUsd: 0, reached: false, skippedCalls: 0, cancelledCalls: 0 };
  for (const p of parts) {
    if (!p) continue;
    out.spentUsd = roundUsd(out.spentUsd + p.spentUsd);
    out.reached ||= p.reached;
    out.skippedCalls += p.skippedCalls;
    out.cancelledCalls += p.cancelledCalls;
  }
  return out;
}

/**
 * A budget for a pattern whose model calls take the worker's default `max_tokens` unless the run
 * sets one (ask, pipeline, ensemble): the run reserves each call at `maxTokens`, and sends it too,
 * so the reservation holds whatever the worker's default is. The CLI passes its BRAID_MAX_TOKENS.
 */
export interface RunBudgetSetting extends BudgetSetting {
  maxTokens: number;
}

/** Most `max_tokens` a budgeted call may be reserved at. */
export const MAX_BUDGET_MAX_TOKENS = 128_000;

/**
 * Why `b` is not a budget a run can keep, or undefined when it is: the amount, the policy, and a
 * price for every model the run may call (`models` of the setting and any `more` the run names,
 * role names resolved). Workflows check their input with it; the CLI says the same before starting.
 */
export function budgetSettingProblem(b: RunBudgetSetting, table?: PriceTable, more: readonly string[] = []): string | undefined {
  const problem = budgetProblem(b?.usd);
  if (problem) return problem;
  if (b.inFlight !== undefined && b.inFlight !== 'keep' && b.inFlight !== 'cancel') return 'budget.inFlight must be keep or cancel';
  if (!(Number.isInteger(b.maxTokens) && b.maxTokens >= 1 && b.maxTokens <= MAX_BUDGET_MAX_TOKENS))
    return `budget.maxTokens must be a whole number from 1 to ${MAX_BUDGET_MAX_TOKENS}`;
  const roles = ['fast', 'capable'] as const;
  for (const role of roles)
    if (typeof b.models?.[role] !== 'string' || !priceOf(b.models[role], table))
      return `budget.models.${role} (${String(b.models?.[role])}) has no price: a budget needs every model priced`;
  for (const name of more) {
    const model = b.models[name as ModelRole] ?? name;
    if (!priceOf(model, table)) return `the model ${model} has no price: a budget needs every model priced (set it in BRAID_MODEL_PRICES)`;
  }
  return undefined;
}

/**
 * A bound on the input tokens of a call that sends these texts: a token is at least one character,
 * plus room for the message framing (and, with tools, the tool-use system prompt the API adds).
 */
export function inputBound(texts: readonly (string | undefined)[], framing = 200): number {
  return texts.reduce((n, t) => n + (t?.length ?? 0), framing);
}
