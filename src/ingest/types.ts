// The shapes the ingestion layer hands to the map-reduce workflows: validated sources, the files
// that were refused (with one short reason each), and chunks that point back into a source by
// character offsets so map results can cite exactly where they came from.
//
// This module imports nothing, so workflow code may import these types too.

export type SourceKind = 'txt' | 'md' | 'html' | 'json' | 'pdf';

export interface Source {
  /** As given, normalised relative to cwd when inside it (POSIX separators). */
  path: string;
  absPath: string;
  kind: SourceKind;
  /** Extracted text: UTF-8, no BOM, LF line endings. */
  text: string;
  /** Size of the file on disk. */
  bytes: number;
  /** Hex SHA-256 of `text`. */
  sha256: string;
}

export interface BadFile {
  path: string;
  /** One short clause: "not found", "binary file", "invalid JSON: …". */
  reason: string;
}

export interface IngestOptions {
  /** Files larger than this are refused before being read. Default 50 MiB. */
  maxFileBytes?: number;
  /** Directory that relative arguments and globs are resolved against. Default process.cwd(). */
  cwd?: string;
}

export interface IngestResult {
  sources: Source[];
  bad: BadFile[];
}

export interface Chunk {
  /** `${sourceIndex}:${ordinal}`; unique within a corpus. */
  id: string;
  /** The `Source.path` it came from. */
  source: string;
  /** Character offsets into `Source.text`; `end` is exclusive. */
  start: number;
  end: number;
  /** Always `source.text.slice(start, end)`. */
  text: string;
  /** Estimate from `estimateTokens`. */
  tokens: number;
}

export interface ChunkOptions {
  /** Budget per chunk. Default 800. */
  maxTokens?: number;
}
