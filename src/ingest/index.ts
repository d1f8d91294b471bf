// The ingestion layer's public face: arguments in, validated sources and citable chunks out.
// `braid summarize` calls `ingest` and `chunkCorpus` on the client (src/summarize/corpus.ts).
export type { BadFile, Chunk, ChunkOptions, IngestOptions, IngestResult, Source, SourceKind } from './types';
export { ingest } from './ingest';
export { chunkCorpus, chunkSource, estimateTokens } from './chunk';
