/**
 * Large content by reference, the worker's and the CLI's side (the contract is src/shared/blobs.ts):
 * storing text above a threshold, and reading stored text back — the conversation an agent keeps
 * as stored segments, the tool results and answers inside it — before the model sees a message.
 *
 * Stored content is content-addressed, so it never changes: reads go through a cache bounded by
 * size, and an agent's every turn re-reads only what is not cached yet. A reference this host
 * cannot resolve becomes a non-retryable `BlobNotFound` failure whose one line says the blob store
 * must be shared.
 */
import { ApplicationFailure } from '@temporalio/common';
import { previewOf, type StoredText } from '../shared/blobs';
import type { ChatMessage } from '../shared/types';
import { BlobNotFound, type BlobStore } from './store';

/** Characters of stored text a worker keeps cached for re-reading. */
const CACHE_CHARS = 64 * 1024 * 1024;

export class BlobTexts {
  private readonly cache = new Map<string, string>();
  private cached = 0;

  constructor(
    readonly store: BlobStore,
    private readonly cacheChars = CACHE_CHARS,
  ) {}

  async read(ref: string): Promise<string> {
    const hit = this.cache.get(ref);
    if (hit !== undefined) {
      this.cache.delete(ref); // most recently used last
      this.cache.set(ref, hit);
      return hit;
    }
    const text = (await this.store.get(ref)).toString('utf8');
    if (text.length <= this.cacheChars / 4) {
      this.cache.set(ref, text);
      this.cached += text.length;
      for (const [k, v] of this.cache) {
        if (this.cached <= this.cacheChars) break;
        this.cache.delete(k);
        this.cached -= v.length;
      }
    }
    return text;
  }

  /** The text stored, when it is longer than `above` characters; undefined when it stays inline. */
  async storeAbove(text: string, above: number | undefined): Promise<StoredText | undefined> {
    if (above === undefined || text.length <= above) return undefined;
    return { ref: await this.store.put(text), chars: text.length };
  }

  /** Stored text, cut at its `limit`. */
  async text(stored: StoredText): Promise<string> {
    const text = await this.read(stored.ref);
    return stored.limit === undefined ? text : text.slice(0, stored.limit);
  }

  async json<T>(ref: string): Promise<T> {
    return JSON.parse(await this.read(ref)) as T;
  }
}

/** Any block a message may hold. */
type Block = Exclude<ChatMessage['content'], string>[number];

/** A block as the model must see it: stored text read back in place of its preview. */
async function resolveBlock(texts: BlobTexts, b: Block): Promise<Block> {
  if (b.type === 'text' && b.stored) return { type: 'text', text: await texts.text(b.stored) };
  if (b.type === 'tool_result' && b.stored) {
    const { stored, ...rest } = b;
    return { ...rest, content: await texts.text(stored) };
  }
  return b;
}

/** The whole conversation of a model call: its stored history segments, then its inline messages, every stored block read back. */
export async function resolveMessages(texts: BlobTexts, history: string[] | undefined, messages: ChatMessage[]): Promise<ChatMessage[]> {
  const all: ChatMessage[] = [];
  for (const ref of history ?? []) all.push(...(await texts.json<ChatMessage[]>(ref)));
  all.push(...messages);
  return Promise.all(
    all.map(async (m) =>
      typeof m.content === 'string' ? m : { ...m, content: await Promise.all(m.content.map((b) => resolveBlock(texts, b))) },
    ),
  );
}

/** Text stored, with the preview a run keeps in its place. */
export async function storeText(texts: BlobTexts, text: string, above: number | undefined): Promise<{ text: string; stored?: StoredText }> {
  const stored = await texts.storeAbove(text, above);
  return stored ? { text: previewOf(text, stored), stored } : { text };
}

/** A missing blob as the activity's failure: not retried (it will not appear later), and says why it is missing. */
export function blobFailure(err: unknown): unknown {
  if (err instanceof BlobNotFound) return ApplicationFailure.nonRetryable(err.message, 'BlobNotFound');
  return err;
}
