/**
 * A bounded sliding window for workflow code: runs `task` over `items` with at most `limit` in
 * flight, and starts the next item the moment any running one settles — never in waves, where a
 * batch waits for its slowest member. `limit` lanes each pull the next index from a shared cursor;
 * workflow code is single-threaded and deterministic, so the pull order (and with it every command
 * the window issues) is the same on replay.
 *
 * Results are keyed by input position. A failed item becomes a failure entry and never stops the
 * others — except cancellation, which propagates so that cancelling the run really stops it.
 */
import { isCancellation } from '@temporalio/workflow';
import type { Settled } from './fanout';
import { recordFanInWait, recordFanOut } from './metrics';

/** Callbacks as items start and settle, for progress displays and bookkeeping. */
export interface WindowHooks {
  /** Called as an item starts and settles (for progress and "peak in flight" bookkeeping). */
  onStart?(index: number): void;
  onSettle?(index: number, ok: boolean): void;
}

/** `task` also gets its lane (0…limit-1), so per-lane resources such as a share of a budget can be reused. */
export async function slidingWindow<I, T>(
  items: readonly I[],
  limit: number,
  task: (item: I, index: number, lane: number) => Promise<T>,
  hooks: WindowHooks = {},
): Promise<Settled<T>[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`window limit must be a whole number ≥ 1, got ${limit}`);
  const results = new Array<Settled<T>>(items.length);
  if (items.length) recordFanOut(Math.min(limit, items.length));
  let cursor = 0;
  // When the first and the last item settled (workflow clock), for the fan-in wait.
  let firstDone: number | undefined;
  let lastDone = 0;
  const lane = async (id: number): Promise<void> => {
    while (cursor < items.length) {
      const index = cursor++;
      hooks.onStart?.(index);
      try {
        results[index] = { ok: true, value: await task(items[index]!, index, id) };
      } catch (error) {
        if (isCancellation(error)) throw error;
        results[index] = { ok: false, error };
      }
      lastDone = Date.now();
      firstDone ??= lastDone;
      hooks.onSettle?.(index, results[index].ok);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, (_, id) => lane(id)));
  if (items.length > 1 && firstDone !== undefined) recordFanInWait(lastDone - firstDone);
  return results;
}
