/**
 * Flow control around one model call (used by the `llmTurn` activity): the model's breaker before
 * the call, the limiter's estimate settled after it, and the failure turned into what Temporal
 * should do next — a shared pause on 429, a breaker count on server-side trouble, and a verdict from
 * the call's attempt ledger (attempts.ts): a charged failure or a wait, each with a jittered
 * `nextRetryDelay` no sooner than the provider's retry-after or the breaker's cooldown.
 *
 * The half-open breaker lets one call through as its probe. The probe's outcome is the breaker's
 * business, not the caller's: a probe that fails like the outage did is a wait, so no chunk pays
 * for testing the endpoint; a probe the endpoint answers at all (even with a 4xx or a 429) closes
 * the breaker; a probe that ends without reaching the endpoint (a rate-budget wait, a cancellation)
 * frees the probe slot at once instead of keeping everyone out for another cooldown.
 */
import { APIConnectionError, APIError } from '@anthropic-ai/sdk';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { FlowControl } from '.';
import type { Attempts, Charge } from './attempts';
import { CircuitOpenError } from './breaker';
import { BudgetWaitTooLong, LimiterUnavailable } from './limiter';
import { recordRateLimited } from './metrics';

export interface FlowCall {
  flow: FlowControl;
  /** The model the call goes to (its fallback's, once routed: see routing.ts). */
  model: string;
  attempts: Attempts;
  /** Tokens taken from the budget before sending. */
  estimated: number;
  acquired: boolean;
  /** This call is the half-open breaker's probe. */
  probe: boolean;
}

/** Failure types that say the endpoint itself is unwell (they count towards opening its breaker). */
const ENDPOINT_FAILURES = new Set([
  'LlmServerError',
  'LlmOverloaded',
  'LlmTimeout',
  'LlmConnection',
  'LlmStreamStalled',
  'LlmStreamTruncated',
  'LlmMalformedResponse',
  'LlmStreamError',
]);

/** Statuses that mean "not serving right now", whatever was asked. */
const UNAVAILABLE_STATUSES = new Set([429, 502, 503, 504, 529]);

const warn = (message: string, err: unknown) => {
  try {
    Context.current().log.warn(message, { error: err instanceof Error ? err.message : String(err) });
  } catch {
    // outside an activity (unit use): nothing to log to
  }
};

export const breakerKey = (c: Pick<FlowCall, 'model'>) => `model:${c.model}`;

/**
 * Whether a failed attempt is charged or is a wait: waits are attempts the endpoint did not serve
 * (no answer at all, or an answer that says "not now") and the breaker's probe failing like the
 * outage did. An answer that came back unusable is charged, as is a malformed one even as a probe:
 * malformed answers that repeat are not an outage.
 */
export function chargeOf(failure: ApplicationFailure, err: unknown, probe: boolean): Charge {
  const type = failure.type ?? '';
  if (type === 'LlmCircuitOpen' || type === 'LlmBudgetWait' || type === 'LlmLimiterUnavailable') return 'wait';
  if (err instanceof APIConnectionError) return 'wait'; // refused, reset or timed out before any answer
  const status = err instanceof APIError ? err.status : undefined;
  if (typeof status === 'number' && UNAVAILABLE_STATUSES.has(status)) return 'wait';
  if (type === 'LlmOverloaded' || type === 'LlmRateLimited') return 'wait'; // also as SSE error events
  if (probe && ENDPOINT_FAILURES.has(type) && type !== 'LlmMalformedResponse') return 'wait';
  return 'charged';
}

/**
 * Checks the model's breaker. An open breaker fails the attempt at once — no request is sent — as
 * a wait whose retry comes after the cooldown, spread over up to one more cooldown so the waiting
 * calls do not return together. The call that finds the cooldown over becomes the probe.
 */
export function checkModelBreaker(c: FlowCall): void {
  try {
    c.probe = c.flow.breakers.check(breakerKey(c));
  } catch (err) {
    if (err instanceof CircuitOpenError) {
      const open = ApplicationFailure.create({ message: err.message, type: 'LlmCircuitOpen' });
      throw c.attempts.verdict(open, 'wait', c.flow.llmBackoff, err.retryInMs, c.flow.breakers.opts.cooldownMs);
    }
    throw err;
  }
}

/** Bookkeeping after a good answer; a limiter store that is down must not fail a call that succeeded. */
export async function flowSuccess(c: FlowCall, usage: { input: number; output: number }, headers: Headers | undefined): Promise<void> {
  c.flow.breakers.success(breakerKey(c));
  try {
    await c.flow.limiter.settle(c.model, c.estimated, usage);
    await c.flow.limiter.observe(c.model, headers);
  } catch (err) {
    warn('rate limiter bookkeeping failed', err);
  }
}

/**
 * A cancelled call: one cancelled because it ran out of time (start-to-close or heartbeat timeout)
 * counts against the endpoint like any timeout; any other cancellation frees the probe slot. Its
 * token estimate stays charged — the request was sent and may have been processed.
 */
export function flowCancelled(c: FlowCall, timedOut: boolean): void {
  if (timedOut) c.flow.breakers.failure(breakerKey(c), `${c.model}: the call timed out`);
  else if (c.probe) c.flow.breakers.release(breakerKey(c));
}

export async function flowFailure(c: FlowCall, err: unknown, failure: ApplicationFailure): Promise<ApplicationFailure> {
  const { limiter, breakers, llmBackoff } = c.flow;
  if (err instanceof BudgetWaitTooLong) {
    if (c.probe) breakers.release(breakerKey(c));
    const budget = ApplicationFailure.create({ message: err.message, type: 'LlmBudgetWait' });
    return c.attempts.verdict(budget, 'wait', llmBackoff, err.waitMs);
  }
  if (err instanceof LimiterUnavailable) {
    if (c.probe) breakers.release(breakerKey(c));
    const down = ApplicationFailure.create({ message: `${c.model}: ${err.message}`, type: 'LlmLimiterUnavailable' });
    return c.attempts.verdict(down, 'wait', llmBackoff);
  }
  try {
    const rejected = err instanceof APIError && typeof err.status === 'number';
    // A request the API refused used no tokens; a stream that broke mid-way keeps its charge.
    if (c.acquired && rejected) await limiter.settle(c.model, c.estimated, { input: 0, output: 0 });
    if (failure.type === 'LlmRateLimited') {
      recordRateLimited(c.model);
      if (err instanceof APIError) await limiter.observe(c.model, err.headers);
      await limiter.rateLimited(c.model, typeof failure.nextRetryDelay === 'number' ? failure.nextRetryDelay : undefined);
    }
  } catch (e) {
    warn('rate limiter bookkeeping failed', e);
  }
  const charge = chargeOf(failure, err, c.probe);
  if (failure.type && ENDPOINT_FAILURES.has(failure.type)) breakers.failure(breakerKey(c), failure.message);
  else if (c.probe && err instanceof APIError)
    breakers.success(breakerKey(c)); // it answered: the endpoint is up
  else if (c.probe) breakers.release(breakerKey(c));
  const floor = typeof failure.nextRetryDelay === 'number' ? failure.nextRetryDelay : 0;
  return c.attempts.verdict(failure, charge, llmBackoff, floor);
}
