/**
 * Full-jitter exponential backoff, applied by activities through `nextRetryDelay`.
 *
 * Temporal's RetryPolicy backs off exponentially but without jitter, so forty activities that fail
 * together (one 429 burst) retry together, fail together, and keep doing so. Each failed attempt
 * therefore picks its own delay uniformly in [0, min(cap, base·2^(attempt−1))] ("full jitter"),
 * added on top of any `retry-after` the provider sent, which stays a floor: the provider said "not
 * before", never "exactly then". Attempts stay bounded by the activity's RetryPolicy; the last
 * attempt's failure is made non-retryable with a message that says how many attempts were made, so
 * the run's error reads as a final verdict rather than a transient one.
 */
import { ApplicationFailure } from '@temporalio/common';

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  random?: () => number;
}

/** Delay before the retry that follows failed attempt `attempt` (1-based). */
export function fullJitterDelay(attempt: number, o: BackoffOptions, floorMs = 0): number {
  const ceiling = Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(0, Math.ceil(floorMs)) + Math.floor((o.random ?? Math.random)() * ceiling);
}

/**
 * The failure to throw for attempt `attempt` of `maxAttempts`: retryable ones get a jittered
 * `nextRetryDelay` (floor: the provider's retry-after); the last attempt becomes non-retryable.
 */
export function withBackoff(
  f: ApplicationFailure,
  attempt: number,
  maxAttempts: number | undefined,
  o: BackoffOptions,
  floorMs?: number,
): ApplicationFailure {
  if (f.nonRetryable) return f;
  const details = f.details ?? undefined;
  if (maxAttempts && maxAttempts > 0 && attempt >= maxAttempts) {
    return ApplicationFailure.create({
      message: `gave up after ${attempt} attempts: ${f.message}`,
      type: f.type ?? undefined,
      nonRetryable: true,
      details,
      cause: f.cause,
    });
  }
  const nextRetryDelay = fullJitterDelay(attempt, o, floorMs ?? (typeof f.nextRetryDelay === 'number' ? f.nextRetryDelay : 0));
  return ApplicationFailure.create({
    message: f.message,
    type: f.type ?? undefined,
    nonRetryable: false,
    details,
    cause: f.cause,
    nextRetryDelay,
  });
}
