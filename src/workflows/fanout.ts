/**
 * Deterministic fan-out / fan-in for workflow code: every branch starts in the same workflow task,
 * so Temporal schedules them together; results come back in input order whatever order they finish
 * in, because arrival order differs between runs and must never leak into what the model or a
 * reducer sees. A failed branch becomes an explicit failure entry instead of rejecting the fan-in —
 * except cancellation, which propagates so that cancelling the run really stops it. It is the
 * sliding window with room for every branch at once.
 */
import { slidingWindow } from './window';

/** One branch's outcome: its value, or the error it failed with. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Runs `branch` over every item at once; results in input order, a failed branch as `{ ok: false, error }`
 * (cancellation still propagates).
 */
export function fanOut<I, T>(items: readonly I[], branch: (item: I, index: number) => Promise<T>): Promise<Settled<T>[]> {
  return slidingWindow(items, Math.max(1, items.length), branch);
}
