/**
 * Turns the user's inputs into a corpus the map-reduce workflow can reference: files are read and
 * chunked here, on the client, every chunk text goes to the blob store, and the manifest (chunk
 * ids, sources, offsets, blob refs) becomes one blob. The workflow receives only the manifest's
 * reference, and its id derives from that reference and the task, so running the same command on
 * the same files finds the same run.
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { putJson, type BlobStore } from '../blobs/store';
import { chunkCorpus, ingest, type IngestOptions } from '../ingest';
import { MAX_LABELLED_SPANS, type BadFileEntry, type ChunkSpan, type CorpusManifest } from '../shared/summarize';

export interface Corpus {
  manifestRef: string;
  chunkCount: number;
  sourceCount: number;
  badFiles: BadFileEntry[];
  tokens: number;
  /** Which file each run of chunks comes from, for labels; absent above MAX_LABELLED_SPANS files. */
  chunkSpans?: ChunkSpan[];
}

/** Paths without the directories they all share ("shipping.md" rather than "/home/…/docs/shipping.md"), for labels. */
export function shortPaths(paths: string[]): string[] {
  const dirs = paths.map((p) => p.split('/').slice(0, -1));
  let shared = 0;
  while (dirs.length && dirs.every((d) => d.length > shared && d[shared] === dirs[0]![shared])) shared++;
  return paths.map((p) => p.split('/').slice(shared).join('/'));
}

export async function buildCorpus(args: string[], blobs: BlobStore, opts: IngestOptions & { maxTokens?: number } = {}): Promise<Corpus> {
  const { sources, bad } = await ingest(args, opts);
  const chunks = chunkCorpus(sources, { maxTokens: opts.maxTokens });
  const limit = pLimit(32);
  const refs = await Promise.all(chunks.map((c) => limit(() => blobs.put(c.text))));
  const manifest: CorpusManifest = {
    version: 1,
    chunks: chunks.map((c, i) => ({ id: c.id, source: c.source, start: c.start, end: c.end, tokens: c.tokens, ref: refs[i]! })),
    sources: sources.map((s) => ({ path: s.path, sha256: s.sha256, chars: s.text.length })),
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
    sourceCount: sources.length,
    badFiles: bad,
    tokens: chunks.reduce((n, c) => n + c.tokens, 0),
    ...(spans.length <= MAX_LABELLED_SPANS ? { chunkSpans: spans } : {}),
  };
}

/**
 * The shape of the result a run computes; part of the id, so a run finished by an older Braid (whose
 * citations covered whole chunks) is not returned as this job's result. 2: claims with checked citations.
 */
const RESULT_VERSION = 2;

/** Same corpus, task and result-shaping options → same workflow id. Concurrency is left out: it changes speed, not the answer. */
export function summarizeWorkflowId(manifestRef: string, task: string, group: number, tolerate: number): string {
  const h = createHash('sha256')
    .update([manifestRef, task.trim(), group, tolerate, `v${RESULT_VERSION}`].join('\n'))
    .digest('hex');
  return `summarize-${h.slice(0, 20)}`;
}
