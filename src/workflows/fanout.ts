/**
 * Deterministic fan-out / fan-in for workflow code.
 *
 * All branches start in the same workflow task, so Temporal schedules them together; results come
 * back in the order of the inputs, whatever order they finish in, because arrival order differs
 * between runs and must never leak into what the model or a reducer sees. A failed branch becomes
 * an explicit failure entry instead of rejecting the whole fan-in — except cancellation, which
 * must propagate so that cancelling the run really stops it.
 */
import { isCancellation } from '@temporalio/workflow';

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export async function fanOut<I, T>(items: readonly I[], branch: (item: I, index: number) => Promise<T>): Promise<Settled<T>[]> {
  return Promise.all(
    items.map(async (item, index): Promise<Settled<T>> => {
      try {
        return { ok: true, value: await branch(item, index) };
      } catch (error) {
        if (isCancellation(error)) throw error;
        return { ok: false, error };
      }
    }),
  );
}
