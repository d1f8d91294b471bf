/**
 * Activities of `braid summarize` (the document map-reduce). Inputs and outputs are blob references
 * and indexes: the chunk text, every intermediate result and every list of results stay in the blob
 * store, so no payload grows with the corpus. Model calls go through `llmTurn`, inheriting its
 * streaming, heartbeats, error classification and retry semantics; what they ask is in
 * src/prompts/summarize.ts.
 *
 * The reducers check counts rather than trust them: a reduce group must find exactly the results
 * its plan expects, and the final reduce must cover exactly the chunks that succeeded — M of N
 * results never pass as a whole.
 */
import { ApplicationFailure } from '@temporalio/common';
import { getJson, putJson, type BlobStore } from '../blobs/store';
import { withAttemptLedger, type AttemptPolicy } from '../flow/attempts';
import type { CorpusManifest, MissingChunk, PartialResult, SourceCitation } from '../shared/summarize';
import { textOf } from '../shared/content';
import type { LlmRequest, LlmResult, TokenUsage } from '../shared/types';
import { MAP_SYSTEM, mapPrompt, parseReply, REDUCE_SYSTEM, reducePrompt } from '../prompts/summarize';

export interface SummarizeDeps {
  blobs: BlobStore;
  llmTurn(req: LlmRequest): Promise<LlmResult>;
  /** The model call's attempt ledger, applied to the whole item (its RetryPolicy has no attempt limit). */
  attempts?: AttemptPolicy;
}

export interface ItemOutput {
  ref: string;
  usage: TokenUsage;
  simulated: boolean;
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

/**
 * Union of citations, ranges sorted and merged where they touch. Provenance is computed here, not
 * taken from the model, so citations in the final answer are always real ranges of real files.
 */
function mergeSources(all: SourceCitation[]): SourceCitation[] {
  const bySource = new Map<string, [number, number][]>();
  for (const s of all) bySource.set(s.source, [...(bySource.get(s.source) ?? []), ...s.ranges]);
  return [...bySource.entries()].map(([source, ranges]) => {
    const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const [a, b] of sorted) {
      const last = merged.at(-1);
      if (last && a <= last[1] + 4) last[1] = Math.max(last[1], b);
      else merged.push([a, b]);
    }
    return { source, ranges: merged };
  });
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
    mapChunk(input: { manifestRef: string; index: number; task: string }): Promise<ItemOutput> {
      return withAttemptLedger(deps.attempts, `map of chunk ${input.index}`, async () => {
        const chunk = (await manifest(input.manifestRef)).chunks[input.index];
        if (!chunk) throw ApplicationFailure.nonRetryable(`chunk ${input.index} is not in manifest ${input.manifestRef}`, 'InvalidInput');
        const text = (await deps.blobs.get(chunk.ref)).toString('utf8');
        const res = await deps.llmTurn({
          role: 'fast',
          system: MAP_SYSTEM,
          messages: [{ role: 'user', content: mapPrompt(input.task, chunk, text) }],
          maxTokens: 700,
        });
        const reply = parseReply(textOf(res.content), res.model);
        const out: PartialResult = {
          kind: 'map',
          level: 0,
          ...reply,
          chunks: 1,
          chunkIds: [chunk.id],
          sources: [{ source: chunk.source, ranges: [[chunk.start, chunk.end]] }],
        };
        return { ref: await putJson(deps.blobs, out), usage: res.usage, simulated: res.simulated };
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
        const res = await deps.llmTurn({
          role: input.final ? 'capable' : 'fast',
          system: REDUCE_SYSTEM,
          messages: [{ role: 'user', content: reducePrompt(input.task, inputs, input.final) }],
          maxTokens: input.final ? 1500 : 900,
        });
        const out: PartialResult = {
          kind: input.final ? 'final' : 'reduce',
          level: input.level,
          ...parseReply(textOf(res.content), res.model),
          chunks,
          chunkIds: chunks <= LISTED_IDS ? inputs.flatMap((r) => r.chunkIds) : [],
          sources: mergeSources(inputs.flatMap((r) => r.sources)),
        };
        return { ref: await putJson(deps.blobs, out), usage: res.usage, simulated: res.simulated };
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
      // Keep the returned payload small: the answer is text, the chunk id list stays in the blob.
      return { ...r, chunkIds: [], summary: r.summary.slice(0, 64_000) };
    },
  };
}
