/**
 * An agent's mailbox, as its workflow keeps it: messages in arrival order, handled one at a time;
 * the `send` updates held open until their reply, at most MAX_HELD_UPDATES at once (Temporal
 * refuses an update while 10 are in flight on a run), the rest answered with a receipt whose reply
 * is read later by query; the recent replies kept for those queries and for a message delivered
 * twice; and what is carried to the next run when the agent continues as new.
 *
 * Deterministic workflow code: `condition` is its only wait.
 */
import { condition } from '@temporalio/workflow';
import {
  bodyPreview,
  KEPT_REPLIES,
  MAX_HELD_UPDATES,
  SEEN_IDS,
  type ActorReceipt,
  type ActorReply,
  type Envelope,
  type MailboxEntry,
  type ReplyStatus,
  type SendResult,
} from '../shared/actor';

export interface MailboxCarry {
  seq: number;
  queue: Envelope[];
  kept: ActorReply[];
  seen: string[];
}

interface Queued {
  env: Envelope;
  seq: number;
}

const keptChars = (r: ActorReply) => (r.text?.length ?? 0) + 200;
/** Characters of kept replies carried to the next run, at most. */
const KEPT_MAX_CHARS = 256 * 1024;

export class Mailbox {
  private queue: Queued[];
  private seq: number;
  private readonly seen: string[];
  private readonly seenSet: Set<string>;
  private readonly kept = new Map<string, ActorReply>();
  private keptSize = 0;
  /** Replies for held updates, taken by their handler. */
  private readonly answered = new Map<string, ActorReply>();
  private readonly waiting = new Set<string>();
  current: (Queued & { since: number }) | undefined;
  /** Set while the run prepares to continue as new: held updates turn into receipts, new ones get receipts. */
  draining = false;
  updatesThisRun = 0;

  constructor(carry?: MailboxCarry) {
    this.seq = carry?.seq ?? 0;
    this.seen = [...(carry?.seen ?? [])];
    this.seenSet = new Set(this.seen);
    this.queue = [];
    for (const env of carry?.queue ?? []) this.queue.push({ env, seq: ++this.seq });
    for (const r of carry?.kept ?? []) this.keep(r);
  }

  get size(): number {
    return this.queue.length;
  }

  get held(): number {
    return this.waiting.size;
  }

  /**
   * A message arrives (update or signal). A message seen before is not queued again; if it asks
   * for its reply by query, the queued or kept copy is marked so.
   */
  arrive(env: Envelope): boolean {
    if (this.seenSet.has(env.id)) {
      if (env.replyBy === 'query') {
        const q = this.find(env.id);
        if (q) q.env.replyBy = 'query';
      }
      return false;
    }
    this.seen.push(env.id);
    this.seenSet.add(env.id);
    if (this.seen.length > SEEN_IDS) this.seenSet.delete(this.seen.shift()!);
    this.queue.push({ env, seq: ++this.seq });
    return true;
  }

  /** Drops every queued message (a stopping agent answers them itself); returns them. */
  takeAll(): Queued[] {
    const all = this.queue;
    this.queue = [];
    return all;
  }

  private find(id: string): Queued | undefined {
    if (this.current?.env.id === id) return this.current;
    return this.queue.find((q) => q.env.id === id);
  }

  /** The `send` update: wait for the reply while fewer than MAX_HELD_UPDATES wait, else a receipt. */
  async send(env: Envelope): Promise<SendResult> {
    this.updatesThisRun++;
    if (!this.arrive(env)) {
      const kept = this.kept.get(env.id);
      if (kept) return kept;
    }
    if (this.draining || this.waiting.size >= MAX_HELD_UPDATES || this.waiting.has(env.id)) return this.receipt(env.id);
    this.waiting.add(env.id);
    try {
      await condition(() => this.answered.has(env.id) || this.draining);
    } finally {
      this.waiting.delete(env.id);
    }
    const reply = this.answered.get(env.id);
    this.answered.delete(env.id);
    return reply ?? this.receipt(env.id);
  }

  private receipt(id: string): SendResult {
    const q = this.find(id);
    if (!q) return this.kept.get(id) ?? { id, queued: true, seq: 0, ahead: 0 };
    q.env.replyBy = 'query';
    return { id, queued: true, seq: q.seq, ahead: this.ahead(q) } satisfies ActorReceipt;
  }

  private ahead(q: Queued): number {
    if (q === this.current) return 0;
    return this.queue.indexOf(q) + (this.current ? 1 : 0);
  }

  /** The next message to handle, in arrival order; it becomes `current`. */
  next(now: number): (Queued & { since: number }) | undefined {
    const q = this.queue.shift();
    this.current = q ? { ...q, since: now } : undefined;
    return this.current;
  }

  /**
   * The reply to a message: to its held update, into the kept replies (for queries and repeats).
   * Returns the address to signal the reply to, when an agent waits for it.
   */
  settle(env: Envelope, reply: ActorReply): string | undefined {
    if (this.current?.env.id === env.id) this.current = undefined;
    if (this.waiting.has(env.id)) this.answered.set(env.id, reply);
    this.keep(reply);
    return env.replyTo;
  }

  private keep(reply: ActorReply): void {
    const old = this.kept.get(reply.id);
    if (old) this.keptSize -= keptChars(old);
    this.kept.delete(reply.id);
    this.kept.set(reply.id, reply);
    this.keptSize += keptChars(reply);
    for (const [id, r] of this.kept) {
      if (this.kept.size <= KEPT_REPLIES && this.keptSize <= KEPT_MAX_CHARS) break;
      this.kept.delete(id);
      this.keptSize -= keptChars(r);
    }
  }

  /** What the `replyFor` query answers. */
  status(id: string): ReplyStatus {
    const kept = this.kept.get(id);
    if (kept) return { state: 'done', reply: kept };
    const q = this.find(id);
    if (!q) return { state: 'unknown' };
    return q === this.current ? { state: 'handling', ahead: 0 } : { state: 'queued', ahead: this.ahead(q) };
  }

  entries(max: number): MailboxEntry[] {
    return this.queue.slice(0, max).map(entry);
  }

  /** Carried to the next run; the queue's numbering continues there. */
  carry(): MailboxCarry {
    return {
      seq: this.seq - this.queue.length,
      queue: this.queue.map((q) => q.env),
      kept: [...this.kept.values()],
      seen: [...this.seen],
    };
  }
}

export const entry = (q: Queued): MailboxEntry => ({
  id: q.env.id,
  seq: q.seq,
  from: q.env.from,
  kind: q.env.body.kind,
  preview: bodyPreview(q.env.body),
});
