/**
 * Quorum fan-in for workflow code: run N branches, proceed as soon as K of them have produced an
 * acceptable result (or at a deadline), and deal with the stragglers by policy — the building block
 * under ensembles (K of N votes), races and speculation (K = 1, staggered starts, a validator) and
 * multi-source search (every source that answers within its time).
 *
 * Each branch runs in a cancellation scope of its own, so "cancel the stragglers" reaches exactly
 * their activities, timers and child workflows. Every decision is made on the workflow clock from
 * events in history (a branch completing, a timer firing), so which branches counted, which lost
 * and which timed out is the same on replay. The report is keyed by branch index and says, for
 * each branch, what became of it and when.
 */
import { ApplicationFailure, CancellationScope, condition, isCancellation, sleep } from '@temporalio/workflow';
import { failureMessage, outOfTime } from '../shared/failures';
import { recordFanInWait } from './metrics';

/** What became of a branch. */
export type QuorumStatus =
  /** It produced an accepted result before the quorum was met; its value counts. */
  | 'counted'
  /** It produced an accepted result after the quorum was met (detached stragglers only); not counted. */
  | 'late'
  /** It produced a result the `accept` check refused. */
  | 'invalid'
  /** It failed. */
  | 'failed'
  /** It was still running when the quorum was met or the deadline passed, and was cancelled. */
  | 'cancelled'
  /**
   * It was still running at the deadline (and, with `detach`, left running), or it failed because
   * its own time limit ran out (an activity's or child's timeout): either way, no answer in time.
   */
  | 'timed-out'
  /** It was still running when the quorum was met, and was left running (`detach`). */
  | 'detached'
  /** Its staggered start had not come when the quorum was met. */
  | 'not-started'
  /** Running: the report is read before the branch ended. */
  | 'running';

/** What a branch's status comes to once the quorum is decided: its result counts (or came late), or why not. */
export type QuorumOutcome = 'accepted' | 'invalid' | 'failed' | 'timed-out' | 'cancelled';

export function outcomeOf(status: QuorumStatus): QuorumOutcome {
  switch (status) {
    case 'counted':
    case 'late':
      return 'accepted';
    case 'invalid':
    case 'failed':
    case 'timed-out':
      return status;
    default:
      return 'cancelled'; // cancelled, detached, not started, or read while running
  }
}

export interface QuorumBranchReport<T> {
  index: number;
  status: QuorumStatus;
  /** Workflow-clock times (epoch ms); `startedAt` is absent for a branch that never started. */
  startedAt?: number;
  endedAt?: number;
  value?: T;
  /** Why it failed or was refused. */
  reason?: string;
}

export interface QuorumOptions<T> {
  /** Accepted results needed: 1 makes a race, N waits for every branch. */
  k: number;
  /**
   * `quorum` (default): proceed as soon as K results are accepted. `all`: keep collecting until every
   * branch has settled (or the deadline), counting every accepted result — a vote that wants every
   * member's answer but holds only with K of them. Either way the wait ends early once K accepted
   * results can no longer come.
   */
  collect?: 'quorum' | 'all';
  /** Stop waiting this long after the start (ms), with what has arrived; the quorum is then not met. */
  deadlineMs?: number;
  /**
   * Branches still running once the quorum is met or the deadline passes: `cancel` requests their
   * cancellation and waits for them to settle (so what they report on the way out, e.g. spend, is
   * known); `detach` leaves them running and returns at once.
   */
  stragglers?: 'cancel' | 'detach';
  /** Branch i starts `startAfterMs[i]` after the start (staggered speculation); default: all at once. */
  startAfterMs?: readonly number[];
  /**
   * Returns true to count a result, or a reason (string) to refuse it — or a promise of either, for a
   * check that asks something (a judge model). Default: every result counts.
   */
  accept?: (value: T, index: number) => true | string | Promise<true | string>;
  /** Called as each branch settles (progress displays, current details). */
  onSettle?: (report: QuorumBranchReport<T>) => void;
}

export interface QuorumResult<T> {
  /** True when K accepted results arrived before the deadline. */
  met: boolean;
  /** The K asked for. */
  k: number;
  /** Indexes of the counted branches, in the order they were accepted. */
  counted: number[];
  /** Every branch, by index. Detached branches keep updating this report as they end. */
  branches: QuorumBranchReport<T>[];
  /** Workflow-clock time from the start to the quorum being met (or given up on). */
  elapsedMs: number;
}

export async function quorum<T>(branches: readonly ((index: number) => Promise<T>)[], o: QuorumOptions<T>): Promise<QuorumResult<T>> {
  const n = branches.length;
  // A bad quorum fails the run (not just the workflow task, which would retry for ever).
  const invalid = (message: string) => ApplicationFailure.nonRetryable(message, 'InvalidInput');
  if (!Number.isInteger(o.k) || o.k < 1 || o.k > n) throw invalid(`a quorum needs 1 ≤ k ≤ ${n} (the branches), got k = ${o.k}`);
  if (o.startAfterMs && o.startAfterMs.length !== n) throw invalid(`startAfterMs has ${o.startAfterMs.length} entries for ${n} branches`);
  const t0 = Date.now();
  const reports: QuorumBranchReport<T>[] = branches.map((_, index) => ({ index, status: 'running' }));
  const counted: number[] = [];
  let settled = 0;
  let decided = false;
  /** When the first branch ended before the decision (workflow clock), for the fan-in wait. */
  let firstDone: number | undefined;

  const scopes = branches.map(() => new CancellationScope());
  const runs = branches.map((branch, i) =>
    scopes[i]!.run(async () => {
      const r = reports[i]!;
      try {
        const delay = o.startAfterMs?.[i] ?? 0;
        if (delay > 0) await sleep(delay);
        r.startedAt = Date.now();
        const value = await branch(i);
        let verdict = o.accept ? o.accept(value, i) : true;
        // Awaited only when it is a promise, so a synchronous check adds no step to the sequence.
        if (typeof verdict === 'object') verdict = await verdict;
        if (verdict === true) {
          r.value = value;
          if (decided) r.status = 'late';
          else {
            r.status = 'counted';
            counted.push(i);
          }
        } else {
          r.status = 'invalid';
          r.reason = verdict;
          r.value = value;
        }
      } catch (err) {
        // A branch cancelled by this quorum keeps the status it was given when it was cancelled.
        if (isCancellation(err) && (r.status !== 'running' || decided)) return;
        if (isCancellation(err) && CancellationScope.current().consideredCancelled) throw err;
        r.status = outOfTime(err) ? 'timed-out' : 'failed';
        r.reason = failureMessage(err);
      } finally {
        r.endedAt ??= Date.now();
        if (!decided) firstDone ??= r.endedAt;
        settled++;
        o.onSettle?.({ ...r });
      }
    }),
  );
  // A cancellation of the workflow itself reaches every branch scope (they are children of the
  // current scope) and rejects its run; the others end as they were told.
  const all = Promise.allSettled(runs);

  const enough = () => (o.collect !== 'all' && counted.length >= o.k) || settled === n || counted.length + (n - settled) < o.k;
  const inTime = o.deadlineMs === undefined ? (await condition(enough), true) : await condition(enough, o.deadlineMs);
  decided = true;
  const met = counted.length >= o.k;
  const elapsedMs = Date.now() - t0;
  // The fan-in waited from the first branch's end until the quorum was decided.
  if (n > 1 && firstDone !== undefined) recordFanInWait(Date.now() - firstDone);

  const policy = o.stragglers ?? 'cancel';
  for (const [i, r] of reports.entries()) {
    if (r.status !== 'running') continue;
    if (r.startedAt === undefined) {
      r.status = 'not-started';
      r.endedAt = Date.now();
      scopes[i]!.cancel();
    } else if (policy === 'cancel') {
      r.status = inTime ? 'cancelled' : 'timed-out';
      r.endedAt = Date.now();
      scopes[i]!.cancel();
    } else {
      r.status = inTime ? 'detached' : 'timed-out';
    }
  }
  if (policy === 'cancel') {
    const outcomes = await all;
    // The workflow itself was cancelled while we waited: propagate, as fan-out does.
    const cancelled = outcomes.find((x) => x.status === 'rejected');
    if (cancelled?.status === 'rejected') throw cancelled.reason;
  }
  return { met, k: o.k, counted, branches: reports, elapsedMs };
}
