/**
 * A race of strategies for workflow code (speculative execution): several ways to the same answer
 * start staggered (a cache at 0 ms, a fast model at +50 ms, a full agent at +200 ms …), a validator
 * decides whether a candidate is acceptable, the first acceptable one wins and the others are
 * cancelled — their activities and child workflows really stop — and what the losers had spent by
 * then is charged to the run, marked estimated.
 *
 * It is the quorum (quorum.ts) with K = 1, staggered starts, `accept` as the validator and the
 * stragglers cancelled and waited for, so a loser's model call reports its streamed spend on the way
 * out (`Spend.model`, with the call made `cancellable`). Which strategy won, and what became of each,
 * is decided from events in history and so holds on replay. No valid candidate fails the run with
 * each strategy's reason.
 */
import { ActivityCancellationType, ApplicationFailure, type ActivityOptions } from '@temporalio/workflow';
import type { LlmResult, TokenUsage, UsageSummary } from '../shared/types';
import { addCall, emptyCost, mergeCosts, type CostSummary } from '../shared/pricing';
import { addModelUsage, mergeUsageSummaries, noUsageSummary, spendOfFailure } from '../shared/usage';
import { quorum, type QuorumBranchReport } from './quorum';

/**
 * Activity options for a call a race may cancel: the workflow waits until the activity has stopped,
 * so its cancellation (with the spend it reports) is in history before the race returns.
 */
export const cancellable = <P extends ActivityOptions>(profile: P): P & { cancellationType: ActivityCancellationType } => ({
  ...profile,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/** What one strategy spent: its model calls' usage and dollars, the cancelled ones' estimated. */
export class Spend {
  readonly usage: UsageSummary = noUsageSummary();
  readonly cost: CostSummary = emptyCost();

  /** Charges a usage to this strategy; `estimated` for spend inferred from a stream that was cut. */
  charge(model: string, usage: TokenUsage, estimated = false): void {
    addModelUsage(this.usage, model, usage);
    addCall(this.cost, model, usage, { estimated });
  }

  /**
   * Awaits a model call (`llmTurn`), charging its usage — and, as estimated, what its failed
   * attempts streamed, or if it was cancelled mid-stream or failed, what it streamed before — and
   * passes its result or failure on.
   */
  async model(call: Promise<LlmResult>): Promise<LlmResult> {
    try {
      const r = await call;
      this.charge(r.model, r.usage);
      for (const s of r.retriedSpend ?? []) this.charge(s.model, s.usage, true);
      return r;
    } catch (err) {
      for (const s of spendOfFailure(err)) this.charge(s.model, s.usage, true);
      throw err;
    }
  }
}

export interface Strategy<T> {
  /** Names the strategy in the report and in the failure when nothing wins. */
  name: string;
  /** Starts this long after the race does (ms); default 0. */
  startAfterMs?: number;
  /** Produces a candidate; charge model calls to `spend` (`spend.model(...)`) so the race can report them. */
  run: (spend: Spend) => Promise<T>;
}

/** What became of a strategy. */
export type RaceStatus = 'won' | 'lost-cancelled' | 'invalid' | 'failed' | 'timed-out' | 'not-started';

export interface RaceBranch<T> {
  name: string;
  status: RaceStatus;
  /** Workflow-clock times (epoch ms); `startedAt` is absent for a strategy whose start had not come. */
  startedAt?: number;
  endedAt?: number;
  /** Why it failed, was refused, or was cancelled. */
  reason?: string;
  /** Its candidate, when it produced one (the winner's, and refused ones). */
  value?: T;
  usage: UsageSummary;
  cost: CostSummary;
}

export interface RaceOptions<T> {
  /**
   * Returns true to accept a candidate, or the reason it is refused; may ask something (a judge), whose
   * model calls it charges to the strategy's `spend`. Default: every candidate.
   */
  validate?: (value: T, strategy: string, spend: Spend) => true | string | Promise<true | string>;
  /** Give up this long after the start (ms): the run fails with each strategy's state. */
  deadlineMs?: number;
  /** Called as each strategy settles. */
  onSettle?: (branch: RaceBranch<T>) => void;
}

export interface RaceResult<T> {
  winner: string;
  value: T;
  /** Every strategy, in the order given. */
  branches: RaceBranch<T>[];
  /** Every strategy's spend added up, the losers' included (their cut streams as estimated). */
  usage: UsageSummary;
  cost: CostSummary;
  /** Workflow-clock time from the start to the winner being accepted. */
  elapsedMs: number;
}

const STATUS: Record<QuorumBranchReport<unknown>['status'], RaceStatus> = {
  counted: 'won',
  late: 'lost-cancelled',
  invalid: 'invalid',
  failed: 'failed',
  cancelled: 'lost-cancelled',
  'timed-out': 'timed-out',
  detached: 'lost-cancelled',
  'not-started': 'not-started',
  running: 'lost-cancelled',
};

/** Failure type of a race that no strategy won; its details hold every branch's report. */
export const NO_VALID_RESULT = 'NoValidResult';

/**
 * Runs the strategies as a race (see the module comment) and returns the winner with every
 * strategy's fate and spend, or fails (non-retryable, type `NoValidResult`) naming each strategy's reason.
 */
export async function race<T>(strategies: readonly Strategy<T>[], o: RaceOptions<T> = {}): Promise<RaceResult<T>> {
  if (strategies.length === 0) throw ApplicationFailure.nonRetryable('a race needs at least one strategy', 'InvalidInput');
  const names = new Set(strategies.map((s) => s.name));
  if (names.size !== strategies.length) throw ApplicationFailure.nonRetryable('race strategies need distinct names', 'InvalidInput');
  const spends = strategies.map(() => new Spend());
  const branch = (r: QuorumBranchReport<T>): RaceBranch<T> => ({
    name: strategies[r.index]!.name,
    status: STATUS[r.status],
    ...(r.startedAt !== undefined ? { startedAt: r.startedAt } : {}),
    ...(r.endedAt !== undefined ? { endedAt: r.endedAt } : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : r.status === 'cancelled' ? { reason: 'another strategy won' } : {}),
    ...(r.value !== undefined ? { value: r.value } : {}),
    usage: spends[r.index]!.usage,
    cost: spends[r.index]!.cost,
  });
  const q = await quorum(
    strategies.map((s, i) => () => s.run(spends[i]!)),
    {
      k: 1,
      stragglers: 'cancel',
      startAfterMs: strategies.map((s) => s.startAfterMs ?? 0),
      ...(o.deadlineMs !== undefined ? { deadlineMs: o.deadlineMs } : {}),
      ...(o.validate ? { accept: (v: T, i: number) => o.validate!(v, strategies[i]!.name, spends[i]!) } : {}),
      ...(o.onSettle ? { onSettle: (r: QuorumBranchReport<T>) => o.onSettle!(branch(r)) } : {}),
    },
  );
  const branches = q.branches.map(branch);
  const usage = mergeUsageSummaries(spends.map((s) => s.usage));
  const cost = mergeCosts(...spends.map((s) => s.cost));
  const won = q.counted[0];
  if (won === undefined) {
    const why = branches.map((b) => `${b.name}: ${b.status}${b.reason ? ` (${b.reason})` : ''}`).join('; ');
    throw ApplicationFailure.create({
      message: `no strategy gave a valid result — ${why}`,
      type: NO_VALID_RESULT,
      nonRetryable: true,
      details: [{ branches: branches.map(({ value: _v, ...b }) => b), usage, cost }],
    });
  }
  return { winner: strategies[won]!.name, value: q.branches[won]!.value as T, branches, usage, cost, elapsedMs: q.elapsedMs };
}
