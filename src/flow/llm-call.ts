/**
 * Flow control around one model call (used by the `llmTurn` activity): the model's breaker before
 * the call, the limiter's estimate settled after it, and the failure turned into what Temporal
 * should do next — a shared pause on 429, a breaker count on server-side trouble, a jittered
 * `nextRetryDelay` with the provider's retry-after as its floor, a final verdict on the last attempt.
 */
import { APIError } from '@anthropic-ai/sdk';
import { Context, type Info } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { FlowControl } from '.';
import { withBackoff } from './backoff';
import { CircuitOpenError } from './breaker';
import { BudgetWaitTooLong, LimiterUnavailable } from './limiter';

export interface FlowCall {
  flow: FlowControl;
  model: string;
  /** Tokens taken from the budget before sending. */
  estimated: number;
  acquired: boolean;
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

const warn = (message: string, err: unknown) => {
  try {
    Context.current().log.warn(message, { error: err instanceof Error ? err.message : String(err) });
  } catch {
    // outside an activity (unit use): nothing to log to
  }
};

/**
 * An open breaker fails the attempt at once — no request is sent — but as a retryable failure
 * whose next attempt waits out the cooldown (plus jitter): the work is not lost to a passing outage,
 * and the retries arrive when a probe is allowed, not as a storm. The last attempt gives up.
 */
export function checkModelBreaker(c: FlowCall, info: Info): void {
  try {
    c.flow.breakers.check(`model:${c.model}`);
  } catch (err) {
    if (err instanceof CircuitOpenError) {
      const open = ApplicationFailure.create({ message: err.message, type: 'LlmCircuitOpen' });
      throw withBackoff(open, info.attempt, info.retryPolicy?.maximumAttempts, c.flow.llmBackoff, err.retryInMs);
    }
    throw err;
  }
}

/** Bookkeeping after a good answer; a limiter store that is down must not fail a call that succeeded. */
export async function flowSuccess(c: FlowCall, usage: { input: number; output: number }, headers: Headers | undefined): Promise<void> {
  c.flow.breakers.success(`model:${c.model}`);
  try {
    await c.flow.limiter.settle(c.model, c.estimated, usage);
    await c.flow.limiter.observe(c.model, headers);
  } catch (err) {
    warn('rate limiter bookkeeping failed', err);
  }
}

export async function flowFailure(c: FlowCall, err: unknown, failure: ApplicationFailure, info: Info): Promise<ApplicationFailure> {
  const { limiter, breakers, llmBackoff } = c.flow;
  const maxAttempts = info.retryPolicy?.maximumAttempts;
  if (err instanceof BudgetWaitTooLong) {
    const budget = ApplicationFailure.create({ message: err.message, type: 'LlmBudgetWait', nextRetryDelay: err.waitMs });
    return withBackoff(budget, info.attempt, maxAttempts, llmBackoff, err.waitMs);
  }
  if (err instanceof LimiterUnavailable) {
    return withBackoff(
      ApplicationFailure.create({ message: `${c.model}: ${err.message}`, type: 'LlmLimiterUnavailable' }),
      info.attempt,
      maxAttempts,
      llmBackoff,
    );
  }
  try {
    const rejected = err instanceof APIError && typeof err.status === 'number';
    // A request the API refused used no tokens; a stream that broke mid-way keeps its charge.
    if (c.acquired && rejected) await limiter.settle(c.model, c.estimated, { input: 0, output: 0 });
    if (failure.type === 'LlmRateLimited') {
      if (err instanceof APIError) await limiter.observe(c.model, err.headers);
      await limiter.rateLimited(c.model, typeof failure.nextRetryDelay === 'number' ? failure.nextRetryDelay : undefined);
    }
  } catch (e) {
    warn('rate limiter bookkeeping failed', e);
  }
  if (failure.type && ENDPOINT_FAILURES.has(failure.type)) breakers.failure(`model:${c.model}`, failure.message);
  return withBackoff(failure, info.attempt, maxAttempts, llmBackoff);
}
