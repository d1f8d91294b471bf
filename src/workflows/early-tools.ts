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
 *
 * The same policy serves the content pipeline's stage overlap (a section of a draft edited while
 * the rest is written): `EarlyStarts` is the policy over any item with a key; `EarlyTools` is it for
 * tool calls.
 */
import { CancellationScope } from '@temporalio/workflow';
import { callKey, type ToolBlockReady } from '../shared/stream';
import type { ToolUseBlock } from '../shared/types';

interface Started<R> {
  key: string;
  scope: CancellationScope;
  result: Promise<R>;
}

/**
 * Work started on items a model call announces while it streams (tool calls, sections), kept for
 * the identical items of the call's kept result and cancelled otherwise.
 */
export class EarlyStarts<T, R> {
  private round: number | undefined;
  private started: Started<R>[] = [];
  /** Per attempt and item key: how many identical items that attempt has announced so far. */
  private seen = new Map<string, number>();

  /** `start` runs the work for one item, inside a cancellation scope of its own; `key` says when two items are the same. */
  constructor(
    private readonly start: (item: T) => Promise<R>,
    private readonly key: (item: T) => string,
  ) {}

  /** Opens `round`: announcements for it start work until `settle`. */
  open(round: number): void {
    this.round = round;
    this.started = [];
    this.seen.clear();
  }

  /** Starts the work for an announced item, unless an earlier attempt started it for the identical item. */
  take(round: number, attempt: number, item: T): void {
    if (this.round === undefined || round !== this.round) return; // a late announcement for a closed round
    const key = this.key(item);
    const seenKey = `${attempt}\u0000${key}`;
    const n = this.seen.get(seenKey) ?? 0;
    this.seen.set(seenKey, n + 1);
    if (this.started.filter((s) => s.key === key).length > n) return;
    const scope = new CancellationScope();
    const result = scope.run(() => this.start(item));
    result.catch(() => undefined); // awaited by whoever reuses it; a discarded one must not be an unhandled rejection
    this.started.push({ key, scope, result });
  }

  /** How many items the open round started early so far. */
  get count(): number {
    return this.started.length;
  }

  /** Closes the round without keeping any item (the call failed, or its result has none): started work is cancelled. */
  discard(): void {
    void this.settle([]);
  }

  /**
   * Closes the round with the items of the kept result: for each, the work started for it, or
   * undefined to start it now. Started work no item reuses is cancelled.
   */
  settle(items: readonly T[]): (Promise<R> | undefined)[] {
    const unused = [...this.started];
    const reused = items.map((item) => {
      const key = this.key(item);
      const i = unused.findIndex((s) => s.key === key);
      if (i < 0) return undefined;
      return unused.splice(i, 1)[0]!.result;
    });
    for (const s of unused) s.scope.cancel();
    this.round = undefined;
    this.started = [];
    this.seen.clear();
    return reused;
  }
}

/** Early tool dispatch: the tools a model turn announces, started at once, keyed by tool name and input. */
export class EarlyTools<R> extends EarlyStarts<ToolUseBlock, R> {
  /** `start` runs one tool call; it is called inside a cancellation scope of its own. */
  constructor(start: (call: ToolUseBlock) => Promise<R>) {
    super(start, callKey);
  }

  /** The signal handler: starts the announced call, unless an earlier attempt started the identical one. */
  offer(ready: ToolBlockReady): void {
    this.take(ready.turn, ready.attempt, ready.block);
  }
}
