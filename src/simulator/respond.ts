// Puts a planned reply on the wire: as one Message JSON after the whole simulated generation time,
// or as an SSE stream whose first event leaves after the time-to-first-token and whose deltas are
// paced by the per-token time. The transport faults (stall, reset, malformed, sse_error, truncate)
// live here too, because each is a way of breaking exactly this writing.
//
// Non-streaming stall and reset happen before any header is sent. The real API sends a
// non-streaming response in one piece, so that is what a hung or dropped generation looks like to
// a client — and it is the only variant the SDK can see: its `timeout` covers the wait for headers
// only, and a socket dropped mid-body surfaces as a bare TypeError rather than an APIError.
import type { ServerResponse } from 'node:http';
import { sleep } from './http';
import type { FaultKind, PlannedReply, ResponseBlock } from './types';

export interface Delivery {
  messageId: string;
  model: string;
  inputTokens: number;
  reply: PlannedReply;
  ttftMs: number;
  perTokenMs: number;
  /** Rate-limit headers (request-id is already set on the response). */
  headers: Record<string, string>;
  fault?: Exclude<FaultKind, 'status'>;
  signal: AbortSignal;
  /** Called as output is produced, with the token count just produced. */
  produced(tokens: number): void;
  /** Called with the status as soon as response headers are written. */
  started(status: number): void;
  /** Called just before the final byte is written, so the ledger is complete when the client reads it. */
  finishing(): void;
}

function usage(input: number, output: number): Record<string, number> {
  return { input_tokens: input, output_tokens: output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
}

export function messageObject(d: Pick<Delivery, 'messageId' | 'model' | 'inputTokens' | 'reply'>): Record<string, unknown> {
  return {
    id: d.messageId,
    type: 'message',
    role: 'assistant',
    model: d.model,
    content: d.reply.content,
    stop_reason: d.reply.stopReason,
    stop_sequence: null,
    usage: usage(d.inputTokens, d.reply.outputTokens),
  };
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function dropConnection(res: ServerResponse): void {
  (res.socket ?? res.req.socket).destroy();
}

/** Non-streaming delivery. */
export async function deliverMessage(res: ServerResponse, d: Delivery): Promise<void> {
  if (d.fault === 'stall') {
    await untilAborted(d.signal);
    return;
  }
  if (d.fault === 'reset' || d.fault === 'sse_error' || d.fault === 'truncate') {
    if (await sleep(d.ttftMs, d.signal)) dropConnection(res);
    return;
  }
  if (!(await sleep(d.ttftMs + d.reply.outputTokens * d.perTokenMs, d.signal))) return;
  d.produced(d.reply.outputTokens);
  const json = JSON.stringify(messageObject(d));
  // Malformed: a 200 JSON response whose body stops mid-object (complete on the wire, invalid as JSON).
  const body = d.fault === 'malformed' ? `${json.slice(0, Math.max(1, Math.floor(json.length / 2)))}<!-- upstream error -->` : json;
  d.started(200);
  d.finishing();
  res.writeHead(200, { ...d.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
  /** Output tokens this event carries (paces the stream). */
  tokens: number;
}

/** Splits text into chunks of about `chars` characters, breaking after whitespace when possible. */
function chunkText(text: string, chars: number): string[] {
  const chunks: string[] = [];
  let rest = text;
  while (rest.length > chars) {
    const space = rest.indexOf(' ', chars);
    const end = space !== -1 && space < chars * 1.5 ? space + 1 : chars;
    chunks.push(rest.slice(0, end));
    rest = rest.slice(end);
  }
  if (rest.length > 0 || chunks.length === 0) chunks.push(rest);
  return chunks;
}

/** Splits a JSON string into at least two pieces (when it has two characters) of about `chars` each. */
function pieces(json: string, chars: number): string[] {
  const count = Math.min(json.length, Math.max(2, Math.ceil(json.length / chars)));
  const size = Math.ceil(json.length / count);
  const out: string[] = [];
  for (let i = 0; i < json.length; i += size) out.push(json.slice(i, i + size));
  return out;
}

const CHUNK_CHARS = 48; // ~12 tokens per delta

function blockEvents(block: ResponseBlock, index: number): SseEvent[] {
  const cited = block.type === 'text' && block.citations !== undefined;
  const start =
    block.type === 'text'
      ? { type: 'content_block_start', index, content_block: { type: 'text', text: '', ...(cited ? { citations: [] } : {}) } }
      : { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } };
  const deltas =
    block.type === 'text'
      ? [
          // A cited block's citations arrive as citations_delta events, one per citation.
          ...(block.citations ?? []).map((citation) => ({
            delta: { type: 'citations_delta', citation } as Record<string, unknown>,
            tokens: 0,
          })),
          ...chunkText(block.text, CHUNK_CHARS).map((text) => ({
            delta: { type: 'text_delta', text } as Record<string, unknown>,
            tokens: text.length / 4,
          })),
        ]
      : pieces(JSON.stringify(block.input), CHUNK_CHARS).map((partial_json) => ({
          delta: { type: 'input_json_delta', partial_json },
          tokens: partial_json.length / 4,
        }));
  return [
    { event: 'content_block_start', data: start, tokens: 0 },
    ...deltas.map((d) => ({
      event: 'content_block_delta',
      data: { type: 'content_block_delta', index, delta: d.delta },
      tokens: d.tokens,
    })),
    { event: 'content_block_stop', data: { type: 'content_block_stop', index }, tokens: 0 },
  ];
}

/** The full event sequence for a reply, in the order the real API sends it. */
export function streamEvents(d: Pick<Delivery, 'messageId' | 'model' | 'inputTokens' | 'reply'>): SseEvent[] {
  const start = { ...messageObject(d), content: [], stop_reason: null, usage: usage(d.inputTokens, 1) };
  const events: SseEvent[] = [
    { event: 'message_start', data: { type: 'message_start', message: start }, tokens: 0 },
    { event: 'ping', data: { type: 'ping' }, tokens: 0 },
  ];
  d.reply.content.forEach((block, i) => {
    if (i > 0) events.push({ event: 'ping', data: { type: 'ping' }, tokens: 0 });
    events.push(...blockEvents(block, i));
  });
  // Pacing is by characters; scale so the deltas add up to the reported output tokens.
  const paced = events.reduce((sum, e) => sum + e.tokens, 0);
  if (paced > 0) for (const e of events) e.tokens = (e.tokens * d.reply.outputTokens) / paced;
  events.push(
    {
      event: 'message_delta',
      data: {
        type: 'message_delta',
        delta: { stop_reason: d.reply.stopReason, stop_sequence: null },
        usage: { output_tokens: d.reply.outputTokens },
      },
      tokens: 0,
    },
    { event: 'message_stop', data: { type: 'message_stop' }, tokens: 0 },
  );
  return events;
}

const frame = (e: Pick<SseEvent, 'event' | 'data'>): string => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;

/** Writes and waits until the bytes reach the socket, so a reset that follows drops only what comes after. */
function write(res: ServerResponse, chunk: string): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    const done = (): void => {
      res.off('close', done);
      resolve();
    };
    res.once('close', done);
    res.write(chunk, done);
  });
}

/** Streaming delivery. The status is 200 once headers are out, whatever fault follows. */
export async function deliverStream(res: ServerResponse, d: Delivery): Promise<void> {
  if (!(await sleep(d.ttftMs, d.signal))) return;
  res.writeHead(200, {
    ...d.headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  d.started(200);
  const events = streamEvents(d);
  if (d.fault === 'stall') {
    await write(res, frame(events[0]!));
    await untilAborted(d.signal);
    return;
  }
  const firstDelta = events.findIndex((e) => e.event === 'content_block_delta');
  // Faults that cut the stream short do so halfway, but never before the first delta.
  const cut = Math.max(firstDelta + 1, Math.floor(events.length / 2));
  const last = d.fault === 'truncate' ? events.findIndex((e) => e.event === 'message_delta') : d.fault ? cut : events.length;
  let owed = 0;
  for (const [i, e] of events.slice(0, last).entries()) {
    owed += e.tokens * d.perTokenMs;
    // Sleep whole milliseconds only; sub-millisecond waits accumulate into the next one.
    if (owed >= 1) {
      const wait = Math.floor(owed);
      owed -= wait;
      if (!(await sleep(wait, d.signal))) return;
    }
    if (e.tokens > 0) d.produced(e.tokens);
    if (i === events.length - 1) d.finishing();
    await write(res, frame(e));
  }
  switch (d.fault) {
    case 'reset':
      dropConnection(res);
      return;
    case 'malformed':
      d.finishing();
      res.end(
        `event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "oops\n\n`,
      );
      return;
    case 'sse_error':
      d.finishing();
      res.end(frame({ event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } }));
      return;
    default:
      if (d.fault === 'truncate') d.finishing();
      res.end();
  }
}
