// Message Batches: create, retrieve, list, cancel, delete and JSONL results, on a clock instead of
// a queue. A batch's requests are answered when it is created (the planner is deterministic, so
// when does not matter) and revealed as time passes: request i of n finishes at
// created + processingMs·(i+1)/n, and the batch ends when the last one does — or earlier, when it
// is canceled (requests not finished at cancel time become `canceled`) or reaches its expiry
// (unfinished ones become `expired`). As documented, every request counts as `processing` until the
// whole batch has ended. State is computed from timestamps on each read, so nothing runs in the
// background and closing the simulator leaves no timer behind.
import { randomBytes } from 'node:crypto';
import { isObj } from './content';
import { paginate, type Page } from './models';
import type { BatchConfig } from './types';

export type BatchResult =
  | { type: 'succeeded'; message: Record<string, unknown> }
  | { type: 'errored'; error: { type: 'error'; error: { type: string; message: string } } }
  | { type: 'canceled' }
  | { type: 'expired' };

/** Answers one request of a batch; never throws for a bad request (that is an `errored` result). */
export type BatchRunner = (params: unknown) => Promise<BatchResult>;

export class BatchInvalid extends Error {
  override name = 'BatchInvalid';
}

export class BatchNotFound extends Error {
  override name = 'BatchNotFound';
}

interface StoredBatch {
  id: string;
  createdAt: number;
  expiresAt: number;
  cancelAt?: number;
  requests: Array<{ customId: string; result: BatchResult }>;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;

export class BatchStore {
  private readonly batches = new Map<string, StoredBatch>();
  private readonly processingMs: number;
  private readonly expiresAfterMs: number;
  private readonly cancelMs: number;

  constructor(
    config: BatchConfig = {},
    private readonly now: () => number = Date.now,
  ) {
    this.processingMs = config.processingMs ?? 2000;
    this.expiresAfterMs = config.expiresAfterMs ?? 24 * 60 * 60_000;
    this.cancelMs = config.cancelMs ?? 100;
  }

  async create(body: unknown, run: BatchRunner): Promise<StoredBatch> {
    if (!isObj(body) || !Array.isArray(body.requests)) throw new BatchInvalid('requests: Field required');
    if (body.requests.length === 0) throw new BatchInvalid('requests: List should have at least 1 item after validation, not 0');
    if (body.requests.length > 100_000) throw new BatchInvalid('requests: List should have at most 100000 items');
    const seen = new Set<string>();
    const requests = body.requests.map((r: unknown, i) => {
      if (!isObj(r)) throw new BatchInvalid(`requests.${i}: Input should be a valid dictionary`);
      if (typeof r.custom_id !== 'string' || !CUSTOM_ID.test(r.custom_id))
        throw new BatchInvalid(`requests.${i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`);
      if (seen.has(r.custom_id))
        throw new BatchInvalid(`requests.${i}.custom_id: Duplicate custom_id '${r.custom_id}'; each must be unique within the batch`);
      seen.add(r.custom_id);
      if (!isObj(r.params)) throw new BatchInvalid(`requests.${i}.params: Field required`);
      return { customId: r.custom_id, params: r.params };
    });
    const createdAt = this.now();
    const answered: StoredBatch['requests'] = [];
    for (const r of requests) answered.push({ customId: r.customId, result: await run(r.params) });
    const batch: StoredBatch = {
      id: `msgbatch_sim_${randomBytes(12).toString('hex')}`,
      createdAt,
      expiresAt: createdAt + this.expiresAfterMs,
      requests: answered,
    };
    this.batches.set(batch.id, batch);
    return batch;
  }

  get(id: string): StoredBatch {
    const batch = this.batches.get(id);
    if (!batch) throw new BatchNotFound(`message_batch_id: no batch with id ${id}`);
    return batch;
  }

  /** When request `i` finishes processing if nothing stops it. */
  private finishAt(batch: StoredBatch, i: number): number {
    return batch.createdAt + (this.processingMs * (i + 1)) / batch.requests.length;
  }

  /** When processing of the whole batch ends: the last request, a finished cancel, or expiry. */
  private endAt(batch: StoredBatch): number {
    const natural = this.finishAt(batch, batch.requests.length - 1);
    const canceled = batch.cancelAt === undefined ? Infinity : batch.cancelAt + this.cancelMs;
    return Math.min(natural, canceled, batch.expiresAt);
  }

  /** A request's result once the batch has ended. */
  private outcome(batch: StoredBatch, i: number): BatchResult {
    const at = this.finishAt(batch, i);
    if (batch.cancelAt !== undefined && at > batch.cancelAt) return { type: 'canceled' };
    if (at > batch.expiresAt) return { type: 'expired' };
    return batch.requests[i]!.result;
  }

  ended(batch: StoredBatch): boolean {
    return this.now() >= this.endAt(batch);
  }

  /** The batch as the API's MessageBatch object; `baseUrl` makes results_url absolute, as the API's is. */
  view(batch: StoredBatch, baseUrl: string): Record<string, unknown> {
    const ended = this.ended(batch);
    const counts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    if (!ended) counts.processing = batch.requests.length;
    else batch.requests.forEach((_, i) => (counts[this.outcome(batch, i).type] += 1));
    return {
      id: batch.id,
      type: 'message_batch',
      processing_status: ended ? 'ended' : batch.cancelAt !== undefined ? 'canceling' : 'in_progress',
      request_counts: counts,
      created_at: iso(batch.createdAt),
      expires_at: iso(batch.expiresAt),
      ended_at: ended ? iso(this.endAt(batch)) : null,
      cancel_initiated_at: batch.cancelAt === undefined ? null : iso(batch.cancelAt),
      archived_at: null,
      results_url: ended ? `${baseUrl}/v1/messages/batches/${batch.id}/results` : null,
    };
  }

  /** Most recently created first, paged with `limit`, `after_id` and `before_id`. */
  list(query: URLSearchParams, baseUrl: string): Page<Record<string, unknown> & { id: string }> {
    const all = [...this.batches.values()].reverse().map((b) => ({ ...this.view(b, baseUrl), id: b.id }));
    return paginate(all, query);
  }

  cancel(id: string): StoredBatch {
    const batch = this.get(id);
    if (this.ended(batch)) throw new BatchInvalid(`Batch ${id} has already ended and cannot be canceled`);
    batch.cancelAt ??= this.now();
    return batch;
  }

  delete(id: string): { id: string; type: 'message_batch_deleted' } {
    const batch = this.get(id);
    if (!this.ended(batch)) throw new BatchInvalid(`Batch ${id} is still processing; cancel it and wait for it to end before deleting it`);
    this.batches.delete(id);
    return { id, type: 'message_batch_deleted' };
  }

  /** One JSON line per request, in request order (the API does not promise an order; match by custom_id). */
  results(id: string): string {
    const batch = this.get(id);
    if (!this.ended(batch)) throw new BatchInvalid(`Batch ${id} has not finished processing; its results are not available yet`);
    return batch.requests.map((r, i) => `${JSON.stringify({ custom_id: r.customId, result: this.outcome(batch, i) })}\n`).join('');
  }
}
