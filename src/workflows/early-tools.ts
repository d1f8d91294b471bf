/**
 * Early tool dispatch, the workflow's side (issue #12 §2): a tool starts the moment the model's
 * stream completes its tool_use block — announced by the model activity as a signal (see
 * src/shared/stream.ts) — instead of after the whole message. Signals are history events, so the
 * tools they start replay in the same order.
 *
 * A model stream can fail after some of its tools started, and be retried. The policy: reuse a
 * started tool only for an identical call in the turn that is kept — same tool name and same input
 * (key order aside), matched in order, so the k-th identical call of an attempt shares the k-th
 * started one — and cancel every started tool the kept turn does not ask for. Its result is
 * discarded, so no tool result is ever attached to a turn that is not in the conversation; the kept
 * turn's tool_use ids are the ones its results answer. A tool that acts on the world may still have
 * acted before its cancellation reached it (the same is true of any cancelled tool).
 */
import { CancellationScope } from '@temporalio/workflow';
import { callKey, type ToolBlockReady } from '../shared/stream';
import type { ToolUseBlock } from '../shared/types';

interface Started<R> {
  key: string;
  scope: CancellationScope;
  result: Promise<R>;
}

export class EarlyTools<R> {
  private turn: number | undefined;
  private started: Started<R>[] = [];
  /** Per attempt and call key: how many identical calls that attempt has announced so far. */
  private seen = new Map<string, number>();

  /** `start` runs one tool call; it is called inside a cancellation scope of its own. */
  constructor(private readonly start: (call: ToolUseBlock) => Promise<R>) {}

  /** Opens `turn`: announcements for it start tools until `settle`. */
  open(turn: number): void {
    this.turn = turn;
    this.started = [];
    this.seen.clear();
  }

  /** The signal handler: starts the announced call, unless an earlier attempt started the identical one. */
  offer(ready: ToolBlockReady): void {
    if (this.turn === undefined || ready.turn !== this.turn) return; // a late signal for a closed turn
    const key = callKey(ready.block);
    const seenKey = `${ready.attempt}\u0000${key}`;
    const n = this.seen.get(seenKey) ?? 0;
    this.seen.set(seenKey, n + 1);
    if (this.started.filter((s) => s.key === key).length > n) return;
    const scope = new CancellationScope();
    const result = scope.run(() => this.start(ready.block));
    result.catch(() => undefined); // awaited by whoever reuses it; a discarded one must not be an unhandled rejection
    this.started.push({ key, scope, result });
  }

  /** How many tools the open turn started early so far. */
  get count(): number {
    return this.started.length;
  }

  /** Closes the turn without keeping any call (the model turn failed, or asks for no tools): started tools are cancelled. */
  discard(): void {
    void this.settle([]);
  }

  /**
   * Closes the turn with the calls of the kept model turn (none when the turn failed or asks for no
   * tools): for each call, the started tool it reuses, or undefined to start it now. Started tools
   * no call reuses are cancelled.
   */
  settle(calls: readonly ToolUseBlock[]): (Promise<R> | undefined)[] {
    const unused = [...this.started];
    const reused = calls.map((call) => {
      const key = callKey(call);
      const i = unused.findIndex((s) => s.key === key);
      if (i < 0) return undefined;
      return unused.splice(i, 1)[0]!.result;
    });
    for (const s of unused) s.scope.cancel();
    this.turn = undefined;
    this.started = [];
    this.seen.clear();
    return reused;
  }
}
