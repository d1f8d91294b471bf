/**
 * Braid's own metrics, recorded through the Temporal SDK runtime's metric meter, so one Prometheus
 * endpoint (the runtime's, opened on BRAID_METRICS_PORT) carries Temporal's worker metrics and
 * Braid's. Activity code records through the running activity's meter (it adds the namespace,
 * task queue and activity type); outside an activity (unit tests) nothing is recorded. Workflow
 * code records through `@temporalio/workflow`'s meter instead (src/workflows/metrics.ts).
 *
 * Instruments are created on each use: the runtime keeps one series per name and tags, so this
 * costs a lookup, and a worker without metrics configured pays for a no-op.
 */
import { Context } from '@temporalio/activity';
import { noopMetricMeter, type MetricMeter } from '@temporalio/common';
import { usdFor, type PriceTable } from '../shared/pricing';

/** The running activity's meter, or a no-op outside an activity. */
function meter(): MetricMeter {
  try {
    return Context.current().metricMeter;
  } catch {
    return noopMetricMeter;
  }
}

/** A model call that returned: its tokens by kind and its dollars at the worker's price table. */
export function recordModelCall(model: string, usage: { inputTokens: number; outputTokens: number }, prices?: PriceTable): void {
  const m = meter();
  const tokens = m.createCounter('braid_model_tokens', 'tokens', 'Tokens of model calls that returned, by model and kind (input, output)');
  tokens.add(usage.inputTokens, { model, kind: 'input' });
  tokens.add(usage.outputTokens, { model, kind: 'output' });
  const usd = usdFor(model, usage, { table: prices });
  if (usd !== undefined)
    m.createHistogram(
      'braid_model_call_cost_usd',
      'float',
      'usd',
      'Dollars per model call at the worker price table (the sum is the spend)',
    ).record(usd, { model });
}

/** Time a model call waited for the shared rate-limit budget before it was sent. */
export function recordLimiterWait(model: string, waitedMs: number): void {
  meter()
    .createHistogram('braid_limiter_wait', 'int', 'ms', 'Time model calls waited for the rate-limit budget')
    .record(Math.round(waitedMs), { model });
}

/** A 429 (or an overloaded/rate-limited error event) from the model's endpoint. */
export function recordRateLimited(model: string): void {
  meter().createCounter('braid_model_rate_limited', 'responses', 'Rate-limited (429) answers from the model endpoint').add(1, { model });
}

/** A circuit breaker (per model or tool) changing state. */
export function recordBreakerChange(key: string, to: string): void {
  meter()
    .createCounter('braid_breaker_transitions', 'changes', 'Circuit breaker state changes, by breaker and new state')
    .add(1, { breaker: key, to });
}

/** A tool call that ended as an error result: refused by its breaker, timed out, or failed. */
export function recordToolError(tool: string, reason: 'circuit-open' | 'timeout' | 'error'): void {
  meter()
    .createCounter('braid_tool_errors', 'calls', 'Tool calls that ended in an error result, by tool and reason')
    .add(1, { tool, reason });
}
