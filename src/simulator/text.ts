// Small text helpers the deterministic "model" is built from: word splitting with light stemming,
// a stopword list, the chars/4 token estimate, stable hashing for ids and filler, and flattening
// of message content to plain text. Pure functions only.
import { createHash } from 'node:crypto';
import type { MessagesRequest, RequestMessage, ToolResultBlock } from './types';

const STOPWORDS = new Set(
  (
    'a an the and or but if then else of in on at to for from by with about into over under as is are was were be been ' +
    'being do does did done have has had having it its this that these those there here what which who whom whose when ' +
    'where why how can could should would will shall may might must i me my we our you your he she they them their his ' +
    'her us please tell show give say says said find look up get let know also just any all some each every more most ' +
    'much many very so than too not no yes out one like use using via per e g etc'
  ).split(' '),
);

/** Rough token estimate used for usage, rate limits and latency: ceil(chars / 4), at least 1. */
export function countTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** Light suffix stripping so "refunds"/"refund" and "damaged"/"damage" meet. */
export function stem(word: string): string {
  let w = word.toLowerCase();
  if (w.length > 4 && w.endsWith('ies')) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') && !w.endsWith('us')) w = w.slice(0, -1);
  let cut = false;
  if (w.length > 5 && w.endsWith('ing')) [w, cut] = [w.slice(0, -3), true];
  else if (w.length > 4 && w.endsWith('ed')) [w, cut] = [w.slice(0, -2), true];
  // "shipped"/"shipping" -> "ship": undouble the consonant the suffix doubled.
  if (cut && w.length >= 5 && /([b-df-hj-km-rtv-y])\1$/.test(w)) w = w.slice(0, -1);
  if (w.length > 3 && w.endsWith('e')) w = w.slice(0, -1);
  return w;
}

/** Lower-cased words (letters/digits), split on anything else including `_` and `-`. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

export function isStopword(word: string): boolean {
  return STOPWORDS.has(word.toLowerCase());
}

/** Stems of the non-stopword words of `text`, in order, with duplicates. */
export function contentStems(text: string): string[] {
  return words(text)
    .filter((w) => !isStopword(w) && w.length > 1)
    .map(stem);
}

/** Hex digest used wherever the simulator needs a stable id or choice derived from content. */
export function hashHex(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\u0000');
  return h.digest('hex');
}

/** Whitespace collapsed and cut to `max` characters on a word boundary, with an ellipsis when cut. */
export function excerpt(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/**
 * What the message's author wrote: its text blocks. Documents and tool results are material the
 * planner reads separately (prompt.ts), not part of the question.
 */
export function messageText(message: RequestMessage): string {
  if (typeof message.content === 'string') return message.content;
  return message.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('\n');
}

export function systemText(request: Pick<MessagesRequest, 'system'>): string {
  if (request.system === undefined) return '';
  return typeof request.system === 'string' ? request.system : request.system.map((b) => b.text).join('\n');
}

export function toolResultText(block: ToolResultBlock): string {
  if (block.content === undefined) return '';
  if (typeof block.content === 'string') return block.content;
  return block.content
    .filter((b) => b.type === 'text')
    .map((b) => b.text)
    .join('\n');
}

/** Everything a fault rule's `contains` can match: system plus all text, tool inputs and results. */
export function requestText(request: Pick<MessagesRequest, 'system' | 'messages'>): string {
  const parts = [systemText(request)];
  for (const m of request.messages) {
    if (typeof m.content === 'string') {
      parts.push(m.content);
      continue;
    }
    for (const b of m.content) {
      if (b.type === 'text') parts.push(b.text);
      else if (b.type === 'tool_use') parts.push(JSON.stringify(b.input));
      else if (b.type === 'tool_result') parts.push(toolResultText(b));
      else if (b.type === 'document' && b.text) parts.push(b.text);
    }
  }
  return parts.join('\n');
}
