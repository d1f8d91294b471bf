/**
 * What a model activity sends out while its stream is still running (issue #12 §2):
 *
 * - `ToolAnnouncer` — early tool dispatch: it follows the stream's tool_use blocks and, at each
 *   block's `content_block_stop`, signals the workflow that started the activity with the complete
 *   call (src/shared/stream.ts). A failed signal (the run already gone) is dropped, and the
 *   workflow starts that tool after the turn, as it would without early dispatch.
 * - `SectionAnnouncer` — stage overlap: at each blank line the text has reached, it signals the
 *   workflow with the section (paragraph) just completed, so the next stage can start on it.
 * - `TextStreamer` — the text as it is written, to the worker's answer streams
 *   (src/store/answer-stream.ts), labelled with its branch and attempt, for `braid ask` to show.
 *
 * Both send in order, one after another, best effort: a failure is logged once and never fails
 * the model call. The activity waits for what was sent before it returns, so every announcement
 * reaches the run's history before the turn's result does.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type Anthropic from '@anthropic-ai/sdk';
import {
  SectionSplitter,
  sectionReadySignal,
  toolBlockReadySignal,
  type AnnounceSections,
  type AnnounceTools,
  type AnswerChunk,
  type StreamTo,
} from '../shared/stream';
import type { ToolUseBlock } from '../shared/types';
import type { AnswerStreams } from '../store/answer-stream';

/** Sends one after another, for the activity that is running; a failure is logged once and dropped. */
abstract class InOrder {
  private chain: Promise<void> = Promise.resolve();
  private warned = false;
  protected readonly workflowId: string;
  protected readonly runId: string;
  protected readonly attempt: number;
  private readonly log: Context['log'];

  protected constructor(private readonly failure: string) {
    const ctx = Context.current();
    this.workflowId = ctx.info.workflowExecution?.workflowId ?? '';
    this.runId = ctx.info.workflowExecution?.runId ?? '';
    this.attempt = ctx.info.attempt;
    this.log = ctx.log;
  }

  protected enqueue(send: () => Promise<void>): void {
    this.chain = this.chain.then(() =>
      send().catch((err: unknown) => {
        if (this.warned) return;
        this.warned = true;
        this.log.warn(this.failure, { error: err instanceof Error ? err.message : String(err) });
      }),
    );
  }

  /** Resolves once everything so far was sent (or failed); never rejects. */
  flushed(): Promise<void> {
    return this.chain;
  }
}

/** Whether this activity belongs to a workflow (it always does on a worker; not in unit use). */
const inWorkflow = () => Context.current().info.workflowExecution !== undefined;

/** The worker's client when a request asked for announcements this activity can send; says why once when it cannot. */
function announcing(temporal: Client | undefined, asked: boolean, what: string): Client | undefined {
  if (!asked || !inWorkflow()) return undefined;
  if (!temporal) Context.current().log.warn(`${what} are not announced early: this worker has no Temporal client`);
  return temporal;
}

/** Signals the workflow that started this activity, in order. */
abstract class Announcer extends InOrder {
  protected constructor(
    private readonly temporal: Client,
    failure: string,
  ) {
    super(failure);
  }

  protected signal<Args extends unknown[]>(def: SignalDefinition<Args>, ...args: Args): void {
    const handle = this.temporal.workflow.getHandle(this.workflowId, this.runId);
    this.enqueue(() => handle.signal(def, ...args));
  }
}

export class ToolAnnouncer extends Announcer {
  private readonly open = new Map<number, { id: string; name: string; json: string }>();

  private constructor(
    temporal: Client,
    private readonly turn: number,
  ) {
    super(temporal, 'a tool call could not be announced early; it starts after the turn');
  }

  /** An announcer for this activity, or undefined when the request did not ask for one or the worker has no client. */
  static for(temporal: Client | undefined, announce: AnnounceTools | undefined): ToolAnnouncer | undefined {
    const client = announcing(temporal, announce !== undefined, 'tool calls');
    return client && announce ? new ToolAnnouncer(client, announce.turn) : undefined;
  }

  /** Follows one stream event; a completed tool_use block is announced. */
  observe(event: Anthropic.MessageStreamEvent): void {
    if (event.type === 'content_block_start') {
      const b = event.content_block;
      if (b.type === 'tool_use') this.open.set(event.index, { id: b.id, name: b.name, json: '' });
    } else if (event.type === 'content_block_delta') {
      const b = this.open.get(event.index);
      if (b && event.delta.type === 'input_json_delta') b.json += event.delta.partial_json;
    } else if (event.type === 'content_block_stop') {
      const b = this.open.get(event.index);
      if (!b) return;
      this.open.delete(event.index);
      let input: unknown;
      try {
        input = b.json.trim() === '' ? {} : JSON.parse(b.json);
      } catch {
        return; // a malformed input is the final message's problem; the tool starts after the turn if at all
      }
      this.send({ type: 'tool_use', id: b.id, name: b.name, input });
    }
  }

  private send(block: ToolUseBlock): void {
    this.signal(toolBlockReadySignal, { turn: this.turn, attempt: this.attempt, block });
  }
}

export class SectionAnnouncer extends Announcer {
  private readonly splitter = new SectionSplitter();
  private blocks = 0;

  private constructor(
    temporal: Client,
    private readonly round: number,
  ) {
    super(temporal, 'a section could not be announced early; the next stage starts on it after the call');
  }

  /** An announcer for this activity, or undefined when the request did not ask for one or the worker has no client. */
  static for(temporal: Client | undefined, announce: AnnounceSections | undefined): SectionAnnouncer | undefined {
    const client = announcing(temporal, announce !== undefined, 'sections');
    return client && announce ? new SectionAnnouncer(client, announce.round) : undefined;
  }

  /** Follows one stream event; every section the text completes is announced (the last one is the result's). */
  observe(event: Anthropic.MessageStreamEvent): void {
    let piece: string | undefined;
    // Text blocks join with a line break, as the workflow's textOf joins them.
    if (event.type === 'content_block_start' && event.content_block.type === 'text') piece = this.blocks++ > 0 ? '\n' : undefined;
    else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') piece = event.delta.text;
    if (piece === undefined) return;
    for (const s of this.splitter.push(piece)) this.send(s.index, s.text);
  }

  private send(index: number, text: string): void {
    this.signal(sectionReadySignal, { round: this.round, attempt: this.attempt, index, text });
  }
}

export class TextStreamer extends InOrder {
  private constructor(
    private readonly streams: AnswerStreams,
    private readonly branch: string,
  ) {
    super('the answer stream is not written');
  }

  /** A streamer for this activity (its `start` sent), or undefined when the request did not ask for one or there is no stream. */
  static for(streams: AnswerStreams | undefined, to: StreamTo | undefined): TextStreamer | undefined {
    if (!streams || !to || !inWorkflow()) return undefined;
    const s = new TextStreamer(streams, to.branch);
    s.push({ kind: 'start' });
    return s;
  }

  observe(event: Anthropic.MessageStreamEvent): void {
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') this.push({ kind: 'text', text: event.delta.text });
    else if (event.type === 'message_stop') this.push({ kind: 'end' });
  }

  private push(part: { kind: 'start' } | { kind: 'text'; text: string } | { kind: 'end' }): void {
    const chunk = { branch: this.branch, attempt: this.attempt, ...part } as AnswerChunk;
    this.enqueue(() => this.streams.append(this.workflowId, chunk));
  }
}
