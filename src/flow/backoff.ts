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
 *
 * Whatever the inputs, a delay is a whole number of milliseconds, at most a day, and at least MIN_RETRY_DELAY_MS:
 * Temporal reads a `nextRetryDelay` of zero as "no further retry" and ends the activity with retry
 * state TIMEOUT, so a jitter draw of 0 would turn a transient failure into a final one.
 */
import { ApplicationFailure } from '@temporalio/common';

/** Full-jitter backoff: the n-th retry waits a random time up to min(maxMs, baseMs · 2^(n−1)). */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  random?: () => number;
}

/** The shortest and the longest delay ever handed to Temporal. */
export const MIN_RETRY_DELAY_MS = 100;
export const MAX_RETRY_DELAY_MS = 24 * 3_600_000;

/** A whole number of milliseconds in [MIN_RETRY_DELAY_MS, MAX_RETRY_DELAY_MS]; NaN counts as the minimum. */
const clampDelay = (ms: number) => Math.min(MAX_RETRY_DELAY_MS, Math.max(MIN_RETRY_DELAY_MS, Math.ceil(finiteOr(ms, MIN_RETRY_DELAY_MS))));

const finiteOr = (n: number, fallback: number) => (Number.isFinite(n) ? n : fallback);

/** Delay before the retry that follows failed attempt `attempt` (1-based), clamped like every delay. */
export function fullJitterDelay(attempt: number, o: BackoffOptions, floorMs = 0): number {
  const base = Math.max(0, finiteOr(o.baseMs, 0));
  const max = Math.max(0, finiteOr(o.maxMs, base));
  const exponent = Math.min(52, Math.max(0, finiteOr(Math.floor(attempt), 1) - 1));
  const ceiling = Math.min(max, base * 2 ** exponent);
  const r = Math.min(1, Math.max(0, finiteOr((o.random ?? Math.random)(), 0)));
  const floor = Math.min(MAX_RETRY_DELAY_MS, Math.max(0, finiteOr(floorMs, 0)));
  return clampDelay(floor + Math.floor(r * Math.min(ceiling, MAX_RETRY_DELAY_MS)));
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
  if (maxAttempts && maxAttempts > 0 && attempt >= maxAttempts) return finalFailure(f, `gave up after ${attempt} attempts`);
  const nextRetryDelay = fullJitterDelay(attempt, o, floorMs ?? (typeof f.nextRetryDelay === 'number' ? f.nextRetryDelay : 0));
  return retryAfter(f, nextRetryDelay);
}

/** `f` as a final, non-retryable verdict whose message starts with `why`. */
export function finalFailure(f: ApplicationFailure, why: string): ApplicationFailure {
  return ApplicationFailure.create({
    message: `${why}: ${f.message}`,
    type: f.type ?? undefined,
    nonRetryable: true,
    details: f.details ?? undefined,
    cause: f.cause,
  });
}

/** `f` as a retryable failure whose next attempt comes after `delayMs`, clamped to [MIN_RETRY_DELAY_MS, MAX_RETRY_DELAY_MS]. */
export function retryAfter(f: ApplicationFailure, delayMs: number): ApplicationFailure {
  return ApplicationFailure.create({
    message: f.message,
    type: f.type ?? undefined,
    nonRetryable: false,
    details: f.details ?? undefined,
    cause: f.cause,
    nextRetryDelay: clampDelay(delayMs),
  });
}
