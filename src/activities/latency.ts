/**
 * What one worker knows of its model calls lately, for hedging (src/workflows/hedge.ts): each
 * model's (or role's) recent durations, which a run reads through the `modelLatency` activity to
 * start its hedge threshold from, and the calls and hedges of the last minutes, by which the worker
 * refuses a hedge past the cap (`LlmRequest.hedge`). In memory, per worker process: each worker
 * holds its own hedges to the rate, so a fleet's are held too.
 */
import { ApplicationFailure } from '@temporalio/common';

/** Recent durations kept per model, as a Hedger keeps them. */
export const LATENCY_WINDOW = 200;
/** Calls and hedges older than this no longer count toward the cap. */
export const HEDGE_WINDOW_MS = 5 * 60_000;

export class ModelLatencies {
  private readonly durations = new Map<string, number[]>();
  private readonly calls: number[] = [];
  private readonly hedges: number[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** A model call starts (not a hedge): it counts toward the calls the cap is a share of. */
  called(): void {
    this.calls.push(this.now());
  }

  /** A call finished in `ms`: the latest of its model's durations. */
  record(key: string, ms: number): void {
    const list = this.durations.get(key) ?? [];
    list.push(ms);
    if (list.length > LATENCY_WINDOW) list.shift();
    this.durations.set(key, list);
  }

  /** The recent durations of each key asked for (oldest first; empty for one not seen). */
  recent(keys: readonly string[]): Record<string, number[]> {
    return Object.fromEntries(keys.map((k) => [k, [...(this.durations.get(k) ?? [])]]));
  }

  /** Counts a hedge, or refuses it (HedgeRefused, non-retryable) when it would pass `maxRate` of the recent calls. */
  admitHedge(maxRate: number): void {
    const since = this.now() - HEDGE_WINDOW_MS;
    for (const list of [this.calls, this.hedges]) while (list.length && list[0]! < since) list.shift();
    if (this.hedges.length + 1 > maxRate * this.calls.length)
      throw ApplicationFailure.nonRetryable(
        `hedge budget spent: ${this.hedges.length} hedges of ${this.calls.length} model calls on this worker in the last ${HEDGE_WINDOW_MS / 60_000} minutes, the cap is ${Math.round(maxRate * 100)} %`,
        'HedgeRefused',
      );
    this.hedges.push(this.now());
  }
}
