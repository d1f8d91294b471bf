/**
 * Model routing to spare capacity (opt-in per call, `LlmRequest.fallback`): a call whose model
 * cannot take it right now goes to a configured fallback model instead of waiting — when the
 * model's breaker is open, or when its rate budget (an exhausted tokens/min or requests/min bucket,
 * or the fleet-wide pause after a 429) would hold the call longer than the route's `afterMs`.
 *
 * Routing only ever replaces a wait: a call that fails at its model (a 500, a malformed answer) is
 * retried there as before, and the half-open breaker's probe always goes to its own model, so the
 * endpoint still gets tested. When the fallback cannot take the call either (its breaker open, its
 * budget exhausted too), the call waits for its own model as it would without a route: routing
 * never turns a wait into a failure, and never loses the work.
 */
import type { FlowCall } from './llm-call';
import { breakerKey, checkModelBreaker } from './llm-call';
import { CircuitOpenError } from './breaker';
import { BudgetWaitTooLong, type Waiter } from './limiter';
import type { RoutedCall } from '../shared/types';

/** How long a model's budget may hold a call that has a fallback, unless the route says otherwise. */
export const DEFAULT_ROUTE_AFTER_MS = 1000;

/** The breaker's verdict for `c`'s model, without the attempt ledger's bookkeeping: the error when open. */
function breakerOpen(c: FlowCall): CircuitOpenError | undefined {
  try {
    c.probe = c.flow.breakers.check(breakerKey(c));
    return undefined;
  } catch (err) {
    if (err instanceof CircuitOpenError) return err;
    throw err;
  }
}

export interface Routed {
  call: FlowCall;
  routed?: RoutedCall;
}

/**
 * The breaker check of a call that has a fallback: its own model when that breaker lets it through
 * (as a probe, too), else the fallback when that one does; else the model's wait verdict, as
 * checkModelBreaker throws it.
 */
export function routeAroundBreaker(c: FlowCall, spare: string): Routed {
  const open = breakerOpen(c);
  if (!open) return { call: c };
  const alt: FlowCall = { ...c, model: spare, probe: false };
  if (breakerOpen(alt)) {
    checkModelBreaker(c); // throws the model's verdict: wait for its cooldown
    return { call: c }; // unreachable unless the cooldown ended between the two checks
  }
  return { call: alt, routed: { from: c.model, to: spare, reason: 'breaker-open', detail: open.message } };
}

/**
 * Takes the call's tokens from its model's budget, waiting at most `afterMs`; past that, from the
 * fallback's (which must also admit it within `afterMs` and have its breaker closed). When neither
 * can, throws the model's BudgetWaitTooLong, which the activity turns into a wait as usual.
 * `estimate` gives a model's token estimate for this request.
 */
export async function acquireOrRoute(
  c: FlowCall,
  spare: string,
  afterMs: number,
  estimate: (model: string) => number,
  w: Waiter,
): Promise<Routed> {
  const { limiter, breakers } = c.flow;
  try {
    await limiter.acquire(c.model, c.estimated, { ...w, maxWaitMs: afterMs });
    c.acquired = true;
    return { call: c };
  } catch (err) {
    if (!(err instanceof BudgetWaitTooLong)) throw err;
    const alt: FlowCall = { ...c, model: spare, probe: false, estimated: estimate(spare), acquired: false };
    if (breakerOpen(alt)) throw err;
    try {
      await limiter.acquire(spare, alt.estimated, { ...w, maxWaitMs: afterMs });
    } catch (e) {
      if (alt.probe) breakers.release(breakerKey(alt));
      throw e instanceof BudgetWaitTooLong ? err : e;
    }
    alt.acquired = true;
    // The call leaves its model: if it was that breaker's probe, the next call probes instead.
    if (c.probe) breakers.release(breakerKey(c));
    return { call: alt, routed: { from: c.model, to: spare, reason: 'rate-budget', detail: err.message } };
  }
}
