/**
 * Answer streams (issue #12 §2): the text a model call writes, chunk by chunk, for a person to
 * watch, kept outside the workflow's history. The model activity appends; `braid ask` and
 * `braid watch` read from any point, so a restarted CLI replays what was written and goes on live.
 *
 * Two places hold them: Redis streams (XADD / XREAD BLOCK) when REDIS_URL is set, which any host
 * can read; otherwise memory in the worker's process, which only a CLI hosting that worker
 * (`--with-worker`) can read — any other CLI has no stream and shows the final answer only.
 * A stream is keyed by workflow id (so it spans continue-as-new) and expires a day after its last
 * chunk. Appending is best effort: a store that is down never fails a model call.
 *
 * With a key ring (encryption on), each chunk in Redis is sealed (`src/encryption/seal.ts`); the
 * reader needs the same keys. Chunks written before encryption still read. Memory streams never
 * leave the process and are kept as they are.
 */
import Redis from 'ioredis';
import type { KeyRing } from '../encryption/keys';
import { openText, sealText } from '../encryption/seal';
import type { AnswerChunk } from '../shared/stream';

export interface StreamEntry {
  /** Where the reader is after this entry: pass it back to `read` to resume after it. */
  cursor: string;
  chunk: AnswerChunk;
}

export interface AnswerStreams {
  /** Where the chunks are readable from: 'redis' (any host) or 'memory' (this process). */
  readonly kind: 'redis' | 'memory';
  append(workflowId: string, chunk: AnswerChunk): Promise<void>;
  /** Entries after `cursor` ('0': from the start), waiting up to `waitMs` for the first one. */
  read(workflowId: string, cursor: string, waitMs: number): Promise<StreamEntry[]>;
  close(): Promise<void>;
}

const KEEP_SECONDS = 24 * 3600;
/** Runs whose streams a process keeps in memory; the oldest is dropped first. */
const MEMORY_RUNS = 200;
const MAX_ENTRIES = 100_000;
const key = (workflowId: string) => `braid:answer:${workflowId}`;
const SEAL_LABEL = 'answer-stream';

export class RedisAnswerStreams implements AnswerStreams {
  readonly kind = 'redis' as const;
  private readonly writer: Redis;
  private reader: Redis | undefined;

  constructor(
    private readonly url: string,
    /** Encryption on: chunks are sealed in Redis. */
    private readonly ring?: KeyRing,
  ) {
    this.writer = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    this.writer.on('error', () => {});
  }

  async append(workflowId: string, chunk: AnswerChunk): Promise<void> {
    await this.writer
      .multi()
      .xadd(key(workflowId), 'MAXLEN', '~', String(MAX_ENTRIES), '*', 'c', this.seal(JSON.stringify(chunk)))
      .expire(key(workflowId), KEEP_SECONDS)
      .exec();
  }

  async read(workflowId: string, cursor: string, waitMs: number): Promise<StreamEntry[]> {
    // A blocking read holds its connection: readers get one of their own.
    if (!this.reader) {
      this.reader = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      this.reader.on('error', () => {});
    }
    const res = await this.reader.xread('COUNT', 500, 'BLOCK', Math.max(1, waitMs), 'STREAMS', key(workflowId), cursor);
    const entries = res?.[0]?.[1] ?? [];
    return entries.map(([id, fields]) => ({
      cursor: id,
      chunk: JSON.parse(openText(this.ring, SEAL_LABEL, fields[1] ?? 'null', `an answer stream's chunk of ${workflowId}`)) as AnswerChunk,
    }));
  }

  private seal(text: string): string {
    return this.ring ? sealText(this.ring, SEAL_LABEL, text) : text;
  }

  async close(): Promise<void> {
    this.writer.disconnect();
    this.reader?.disconnect();
  }
}

export class MemoryAnswerStreams implements AnswerStreams {
  readonly kind = 'memory' as const;
  private readonly streams = new Map<string, AnswerChunk[]>();
  private readonly waiting = new Set<() => void>();

  async append(workflowId: string, chunk: AnswerChunk): Promise<void> {
    const s = this.streams.get(workflowId) ?? [];
    s.push(chunk);
    this.streams.set(workflowId, s);
    if (this.streams.size > MEMORY_RUNS) this.streams.delete(this.streams.keys().next().value!);
    for (const wake of [...this.waiting]) wake();
  }

  async read(workflowId: string, cursor: string, waitMs: number): Promise<StreamEntry[]> {
    const from = Number(cursor) || 0;
    const take = () => (this.streams.get(workflowId) ?? []).slice(from).map((chunk, i) => ({ cursor: String(from + i + 1), chunk }));
    let out = take();
    if (out.length || waitMs <= 0) return out;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      this.waiting.add(done);
    });
    out = take();
    return out;
  }

  async close(): Promise<void> {
    for (const wake of [...this.waiting]) wake();
  }
}

/** This process's memory streams: one for the worker and the CLI that hosts it. */
let local: MemoryAnswerStreams | undefined;
export const processAnswerStreams = (): MemoryAnswerStreams => (local ??= new MemoryAnswerStreams());

/** The streams a worker writes and a CLI reads: Redis with REDIS_URL, else this process's memory. */
export function answerStreams(redisUrl: string | undefined, ring?: KeyRing): AnswerStreams {
  return redisUrl ? new RedisAnswerStreams(redisUrl, ring) : processAnswerStreams();
}
