/**
 * A saga for workflow code: side-effecting steps, each with a compensation, undone in reverse
 * order when a later step fails or the run is cancelled.
 *
 * A step's compensation is registered before the step runs, not after it succeeds: a step that
 * timed out or lost its worker may have applied its effect without reporting it, and the only safe
 * assumption is that it did. That is sound because compensations must be idempotent and a no-op
 * for an effect that never landed. Compensation runs in a non-cancellable scope, one after another
 * in reverse order; one that still fails after its retries is recorded and the rest carry on, so a
 * single stuck undo does not leave the others undone.
 */
import { CancellationScope, log } from '@temporalio/workflow';
import { failureMessage } from '../shared/failures';

/** What one compensation did: its value, or the error it still failed with after its retries. */
export interface CompensationOutcome<C> {
  name: string;
  ok: boolean;
  value?: C;
  error?: string;
}

/** Steps with compensations, each registered before its step runs; `compensate()` undoes them newest first, even while cancelling. */
export class Saga<C = unknown> {
  private readonly compensations: { name: string; run: () => Promise<C> }[] = [];
  /** The step that is running or last failed. */
  current: string | undefined;

  async step<T>(name: string, action: () => Promise<T>, compensation: { name: string; run: () => Promise<C> }): Promise<T> {
    this.compensations.push(compensation);
    this.current = name;
    const value = await action();
    this.current = undefined;
    return value;
  }

  /** Runs every registered compensation once, newest first, even if the run is being cancelled. */
  compensate(): Promise<CompensationOutcome<C>[]> {
    const pending = this.compensations.splice(0).reverse();
    return CancellationScope.nonCancellable(async () => {
      const outcomes: CompensationOutcome<C>[] = [];
      for (const c of pending) {
        try {
          outcomes.push({ name: c.name, ok: true, value: await c.run() });
        } catch (err) {
          const error = failureMessage(err);
          log.error('compensation failed; it needs a manual undo', { compensation: c.name, error });
          outcomes.push({ name: c.name, ok: false, error });
        }
      }
      return outcomes;
    });
  }
}
