/**
 * The model activity's side of early tool dispatch (src/shared/stream.ts): it follows the stream's
 * tool_use blocks and, at each block's `content_block_stop`, signals the workflow that started the
 * activity with the complete call. Signals go out in block order, one after another; the activity
 * waits for them before it returns, so every announcement reaches the history before the turn's
 * result does. Announcing is best effort: a signal that fails (no Temporal client on this worker,
 * the run already gone) is logged and dropped, and the workflow starts that tool after the turn,
 * as it would without early dispatch.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type Anthropic from '@anthropic-ai/sdk';
import { toolBlockReadySignal, type AnnounceTools, type AnswerChunk, type StreamTo } from '../shared/stream';
import type { AnswerStreams } from '../store/answer-stream';
import type { ToolUseBlock } from '../shared/types';

export class ToolAnnouncer {
  private readonly open = new Map<number, { id: string; name: string; json: string }>();
  private chain: Promise<void> = Promise.resolve();
  /** How many blocks were announced (signal sent without error). */
  announced = 0;

  private constructor(
    private readonly temporal: Client,
    private readonly workflowId: string,
    private readonly runId: string,
    private readonly turn: number,
    private readonly attempt: number,
    private readonly log: Context['log'],
  ) {}

  /** An announcer for this activity, or undefined when the request did not ask for one or the worker has no client. */
  static for(temporal: Client | undefined, announce: AnnounceTools | undefined): ToolAnnouncer | undefined {
    if (!announce) return undefined;
    const ctx = Context.current();
    const run = ctx.info.workflowExecution;
    if (!temporal || !run) {
      if (!temporal) ctx.log.warn('tool calls are not announced early: this worker has no Temporal client');
      return undefined;
    }
    return new ToolAnnouncer(temporal, run.workflowId, run.runId, announce.turn, ctx.info.attempt, ctx.log);
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
    const handle = this.temporal.workflow.getHandle(this.workflowId, this.runId);
    this.chain = this.chain.then(() =>
      handle.signal(toolBlockReadySignal, { turn: this.turn, attempt: this.attempt, block }).then(
        () => {
          this.announced++;
        },
        (err: unknown) => {
          this.log.warn('a tool call could not be announced early', {
            tool: block.name,
            error: err instanceof Error ? err.message : String(err),
          });
        },
      ),
    );
  }

  /** Resolves once every announcement so far was sent (or failed); never rejects. */
  flushed(): Promise<void> {
    return this.chain;
  }
}

/**
 * Streams the text a model call writes to the worker's answer streams (src/store/answer-stream.ts),
 * labelled with its branch and attempt, in order; best effort — a failed append is dropped (and
 * logged once), never the call.
 */
export class TextStreamer {
  private chain: Promise<void> = Promise.resolve();
  private warned = false;

  private constructor(
    private readonly streams: AnswerStreams,
    private readonly workflowId: string,
    private readonly branch: string,
    private readonly attempt: number,
    private readonly log: Context['log'],
  ) {}

  static for(streams: AnswerStreams | undefined, to: StreamTo | undefined): TextStreamer | undefined {
    const ctx = Context.current();
    const run = ctx.info.workflowExecution;
    if (!streams || !to || !run) return undefined;
    const s = new TextStreamer(streams, run.workflowId, to.branch, ctx.info.attempt, ctx.log);
    s.push({ kind: 'start' });
    return s;
  }

  observe(event: Anthropic.MessageStreamEvent): void {
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') this.push({ kind: 'text', text: event.delta.text });
    else if (event.type === 'message_stop') this.push({ kind: 'end' });
  }

  private push(part: { kind: 'start' } | { kind: 'text'; text: string } | { kind: 'end' }): void {
    const chunk = { branch: this.branch, attempt: this.attempt, ...part } as AnswerChunk;
    this.chain = this.chain.then(() =>
      this.streams.append(this.workflowId, chunk).catch((err: unknown) => {
        if (this.warned) return;
        this.warned = true;
        this.log.warn('the answer stream is not written', { error: err instanceof Error ? err.message : String(err) });
      }),
    );
  }

  flushed(): Promise<void> {
    return this.chain;
  }
}
