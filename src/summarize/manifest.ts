/**
 * Writes a corpus where the map-reduce workflow can reference it: every chunk's text goes to the
 * blob store, and the manifest (chunk ids, sources, offsets, blob refs) becomes one blob. The
 * workflow receives only the manifest's reference. Texts in, no files: reading and extracting
 * files is the CLI's (corpus.ts), so this module — part of the library — needs no PDF or HTML
 * extraction.
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { putJson, type BlobStore } from '../blobs/store';
import { chunkCorpus } from '../ingest/chunk';
import { MAX_LABELLED_SPANS, type BadFileEntry, type ChunkSpan, type CorpusManifest } from '../shared/summarize';

/** One document of a corpus: a name to cite it by (a path, a URL, a title) and its plain text. */
export interface CorpusDocument {
  /** How results cite the document: a path, a URL, a title. */
  path: string;
  /** Its plain text (UTF-8); offsets in citations count characters of it. */
  text: string;
}

/** A corpus in the blob store: what `SummarizeInput` needs of it, and its size. */
export interface Corpus {
  /** The manifest blob's reference (`sha256:…`); empty when there was nothing to chunk. */
  manifestRef: string;
  /** Chunks written. */
  chunkCount: number;
  /** Documents the chunks came from. */
  sourceCount: number;
  /** Inputs that were refused, with their reasons (passed through for the result's list). */
  badFiles: BadFileEntry[];
  /** Estimated tokens of all chunks (characters / 4). */
  tokens: number;
  /** Characters of the largest chunk (a bound on its tokens, for budgets). */
  maxChunkChars: number;
  /** Which document each run of chunks comes from, for labels; absent above `MAX_LABELLED_SPANS` documents. */
  chunkSpans?: ChunkSpan[];
}

/** Paths without the directories they all share ("shipping.md" rather than "/home/…/docs/shipping.md"), for labels. */
export function shortPaths(paths: string[]): string[] {
  const dirs = paths.map((p) => p.split('/').slice(0, -1));
  let shared = 0;
  while (dirs.length && dirs.every((d) => d.length > shared && d[shared] === dirs[0]![shared])) shared++;
  return paths.map((p) => p.split('/').slice(shared).join('/'));
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Chunks `documents` at semantic boundaries (sections, paragraphs, sentences; at most `maxTokens`,
 * default 800, per chunk) and writes the chunks and the manifest to `blobs`.
 */
export async function storeCorpus(
  documents: readonly CorpusDocument[],
  blobs: BlobStore,
  opts: { maxTokens?: number; badFiles?: BadFileEntry[] } = {},
): Promise<Corpus> {
  const chunks = chunkCorpus(documents, { maxTokens: opts.maxTokens });
  const limit = pLimit(32);
  const refs = await Promise.all(chunks.map((c) => limit(() => blobs.put(c.text))));
  const manifest: CorpusManifest = {
    version: 1,
    chunks: chunks.map((c, i) => ({ id: c.id, source: c.source, start: c.start, end: c.end, tokens: c.tokens, ref: refs[i]! })),
    sources: documents.map((d) => ({ path: d.path, sha256: sha256(d.text), chars: d.text.length })),
  };
  const spans: ChunkSpan[] = [];
  chunks.forEach((c, i) => {
    const last = spans.at(-1);
    if (last?.path === c.source) last.count++;
    else spans.push({ path: c.source, first: i, count: 1 });
  });
  const short = shortPaths(spans.map((s) => s.path));
  spans.forEach((s, i) => (s.path = short[i]!));
  return {
    manifestRef: chunks.length ? await putJson(blobs, manifest) : '',
    chunkCount: chunks.length,
    sourceCount: documents.length,
    badFiles: opts.badFiles ?? [],
    tokens: chunks.reduce((n, c) => n + c.tokens, 0),
    maxChunkChars: chunks.reduce((n, c) => Math.max(n, c.text.length), 0),
    ...(spans.length <= MAX_LABELLED_SPANS ? { chunkSpans: spans } : {}),
  };
}

/**
 * The shape of the result a run computes; part of the id, so a run finished by an older Braid (whose
 * citations covered whole chunks) is not returned as this job's result. 2: claims with checked citations.
 */
const RESULT_VERSION = 2;

/** Same corpus, task and result-shaping options → same workflow id. Concurrency is left out: it changes speed, not the answer. */
export function summarizeWorkflowId(manifestRef: string, task: string, group: number, tolerate: number, budgetUsd?: number): string {
  // A budget changes how far the job gets, so a job with one is another run (without one, ids stay as they were).
  const budget = budgetUsd !== undefined ? [`budget=${budgetUsd}`] : [];
  const h = createHash('sha256')
    .update([manifestRef, task.trim(), group, tolerate, `v${RESULT_VERSION}`, ...budget].join('\n'))
    .digest('hex');
  return `summarize-${h.slice(0, 20)}`;
}
