// Input token accounting and prompt caching, as the API documents them. The prompt is laid out in
// render order — tool definitions, system blocks, then every message's blocks — and each block gets
// a token count (chars / 4) and a hash of everything up to and including it. A block marked with
// `cache_control` (or the last block, under a top-level `cache_control`) is a breakpoint.
//
// A request reads the longest cached prefix found at a breakpoint or up to 20 blocks before one,
// and writes an entry at each later breakpoint whose prefix reaches the model's minimum cacheable
// length. Entries are per model; tool_choice and thinking settings are part of the messages' prefix,
// so changing them keeps the tools and system cached but not the conversation. An entry is only
// visible once the response that wrote it has begun, so two identical requests sent together both
// pay for the write. Entries live 5 minutes or 1 hour from their last use.
//
// Usage splits the input exactly: input_tokens (after the last cache hit or write) plus
// cache_read_input_tokens plus cache_creation_input_tokens is what count_tokens reports.
import { createHash } from 'node:crypto';
import { sniffImage } from './content';
import { countTokens, toolResultText } from './text';
import type { CacheControl, MessagesRequest, PromptCacheConfig, RequestBlock, RequestMessage } from './types';

/** How far before a breakpoint the cache looks for an earlier hit, in blocks. */
const LOOKBACK_BLOCKS = 20;

/** An image's estimated cost when its size is not read from its header (about a full-size image). */
const DEFAULT_IMAGE_TOKENS = 1600;

interface Segment {
  tokens: number;
  /** Hash of the model and every block up to and including this one. */
  hash: string;
  /** Tokens of this block and all before it. */
  prefixTokens: number;
  breakpoint?: CacheControl;
}

export interface PromptLayout {
  segments: Segment[];
  totalTokens: number;
}

/** Width × height of a PNG or GIF from its header; other formats are not read. */
function imageTokens(data: string): number {
  const bytes = Buffer.from(data.slice(0, 64), 'base64');
  const kind = sniffImage(bytes);
  let size: [number, number] | undefined;
  if (kind === 'image/png' && bytes.length >= 24) size = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
  else if (kind === 'image/gif' && bytes.length >= 10) size = [bytes.readUInt16LE(6), bytes.readUInt16LE(8)];
  return size ? Math.min(DEFAULT_IMAGE_TOKENS, Math.max(1, Math.ceil((size[0] * size[1]) / 750))) : DEFAULT_IMAGE_TOKENS;
}

/** Tokens a block adds to the prompt, and the text its hash is computed from. */
function blockCost(b: RequestBlock, countThinking: boolean): { tokens: number; key: string } {
  const { cache_control: _ignored, ...rest } = b as RequestBlock & { cache_control?: unknown };
  const key = JSON.stringify(rest);
  switch (b.type) {
    case 'text':
      return { tokens: countTokens(b.text), key };
    case 'tool_use':
      return { tokens: countTokens(b.name + JSON.stringify(b.input)), key };
    case 'tool_result': {
      const extra = Array.isArray(b.content) ? b.content.filter((c) => c.type !== 'text').map((c) => blockCost(c, false).tokens) : [];
      return { tokens: countTokens(toolResultText(b)) + extra.reduce((s, t) => s + t, 0), key };
    }
    case 'image':
      return { tokens: b.source.type === 'base64' ? imageTokens(b.source.data) : DEFAULT_IMAGE_TOKENS, key };
    case 'document': {
      const text = b.text ?? '';
      return { tokens: countTokens([b.title ?? '', b.context ?? '', text].join('\n')), key };
    }
    case 'thinking':
      return { tokens: countThinking ? countTokens(b.thinking) : 0, key };
    case 'redacted_thinking':
      return { tokens: countThinking ? countTokens(b.data) : 0, key };
  }
}

const blocks = (m: RequestMessage): RequestBlock[] => (typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content);

/** The index of the assistant turn whose tool calls the last user message answers (its thinking counts as input). */
function toolLoopTurn(messages: RequestMessage[]): number {
  const last = messages.length - 1;
  const user = messages[last];
  return user?.role === 'user' && blocks(user).some((b) => b.type === 'tool_result') ? last - 1 : -1;
}

/**
 * The request's prompt as the cache sees it. Thinking blocks of earlier turns are not input (the API
 * drops them); only the turn the current tool loop continues keeps its thinking.
 */
export function promptLayout(request: MessagesRequest): PromptLayout {
  const h = createHash('sha256').update(request.model);
  const segments: Segment[] = [];
  let prefix = 0;
  const push = (tokens: number, key: string, breakpoint?: CacheControl): void => {
    h.update('\u0000').update(key);
    prefix += tokens;
    segments.push({ tokens, hash: h.copy().digest('hex'), prefixTokens: prefix, breakpoint });
  };
  for (const t of request.tools ?? []) {
    const { cache_control, ...def } = t;
    push(countTokens(JSON.stringify(def)), JSON.stringify(def), cache_control);
  }
  if (typeof request.system === 'string') push(countTokens(request.system), request.system);
  else for (const b of request.system ?? []) push(countTokens(b.text), b.text, b.cache_control);
  // Settings that change what the conversation means to the model: a change invalidates the messages' cache only.
  h.update('\u0000').update(JSON.stringify([request.tool_choice ?? null, request.thinking ?? null]));
  const loop = toolLoopTurn(request.messages);
  request.messages.forEach((m, i) => {
    for (const b of blocks(m)) {
      const { tokens, key } = blockCost(b, i === loop);
      push(tokens, `${m.role}:${key}`, 'cache_control' in b ? b.cache_control : undefined);
    }
  });
  // Automatic caching: the top-level marker applies to the last block.
  const last = segments.at(-1);
  if (request.cache_control && last && !last.breakpoint) last.breakpoint = request.cache_control;
  return { segments, totalTokens: Math.max(1, prefix) };
}

export interface CacheUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

/** What one request reads and writes; `PromptCache.begin` makes it happen. */
export interface CachePlan {
  usage: CacheUsage;
  readHash?: string;
  writes: Array<{ hash: string; ttl: '5m' | '1h' }>;
}

interface Entry {
  expiresAt: number;
  ttlMs: number;
}

export class PromptCache {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: Record<'5m' | '1h', number>;

  constructor(
    config: PromptCacheConfig = {},
    private readonly now: () => number = Date.now,
  ) {
    this.ttlMs = { '5m': config.ttl5mMs ?? 5 * 60_000, '1h': config.ttl1hMs ?? 60 * 60_000 };
  }

  private live(hash: string): boolean {
    const e = this.entries.get(hash);
    if (!e) return false;
    if (e.expiresAt > this.now()) return true;
    this.entries.delete(hash);
    return false;
  }

  /** Looks the request up without changing anything. */
  plan(layout: PromptLayout, minCacheTokens: number): CachePlan {
    const { segments } = layout;
    const breakpoints = segments.flatMap((s, i) => (s.breakpoint ? [i] : []));
    let hit = -1;
    for (const bp of breakpoints) {
      for (let i = bp; i >= Math.max(0, bp - LOOKBACK_BLOCKS + 1); i--) {
        if (i > hit && this.live(segments[i]!.hash)) {
          hit = i;
          break;
        }
      }
    }
    const read = hit >= 0 ? segments[hit]!.prefixTokens : 0;
    const writes: CachePlan['writes'] = [];
    const split = { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 };
    let covered = read;
    for (const bp of breakpoints) {
      const s = segments[bp]!;
      if (bp <= hit || s.prefixTokens < minCacheTokens) continue;
      const ttl = s.breakpoint?.ttl ?? '5m';
      writes.push({ hash: s.hash, ttl });
      split[ttl === '1h' ? 'ephemeral_1h_input_tokens' : 'ephemeral_5m_input_tokens'] += s.prefixTokens - covered;
      covered = s.prefixTokens;
    }
    const creation = covered - read;
    return {
      usage: {
        input_tokens: layout.totalTokens - read - creation,
        cache_creation_input_tokens: creation,
        cache_read_input_tokens: read,
        cache_creation: split,
      },
      readHash: hit >= 0 ? segments[hit]!.hash : undefined,
      writes,
    };
  }

  /** The response has begun: the read refreshes its entry and the writes become visible. */
  begin(plan: CachePlan): void {
    const now = this.now();
    if (plan.readHash) {
      const e = this.entries.get(plan.readHash);
      if (e) e.expiresAt = Math.max(e.expiresAt, now + e.ttlMs);
    }
    for (const w of plan.writes) {
      const ttlMs = this.ttlMs[w.ttl];
      const e = this.entries.get(w.hash);
      this.entries.set(w.hash, { ttlMs: Math.max(ttlMs, e?.ttlMs ?? 0), expiresAt: Math.max(now + ttlMs, e?.expiresAt ?? 0) });
    }
  }

  size(): number {
    for (const hash of [...this.entries.keys()]) this.live(hash);
    return this.entries.size;
  }
}
