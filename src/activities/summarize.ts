/**
 * Activities of `braid summarize` (the document map-reduce). Inputs and outputs are blob references
 * and indexes: the chunk text, every intermediate result and every list of results stay in the blob
 * store, so no payload grows with the corpus. Model calls go through `llmTurn`, inheriting its
 * streaming, heartbeats, error classification and retry semantics; what they ask is in
 * src/prompts/summarize.ts.
 *
 * Provenance is computed here, never taken from the model. A map call reads its chunk as a cited
 * document; the statements of its reply that carry a citation Braid checked become the chunk's
 * claims, each with the sentence ranges of the file it rests on, and a chunk with none did not bear
 * on the task. A reduce call reads its inputs' claims as cited documents, one claim per line; a
 * statement it makes inherits the provenance of the claims it validly cites. So the final answer
 * cites exactly the sentences behind the claims it kept (src/summarize/citations.ts).
 *
 * The reducers check counts rather than trust them: a reduce group must find exactly the results
 * its plan expects, and the final reduce must cover exactly the chunks that succeeded — M of N
 * results never pass as a whole.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { getJson, putJson, type BlobStore } from '../blobs/store';
import { withAttemptLedger, type AttemptPolicy } from '../flow/attempts';
import {
  SUMMARIZE_MAX_TOKENS,
  type Claim,
  type CorpusManifest,
  type ManifestChunk,
  type MissingChunk,
  type PartialResult,
  type SourceCitation,
} from '../shared/summarize';
import { prefixCacheable } from '../shared/prompt-cache';
import type { LlmRequest, LlmResult, TokenUsage } from '../shared/types';
import type { PartialSpend } from '../shared/usage';
import { MAP_SYSTEM, mapContent, NOT_RELEVANT, REDUCE_SYSTEM, reduceContent } from '../prompts/summarize';
import {
  addChecks,
  chunkDocument,
  findingsDocument,
  mergeSources,
  noChecks,
  rangeCount,
  readReply,
  type CitedDocument,
  type Reading,
} from '../summarize/citations';

export interface SummarizeDeps {
  blobs: BlobStore;
  /** The worker's fast model (the map's), for deciding whether the map's shared prefix is cached. */
  fastModel?: string;
  llmTurn(req: LlmRequest): Promise<LlmResult>;
  /** The model call's attempt ledger, applied to the whole item (its RetryPolicy has no attempt limit). */
  attempts?: AttemptPolicy;
}

export interface ItemOutput {
  ref: string;
  usage: TokenUsage;
  /** The model that answered (absent when the item needed no model call). */
  model?: string;
  simulated: boolean;
  /** What failed attempts of the model call spent (estimated); see `LlmResult.retriedSpend`. */
  retriedSpend?: PartialSpend[];
}

/** Whether the map calls' shared prefix (instructions and task) is long enough for the model to cache it. */
export interface MapCachePlan {
  model: string;
  cacheable: boolean;
  prefixTokens: number;
  minTokens: number;
}

/** A map call's request: the task first (the prefix every map call of a job shares), then the chunk. */
export const mapRequest = (task: string, source: string, text: string): LlmRequest => ({
  role: 'fast',
  system: MAP_SYSTEM,
  messages: [{ role: 'user', content: mapContent(task, source, text) }],
  maxTokens: SUMMARIZE_MAX_TOKENS.map,
});

/**
 * A map call's reply read against its chunk: the statements with citations Braid checked become
 * the chunk's claims. Throws LlmInvalidCitations (retryable) when every citation fails the checks.
 */
export function mapResult(chunk: ManifestChunk, text: string, res: Pick<LlmResult, 'content' | 'model'>): PartialResult {
  const read = checkedReply(`map of chunk ${chunk.id}`, res, [chunkDocument(text, chunk.source, chunk.start)]);
  return {
    kind: 'map',
    level: 0,
    summary: read.claims.map((c) => c.text).join(' ') || NOT_RELEVANT,
    points: [],
    claims: read.claims,
    chunks: 1,
    relevantChunks: read.claims.length ? 1 : 0,
    chunkIds: [chunk.id],
    sources: mergeSources(read.claims.flatMap((c) => c.sources)),
    checks: read.checks,
  };
}

/** What one leaf saves of its items, in index order. */
export interface PartFile {
  start: number;
  end: number;
  entries: ({ ok: true; ref: string } | { ok: false; reason: string })[];
}

export interface LevelFile {
  refs: string[];
}

export interface AssembledLevel {
  levelRef: string;
  ok: number;
  failed: number;
  /** The failures, capped at 1,000 entries; `failed` is the full count. */
  failures: MissingChunk[];
}

/** Results covering more chunks than this cite a count instead of listing ids, so lists never grow with the corpus. */
const LISTED_IDS = 12;

/** Most ranges the final result carries per claim, and in its union of sources: the rest stay in the blob. */
const RESULT_RANGES_PER_CLAIM = 50;
const RESULT_RANGES = 500;

/** The claims of a result; one written before Braid checked citations rests on the whole chunks it covered. */
function claimsOf(r: PartialResult): Claim[] {
  if (r.claims) return r.claims;
  if (/^Not relevant to the task/.test(r.summary)) return [];
  return [r.summary, ...r.points].filter((t) => t.trim()).map((text) => ({ text, sources: r.sources }));
}

const relevantOf = (r: PartialResult): number => r.relevantChunks ?? (claimsOf(r).length ? r.chunks : 0);

/**
 * Reads a reply against its documents. Rejected citations are logged and dropped; a reply whose
 * citations all fail the checks is retried (LlmInvalidCitations) rather than read as "nothing here",
 * so a broken answer can never pass for a chunk that did not bear on the task.
 */
function checkedReply(what: string, res: Pick<LlmResult, 'content' | 'model'>, docs: CitedDocument[]): Reading {
  const read = readReply(res.content, docs);
  const { returned, rejected } = read.checks;
  if (rejected === 0) return read;
  Context.current().log.warn(`${what}: ${rejected} of ${returned} citation(s) rejected`, { reasons: read.rejections });
  if (rejected === returned)
    throw ApplicationFailure.retryable(
      `${res.model} cited ${returned} range(s) and none checks out: ${read.rejections[0]}`,
      'LlmInvalidCitations',
    );
  return read;
}

/** Keeps at most `max` ranges, first sources first; returns what it dropped. */
function capRanges(sources: SourceCitation[], max: number): { sources: SourceCitation[]; omitted: number } {
  let left = max;
  const kept = sources
    .map((s) => {
      const ranges = s.ranges.slice(0, Math.max(0, left));
      left -= ranges.length;
      return { source: s.source, ranges };
    })
    .filter((s) => s.ranges.length);
  return { sources: kept, omitted: rangeCount(sources) - rangeCount(kept) };
}

export function createSummarizeActivities(deps: SummarizeDeps) {
  // Manifests and level files are content-addressed, so never change: every map and reduce call
  // of a job reads the same few, and parsing a 10,000-entry one per call would dominate the work.
  const shared = new Map<string, Promise<unknown>>();
  const cached = <T>(ref: string): Promise<T> => {
    let p = shared.get(ref);
    if (!p) {
      if (shared.size >= 16) shared.delete(shared.keys().next().value!);
      p = getJson<T>(deps.blobs, ref);
      p.catch(() => shared.delete(ref));
      shared.set(ref, p);
    }
    return p as Promise<T>;
  };
  const manifest = (ref: string) => cached<CorpusManifest>(ref);

  return {
    /** Whether a job's map calls share a cacheable prefix; the workflow then runs one map call before the rest. */
    async mapCachePlan(input: { task: string }): Promise<MapCachePlan> {
      const model = deps.fastModel ?? 'unknown';
      return { model, ...prefixCacheable(model, mapRequest(input.task, '', '')) };
    },

    /** `maxUsd`: the call's budget reservation (see LlmRequest.maxUsd). */
    mapChunk(input: { manifestRef: string; index: number; task: string; maxUsd?: number }): Promise<ItemOutput> {
      return withAttemptLedger(deps.attempts, `map of chunk ${input.index}`, async () => {
        const chunk = (await manifest(input.manifestRef)).chunks[input.index];
        if (!chunk) throw ApplicationFailure.nonRetryable(`chunk ${input.index} is not in manifest ${input.manifestRef}`, 'InvalidInput');
        const text = (await deps.blobs.get(chunk.ref)).toString('utf8');
        const res = await deps.llmTurn({
          ...mapRequest(input.task, chunk.source, text),
          ...(input.maxUsd !== undefined ? { maxUsd: input.maxUsd } : {}),
        });
        const out = mapResult(chunk, text, res);
        return {
          ref: await putJson(deps.blobs, out),
          usage: res.usage,
          model: res.model,
          simulated: res.simulated,
          ...(res.retriedSpend ? { retriedSpend: res.retriedSpend } : {}),
        };
      });
    },

    reduceGroup(input: {
      levelRef: string;
      start: number;
      count: number;
      level: number;
      final: boolean;
      task: string;
      expectChunks?: number;
      maxUsd?: number;
    }): Promise<ItemOutput> {
      return withAttemptLedger(deps.attempts, `reduce of level ${input.level}, group at ${input.start}`, async () => {
        const level = await cached<LevelFile>(input.levelRef);
        const refs = level.refs.slice(input.start, input.start + input.count);
        if (refs.length !== input.count) {
          throw ApplicationFailure.nonRetryable(
            `reduce level ${input.level}, group at ${input.start}: expected ${input.count} results, found ${refs.length}`,
            'IncompleteInput',
          );
        }
        const inputs = await Promise.all(refs.map((r) => getJson<PartialResult>(deps.blobs, r)));
        const chunks = inputs.reduce((n, r) => n + r.chunks, 0);
        if (input.expectChunks !== undefined && chunks !== input.expectChunks) {
          throw ApplicationFailure.nonRetryable(
            `final reduce covers ${chunks} chunk results, expected ${input.expectChunks}`,
            'IncompleteInput',
          );
        }
        const docs = inputs
          .map(claimsOf)
          .filter((c) => c.length > 0)
          .map(findingsDocument);
        const relevantChunks = inputs.reduce((n, r) => n + relevantOf(r), 0);
        const checks = inputs.reduce((c, r) => addChecks(c, r.checks), noChecks());
        let read: Pick<Reading, 'claims' | 'answer'> = { claims: [], answer: '' };
        let usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
        let simulated = false;
        let model: string | undefined;
        let retriedSpend: PartialSpend[] | undefined;
        // A group whose inputs all said "not relevant" needs no model call.
        if (docs.length > 0) {
          const res = await deps.llmTurn({
            role: input.final ? 'capable' : 'fast',
            system: REDUCE_SYSTEM,
            messages: [
              {
                role: 'user',
                content: reduceContent(
                  input.task,
                  docs.map((d) => d.text),
                  input.final,
                ),
              },
            ],
            maxTokens: input.final ? SUMMARIZE_MAX_TOKENS.final : SUMMARIZE_MAX_TOKENS.reduce,
            ...(input.maxUsd !== undefined ? { maxUsd: input.maxUsd } : {}),
          });
          const r = checkedReply(`reduce of level ${input.level}, group at ${input.start}`, res, docs);
          addChecks(checks, r.checks);
          read = r;
          ({ usage, simulated, model, retriedSpend } = res);
        }
        const summary = !input.final
          ? read.claims.map((c) => c.text).join(' ')
          : read.answer ||
            (relevantChunks === 0
              ? `Nothing in the corpus bears on the task: none of its ${chunks} chunk(s) gave a statement with a valid citation.`
              : `No statement of the answer kept a valid citation, though ${relevantChunks} of ${chunks} chunk(s) bore on the task.`);
        const out: PartialResult = {
          kind: input.final ? 'final' : 'reduce',
          level: input.level,
          summary,
          points: [],
          claims: read.claims,
          chunks,
          relevantChunks,
          chunkIds: chunks <= LISTED_IDS ? inputs.flatMap((r) => r.chunkIds) : [],
          sources: mergeSources(read.claims.flatMap((c) => c.sources)),
          checks,
        };
        return {
          ref: await putJson(deps.blobs, out),
          usage,
          ...(model ? { model } : {}),
          simulated,
          ...(retriedSpend ? { retriedSpend } : {}),
        };
      });
    },

    async savePart(part: PartFile): Promise<string> {
      if (part.entries.length !== part.end - part.start) {
        throw ApplicationFailure.nonRetryable(`part ${part.start}-${part.end} has ${part.entries.length} entries`, 'IncompleteInput');
      }
      return putJson(deps.blobs, part);
    },

    /** Joins the parts of a phase into one level file, checking they tile [0, count) exactly. */
    async assembleLevel(input: {
      parts: { start: number; end: number; ref: string }[];
      count: number;
      manifestRef?: string;
    }): Promise<AssembledLevel> {
      const parts = [...input.parts].sort((a, b) => a.start - b.start);
      const refs: string[] = [];
      const failures: MissingChunk[] = [];
      let failed = 0;
      let at = 0;
      const chunks = input.manifestRef ? (await manifest(input.manifestRef)).chunks : undefined;
      for (const p of parts) {
        if (p.start !== at) throw ApplicationFailure.nonRetryable(`results ${at}-${p.start} are missing from the phase`, 'IncompleteInput');
        const file = await getJson<PartFile>(deps.blobs, p.ref);
        if (file.entries.length !== p.end - p.start)
          throw ApplicationFailure.nonRetryable(`part ${p.start}-${p.end} holds ${file.entries.length} results`, 'IncompleteInput');
        file.entries.forEach((e, i) => {
          if (e.ok) return void refs.push(e.ref);
          failed++;
          const c = chunks?.[p.start + i];
          if (failures.length < 1000)
            failures.push({
              chunkId: c?.id ?? String(p.start + i),
              source: c?.source ?? '',
              start: c?.start ?? 0,
              end: c?.end ?? 0,
              reason: e.reason,
            });
        });
        at = p.end;
      }
      if (at !== input.count)
        throw ApplicationFailure.nonRetryable(`the phase returned ${at} of ${input.count} results`, 'IncompleteInput');
      return { levelRef: await putJson(deps.blobs, { refs } satisfies LevelFile), ok: refs.length, failed, failures };
    },

    async loadResult(ref: string): Promise<PartialResult> {
      const r = await getJson<PartialResult>(deps.blobs, ref);
      // Keep the returned payload small: the answer is text, id lists and long range lists stay in the blob.
      let omitted = 0;
      const claims = r.claims?.map((c) => {
        const capped = capRanges(c.sources, RESULT_RANGES_PER_CLAIM);
        omitted += capped.omitted;
        return { text: c.text.slice(0, 4000), sources: capped.sources };
      });
      const union = capRanges(r.sources, RESULT_RANGES);
      return {
        ...r,
        chunkIds: [],
        summary: r.summary.slice(0, 64_000),
        ...(claims ? { claims } : {}),
        sources: union.sources,
        omittedRanges: omitted + union.omitted,
      };
    },
  };
}
