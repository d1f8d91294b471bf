/**
 * Prompt caching of the prefix a fan-out's calls share (instructions, the task, a document every
 * branch reads). A pattern marks the block that ends the shared prefix with `cachePrefix: true`;
 * the model activity turns the mark into the API's `cache_control` only when the prefix reaches
 * the model's minimum cacheable length (below it the API would ignore the marker and bill nothing
 * differently, so Braid leaves it out and the pattern skips its warm-up call).
 *
 * A cache entry exists only once the first response that writes it has begun: calls sent together
 * before that all pay for the write. So a fan-out over a cacheable prefix runs one branch first and
 * the rest after it (src/workflows/summarize.ts does this for the map).
 *
 * Pure and free of Node APIs: workflows and the CLI read the thresholds too.
 */
import { CHARS_PER_TOKEN } from './usage';
import type { ChatMessage } from './types';

/**
 * Minimum cacheable prefix in tokens, per model, from Anthropic's prompt-caching documentation
 * (checked on the date in pricing.ts). A dated id is looked up by its undated alias.
 */
export const MIN_CACHE_TOKENS: Readonly<Record<string, number>> = {
  'claude-haiku-4-5': 4096,
  'claude-sonnet-4-5': 1024,
  'claude-sonnet-4-6': 2048,
  'claude-opus-4-5': 4096,
  'claude-opus-4-6': 4096,
  'claude-opus-4-7': 2048,
  'claude-opus-4-8': 1024,
};

/** What an unlisted model is assumed to need: the lowest documented minimum (the API ignores a marker below its own). */
export const DEFAULT_MIN_CACHE_TOKENS = 1024;

export function minCacheTokens(model: string): number {
  return MIN_CACHE_TOKENS[model] ?? MIN_CACHE_TOKENS[model.replace(/-\d{8}$/, '')] ?? DEFAULT_MIN_CACHE_TOKENS;
}

type Block = Exclude<ChatMessage['content'], string>[number];

function blockText(b: Block): string {
  switch (b.type) {
    case 'text':
      return b.text;
    case 'document':
      return `${b.title ?? ''}\n${b.source.data}`;
    case 'tool_use':
      return b.name + JSON.stringify(b.input);
    case 'tool_result':
      return b.content;
  }
}

/** The request as far as the cache sees it: tool definitions, then the system prompt, then every message's blocks. */
export interface CachePrefixInput {
  system?: string;
  /** The tool definitions as sent (JSON), if any. */
  tools?: unknown[];
  messages: ChatMessage[];
}

/**
 * Estimated tokens of the prefix up to and including the first block marked `cachePrefix`, or
 * undefined when no block is marked.
 */
export function cachePrefixTokens(req: CachePrefixInput): number | undefined {
  let chars = (req.tools ?? []).reduce<number>((n, t) => n + JSON.stringify(t).length, 0) + (req.system?.length ?? 0);
  for (const m of req.messages) {
    if (typeof m.content === 'string') {
      chars += m.content.length;
      continue;
    }
    for (const b of m.content) {
      chars += blockText(b).length;
      if ('cachePrefix' in b && b.cachePrefix) return Math.ceil(chars / CHARS_PER_TOKEN);
    }
  }
  return undefined;
}

/** Whether the marked prefix of a request to `model` is long enough to cache. */
export function prefixCacheable(model: string, req: CachePrefixInput): { cacheable: boolean; prefixTokens: number; minTokens: number } {
  const prefixTokens = cachePrefixTokens(req) ?? 0;
  const minTokens = minCacheTokens(model);
  return { cacheable: prefixTokens >= minTokens, prefixTokens, minTokens };
}

/** A block of a request's messages, by message and block index (a string content is block 0). */
export interface BlockAt {
  message: number;
  block: number;
}

/**
 * Where an agent's conversation is marked for the cache (`cacheConversation`): the last block of the
 * last message — the next turn's prefix — and the last block of the user message before the last
 * assistant reply — where the previous turn marked it, so this turn reads that entry whatever came
 * after. Only positions whose prefix reaches the model's minimum cacheable length, earliest first.
 */
export function conversationBreakpoints(model: string, req: CachePrefixInput): BlockAt[] {
  const last = req.messages.length - 1;
  if (last < 0) return [];
  const lastReply = req.messages.findLastIndex((m) => m.role === 'assistant');
  const previous = lastReply > 0 ? lastReply - 1 : -1;
  const wanted = [...(previous >= 0 && req.messages[previous]!.role === 'user' ? [previous] : []), last];
  const min = minCacheTokens(model);
  let chars = (req.tools ?? []).reduce<number>((n, t) => n + JSON.stringify(t).length, 0) + (req.system?.length ?? 0);
  const out: BlockAt[] = [];
  req.messages.forEach((m, i) => {
    const blocks = typeof m.content === 'string' ? [m.content.length] : m.content.map((b) => blockText(b).length);
    chars += blocks.reduce((n, c) => n + c, 0);
    if (wanted.includes(i) && blocks.length && Math.ceil(chars / CHARS_PER_TOKEN) >= min)
      out.push({ message: i, block: blocks.length - 1 });
  });
  return out;
}
