/**
 * Following a run from the CLI: wait for its result while a display polls its progress, turn a
 * workflow failure into one line, and let Ctrl-C detach — the run is durable and goes on in
 * Temporal — instead of cancelling it.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { runFailure } from './errors';

export interface FollowOptions {
  /** Called every `everyMs` until the run ends; failures (no workflow task yet, a busy worker) are ignored. */
  tick?: () => Promise<void>;
  everyMs?: number;
  /** Tears down the display; `finished` is true when the run ended successfully. */
  stop?: (finished: boolean) => void;
  /** What to tell the user on Ctrl-C, after "detached; ". */
  detachHint: string;
}

export async function followRun<T>(handle: { workflowId: string; result(): Promise<T> }, o: FollowOptions): Promise<T> {
  let done = false;
  const loop = async () => {
    while (!done) {
      try {
        await o.tick!();
      } catch {
        // try again on the next tick
      }
      await new Promise((r) => setTimeout(r, o.everyMs ?? 250));
    }
  };
  const polling = o.tick ? loop() : Promise.resolve();
  const detach = () => {
    o.stop?.(false);
    process.stderr.write(`\ndetached; ${o.detachHint}\n`);
    process.exit(130);
  };
  process.once('SIGINT', detach);
  let finished = false;
  try {
    const result = await handle.result();
    finished = true;
    return result;
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw new Error(`run ${handle.workflowId} failed: ${runFailure(err)}`);
    throw err;
  } finally {
    done = true;
    await polling;
    o.stop?.(finished);
    process.removeListener('SIGINT', detach);
  }
}
