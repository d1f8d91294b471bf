// The ingestion layer's public face: arguments in, validated sources and citable chunks out.
// `summarize` calls `ingest` and `chunkCorpus` in an activity; workflows import only the types.
export type { BadFile, Chunk, ChunkOptions, IngestOptions, IngestResult, Source, SourceKind } from './types';
export { ingest } from './ingest';
export { chunkCorpus, chunkSource, estimateTokens, DEFAULT_MAX_TOKENS } from './chunk';
export { DEFAULT_MAX_FILE_BYTES } from './extract';
export { SUPPORTED_EXTENSIONS } from './kinds';
