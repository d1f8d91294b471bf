/**
 * Which attempts of a model call count as failures, carried from attempt to attempt.
 *
 * Temporal counts every attempt alike, but a model call's attempts end in two different ways. Some
 * are *charged*: the endpoint answered and the answer was unusable (a 500, a malformed or truncated
 * stream), or the attempt ended without saying why (it timed out, its worker was lost). Those are
 * capped at `maxAttempts`, so a request that keeps failing — or an answer that keeps coming back
 * malformed — ends. Others are *waits*: the call was held back by Braid (an open breaker, an
 * exhausted rate budget), or the endpoint did not serve it at all (connection refused or reset before
 * an answer, no answer before the request timeout, 429, 502/503/504/529), or it was the probe of a
 * half-open breaker, which one call has to make for all. A wait says nothing about the request, so
 * it is never charged; instead, a run of consecutive waits is bounded in time by `outageBudgetMs`.
 * An outage shorter than the budget therefore costs time, never work.
 *
 * A wait ends its attempt at once, with a `nextRetryDelay`, rather than sleeping inside it: an
 * attempt that waited would hold a worker slot, and during an outage every model call of the fleet
 * would, starving tools and publication steps of slots; a retry held on the server costs no worker
 * anything, and Temporal writes no history event per retry.
 *
 * The model-call activities run with an unlimited Temporal RetryPolicy, and this ledger makes the
 * verdict. Each attempt knows its number; the waits so far travel in the activity's heartbeat
 * details (the last details an attempt records reach the next attempt, failure or not), so
 * charged = attempts before this one − waits recorded. An attempt that never records anything is
 * charged by that arithmetic, which also bounds a worker crash loop: an attempt that starts with
 * the charge used up fails at once. Where a RetryPolicy still sets maximumAttempts (calls scheduled
 * before this scheme), that limit is respected as well.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { finalFailure, fullJitterDelay, retryAfter, type BackoffOptions } from './backoff';

/** When a model call gives up: after so many charged attempts, or after waiting out an outage this long. */
export interface AttemptPolicy {
  /** Charged (failed) attempts after which a model call fails for good. */
  maxAttempts: number;
  /** How long a model call keeps waiting out an unavailable endpoint before it fails. */
  outageBudgetMs: number;
}

export const DEFAULT_ATTEMPT_POLICY: AttemptPolicy = { maxAttempts: 6, outageBudgetMs: 15 * 60_000 };

/** The slice of the activity Info the ledger reads. */
export interface AttemptInfo {
  attempt: number;
  heartbeatDetails?: unknown;
  retryPolicy?: { maximumAttempts?: number };
}

/** What heartbeats carry between attempts. */
export interface LedgerDetails {
  braidLedger: 1;
  /** Attempts so far that ended as waits. */
  waits: number;
  /** The last attempt that ended as a wait. */
  lastWaitAttempt: number;
  /** Consecutive waits ending with `lastWaitAttempt`, and when that run of waits began (epoch ms). */
  streak: number;
  waitingSince: number;
}

export type Charge = 'charged' | 'wait';

function readLedger(details: unknown): LedgerDetails | undefined {
  const d = details as Partial<LedgerDetails> | undefined;
  if (!d || d.braidLedger !== 1) return undefined;
  if (![d.waits, d.lastWaitAttempt, d.streak, d.waitingSince].every((n) => typeof n === 'number' && Number.isFinite(n))) return undefined;
  return d as LedgerDetails;
}

const judged = new WeakSet<object>();

/** True for a failure an Attempts ledger has already turned into a verdict (pass it on unchanged). */
export function isJudged(err: unknown): boolean {
  return typeof err === 'object' && err !== null && judged.has(err);
}

const mark = (f: ApplicationFailure) => (judged.add(f), f);

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
}

/** "gave up after 6 attempts", or with waits among them, "gave up after 6 failed attempts (and 9 waiting for the model)". */
function gaveUp(failed: number, attempt: number): string {
  const waits = attempt - failed;
  return `gave up after ${failed} ${waits > 0 ? `failed attempts (and ${waits} waiting for the model)` : 'attempts'}`;
}

export class Attempts {
  readonly attempt: number;
  /** Failed attempts charged before this one. */
  readonly charged: number;
  private ledger: LedgerDetails | undefined;
  private readonly startedAt: number;
  private readonly temporalMax: number | undefined;

  constructor(
    info: AttemptInfo,
    readonly policy: AttemptPolicy,
    private readonly heartbeat: (details: LedgerDetails | undefined) => void = () => {},
    private readonly clock: () => number = Date.now,
  ) {
    this.attempt = Math.max(1, info.attempt);
    this.ledger = readLedger(info.heartbeatDetails);
    // A ledger from a later attempt than this one cannot be ours; ignore it rather than undercount.
    if (this.ledger && this.ledger.lastWaitAttempt >= this.attempt) this.ledger = undefined;
    this.charged = Math.max(0, this.attempt - 1 - (this.ledger?.waits ?? 0));
    this.startedAt = this.clock();
    const max = info.retryPolicy?.maximumAttempts;
    this.temporalMax = max && max > 0 && Number.isFinite(max) ? max : undefined;
  }

  /** The details every heartbeat of this attempt must carry, so the ledger is never overwritten. */
  details(): LedgerDetails | undefined {
    return this.ledger;
  }

  /** Fails at once when the attempts before this one used up the charge (e.g. they kept timing out). */
  assertNotExhausted(what: string): void {
    if (this.charged < this.policy.maxAttempts) return;
    const f = ApplicationFailure.create({
      message: `${what}: its earlier attempts ended without an answer (timed out or their worker was lost)`,
      type: 'LlmAttemptsExhausted',
    });
    throw mark(finalFailure(f, `gave up after ${this.charged} failed attempts`));
  }

  /**
   * The failure this attempt ends with. A charged one is final when it uses up the last attempt;
   * a wait is final when the waiting has lasted the outage budget. Retryable verdicts get a jittered
   * `nextRetryDelay` no shorter than `floorMs` (a retry-after, a breaker's cooldown).
   */
  verdict(f: ApplicationFailure, charge: Charge, backoff: BackoffOptions, floorMs = 0, jitterCapMs?: number): ApplicationFailure {
    if (f.nonRetryable) return mark(f);
    // A RetryPolicy that still limits attempts (a call scheduled before this scheme) has the last word.
    if (this.temporalMax !== undefined && this.attempt >= this.temporalMax)
      return mark(finalFailure(f, `gave up after ${this.attempt} attempts`));
    if (charge === 'charged') {
      const failed = this.charged + 1;
      if (failed >= this.policy.maxAttempts) return mark(finalFailure(f, gaveUp(failed, this.attempt)));
      return mark(retryAfter(f, fullJitterDelay(failed, backoff, floorMs)));
    }
    const now = this.clock();
    const continuing = this.ledger !== undefined && this.ledger.lastWaitAttempt === this.attempt - 1;
    const since = continuing ? this.ledger!.waitingSince : this.startedAt;
    const streak = continuing ? this.ledger!.streak + 1 : 1;
    if (now - since >= this.policy.outageBudgetMs) {
      return mark(
        finalFailure(
          f,
          `gave up after waiting ${formatDuration(now - since)} for the model (outage budget ${formatDuration(this.policy.outageBudgetMs)})`,
        ),
      );
    }
    this.ledger = { braidLedger: 1, waits: (this.ledger?.waits ?? 0) + 1, lastWaitAttempt: this.attempt, streak, waitingSince: since };
    this.heartbeat(this.ledger);
    const jitter = jitterCapMs === undefined ? backoff : { ...backoff, maxMs: Math.min(backoff.maxMs, jitterCapMs) };
    return mark(retryAfter(f, fullJitterDelay(streak, jitter, floorMs)));
  }
}

/**
 * Runs one attempt of an activity built around a model call (summarize's map and reduce items)
 * under the same ledger: its own failures — a blob it cannot read, an answer that is not the JSON
 * asked for — are charged and capped like the model call's, which its unlimited RetryPolicy would
 * otherwise retry for ever. Verdicts the model call already made pass through unchanged.
 */
export async function withAttemptLedger<T>(policy: AttemptPolicy | undefined, what: string, body: () => Promise<T>): Promise<T> {
  if (!policy) return body();
  const ctx = Context.current();
  const attempts = new Attempts(ctx.info, policy);
  attempts.assertNotExhausted(what);
  try {
    return await body();
  } catch (err) {
    if (isJudged(err) || ctx.cancellationSignal.aborted) throw err;
    if (err instanceof ApplicationFailure && err.nonRetryable) throw err;
    const failed = attempts.charged + 1;
    if (failed < policy.maxAttempts) throw err; // Temporal's own retry interval applies
    const f =
      err instanceof ApplicationFailure
        ? err
        : ApplicationFailure.create({
            message: err instanceof Error ? err.message : String(err),
            type: err instanceof Error ? err.name : 'Error',
            cause: err instanceof Error ? err : undefined,
          });
    throw mark(finalFailure(f, gaveUp(failed, attempts.attempt)));
  }
}
