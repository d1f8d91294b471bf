/**
 * Activities of `braid summarize --batch`: the map phase through the Message Batches API, at half
 * the price of calls answered now. The workflow (src/workflows/summarize-batch.ts) submits one batch
 * per range of chunks, checks them with `pollMapBatches` between durable timers, and collects each
 * one that ended; nothing here waits for a batch.
 *
 * Requests are the map calls `mapChunk` makes (src/activities/summarize.ts: the same prompt, cache
 * mark and citation checks), keyed by `custom_id` = `chunk-<index>`: results come back in any order
 * and are matched by that id, never by position. A range's outcomes live in one part file in the
 * blob store, the one `assembleLevel` reads; a later round rewrites only the requests it carried.
 *
 * Submitting is not idempotent on the API's side (a batch has no idempotency key): a worker that
 * dies between the create call and reporting its id leaves a batch the run never reads. It is paid
 * for; the run submits again.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { getJson, putJson, type BlobStore } from '../blobs/store';
import type { BatchUsage } from '../shared/pricing';
import type { CorpusManifest } from '../shared/summarize';
import type { ModelRole, TokenUsage } from '../shared/types';
import { addUsage } from '../shared/usage';
import { SIMULATOR_HEADER } from '../simulator/http';
import { toLlmFailure } from './llm-errors';
import { toBlocks, usageOf, withCacheControl } from './llm';
import { mapRequest, mapResult, type PartFile } from './summarize';

export interface BatchDeps {
  claude: Anthropic;
  models: Record<ModelRole, string>;
  blobs: BlobStore;
}

/** A range of chunks, or some chunks of it (a later round). */
export interface MapBatchInput {
  manifestRef: string;
  task: string;
  start: number;
  end: number;
  /** Only these chunks (a retry round); absent: the whole range. */
  indexes?: number[];
}

export interface SubmittedBatch {
  batchId: string;
  requests: number;
}

export interface BatchState {
  batchId: string;
  status: Anthropic.Messages.MessageBatch['processing_status'];
  counts: Anthropic.Messages.MessageBatchRequestCounts;
}

export interface CollectedBatch {
  /** The range's part file, with this batch's outcomes written in. */
  partRef: string;
  ok: number;
  failed: number;
  /** Chunks whose request may succeed if sent again (server error, expired, canceled, every citation rejected). */
  retry: number[];
  /** What this batch's requests used, by model: billed at the batch rate. */
  byModel: BatchUsage;
  /** The total and its model, as one call's result says it (braid report reads these); `batch`: billed at the batch rate. */
  usage: TokenUsage;
  model?: string;
  batch: true;
  calls: number;
  simulated: boolean;
}

const customId = (index: number) => `chunk-${index}`;
const indexOf = (id: string): number | undefined => {
  const m = /^chunk-(\d+)$/.exec(id);
  return m ? Number(m[1]) : undefined;
};

/** Error types a batch request can fail with that sending it again cannot fix. */
const FINAL_ERRORS = new Set(['invalid_request_error', 'authentication_error', 'permission_error', 'not_found_error', 'billing_error']);

export function createBatchActivities(deps: BatchDeps) {
  const fail = (err: unknown): never => {
    throw err instanceof ApplicationFailure ? err : toLlmFailure(err, 'message batches');
  };

  return {
    async submitMapBatch(input: MapBatchInput): Promise<SubmittedBatch> {
      const manifest = await getJson<CorpusManifest>(deps.blobs, input.manifestRef);
      const indexes = input.indexes ?? Array.from({ length: input.end - input.start }, (_, k) => input.start + k);
      const model = deps.models.fast;
      const requests: Anthropic.Messages.BatchCreateParams.Request[] = [];
      for (const index of indexes) {
        const chunk = manifest.chunks[index];
        if (!chunk) throw ApplicationFailure.nonRetryable(`chunk ${index} is not in manifest ${input.manifestRef}`, 'InvalidInput');
        const req = mapRequest(input.task, chunk.source, (await deps.blobs.get(chunk.ref)).toString('utf8'));
        requests.push({
          custom_id: customId(index),
          params: {
            model,
            max_tokens: req.maxTokens!,
            system: req.system,
            messages: withCacheControl(model, req.system, undefined, req.messages) as Anthropic.MessageParam[],
          },
        });
      }
      const created = await deps.claude.messages.batches.create({ requests }, { maxRetries: 0 }).catch(fail);
      Context.current().log.info(`submitted ${created.id}: ${requests.length} map request(s)`);
      return { batchId: created.id, requests: requests.length };
    },

    async pollMapBatches(input: { batchIds: string[] }): Promise<BatchState[]> {
      return Promise.all(
        input.batchIds.map(async (id) => {
          const b = await deps.claude.messages.batches.retrieve(id, {}, { maxRetries: 0 }).catch(fail);
          return { batchId: id, status: b.processing_status, counts: b.request_counts };
        }),
      );
    },

    /** Reads an ended batch's results into the range's part file. */
    async collectMapBatch(input: MapBatchInput & { batchId: string; partRef?: string }): Promise<CollectedBatch> {
      const ctx = Context.current();
      const manifest = await getJson<CorpusManifest>(deps.blobs, input.manifestRef);
      const n = input.end - input.start;
      const part: PartFile = input.partRef
        ? await getJson<PartFile>(deps.blobs, input.partRef)
        : { start: input.start, end: input.end, entries: Array.from({ length: n }, () => ({ ok: false, reason: 'no result yet' })) };
      const expected = new Set(input.indexes ?? Array.from({ length: n }, (_, k) => input.start + k));
      const byModel: BatchUsage = {};
      const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
      const retry: number[] = [];
      let [ok, failed, calls] = [0, 0, 0];
      // What answered says what it is: the simulator marks its responses.
      const { response } = await deps.claude.messages.batches.retrieve(input.batchId, {}, { maxRetries: 0 }).withResponse().catch(fail);
      const simulated = response.headers.get(SIMULATOR_HEADER) !== null;
      const results = await deps.claude.messages.batches.results(input.batchId, {}, { maxRetries: 0 }).catch(fail);
      const set = (index: number, entry: PartFile['entries'][number], again: boolean) => {
        part.entries[index - input.start] = entry;
        expected.delete(index);
        if (entry.ok) ok++;
        else failed++;
        if (again) retry.push(index);
      };
      for await (const line of results) {
        const index = indexOf(line.custom_id);
        if (index === undefined || !expected.has(index)) continue;
        const r = line.result;
        if (r.type === 'succeeded') {
          const m = r.message;
          const u = usageOf(m.usage);
          calls++;
          const sum = (byModel[m.model] ??= { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, calls: 0 });
          sum.calls++;
          for (const k of ['inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens'] as const)
            sum[k] = (sum[k] ?? 0) + (u[k] ?? 0);
          addUsage(usage, u);
          const chunk = manifest.chunks[index]!;
          const text = (await deps.blobs.get(chunk.ref)).toString('utf8');
          try {
            const out = mapResult(chunk, text, { content: toBlocks(m.content), model: m.model });
            set(index, { ok: true, ref: await putJson(deps.blobs, out) }, false);
          } catch (err) {
            set(index, { ok: false, reason: `${(err as Error).message} (batch ${input.batchId})` }, true);
          }
        } else if (r.type === 'errored') {
          const e = r.error.error;
          set(index, { ok: false, reason: `${e.type}: ${e.message} (batch ${input.batchId})` }, !FINAL_ERRORS.has(e.type));
        } else set(index, { ok: false, reason: `request ${r.type} (batch ${input.batchId})` }, true);
        if ((ok + failed) % 100 === 0) ctx.heartbeat(ok + failed);
      }
      for (const index of expected) set(index, { ok: false, reason: `no result for ${customId(index)} in batch ${input.batchId}` }, true);
      const models = Object.keys(byModel);
      return {
        partRef: await putJson(deps.blobs, part),
        ok,
        failed,
        retry: retry.sort((a, b) => a - b),
        byModel,
        usage,
        ...(models.length === 1 ? { model: models[0] } : {}),
        batch: true,
        calls,
        simulated,
      };
    },

    /** Cancels batches a cancelled run leaves behind; requests already processed are still billed. */
    async cancelMapBatches(input: { batchIds: string[] }): Promise<void> {
      await Promise.all(
        input.batchIds.map((id) =>
          deps.claude.messages.batches.cancel(id, {}, { maxRetries: 0 }).catch((err: unknown) => {
            Context.current().log.warn(`could not cancel ${id}: ${(err as Error).message}`);
          }),
        ),
      );
    },
  };
}
