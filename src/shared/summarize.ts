/**
 * The document map-reduce job's contract: inputs, results, progress signal and query, shared by
 * the workflows, the activities and the CLI. No Node APIs: workflow code imports this.
 * Everything here is small; corpora and intermediate results travel as blob references.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { TokenUsage } from './types';

/** The workflow types: the names of the workflow functions in src/workflows/summarize.ts (frozen). */
export const SUMMARIZE_WORKFLOW = 'summarizeCorpus';
export const SUMMARIZE_NODE_WORKFLOW = 'mapReduceNode';

/**
 * Bounds of the job's knobs, inclusive. The CLI checks them before anything starts; the workflow
 * checks concurrency, group and tolerate again (any client may start a run). Chunking happens in
 * the CLI, so only it checks chunkTokens.
 */
export const SUMMARIZE_LIMITS = {
  concurrency: { min: 1, max: 10_000 },
  group: { min: 2, max: 100 },
  tolerate: { min: 0, max: 100 },
  chunkTokens: { min: 100, max: 8000 },
} as const;

/** An input file that could not be read or extracted, and why. */
export interface BadFileEntry {
  path: string;
  reason: string;
}

/** One chunk of the corpus as the manifest blob records it. */
export interface ManifestChunk {
  id: string;
  source: string;
  start: number;
  end: number;
  tokens: number;
  /** Blob holding the chunk's text. */
  ref: string;
}

export interface CorpusManifest {
  version: 1;
  chunks: ManifestChunk[];
  sources: { path: string; sha256: string; chars: number }[];
}

/** Knobs of the tree; defaults suit 10,000-chunk corpora (see the module comment of workflows/summarize.ts). */
export interface TreeOptions {
  /** Most items one leaf workflow processes itself. */
  leafSize: number;
  /** Most children an inner node starts. */
  fanout: number;
  /** Hard cap on activities in flight in one leaf. */
  maxLeafConcurrency: number;
}

export const DEFAULT_TREE: TreeOptions = { leafSize: 250, fanout: 200, maxLeafConcurrency: 400 };

/** The map-reduce job's input: a stored corpus (see `storeCorpus`), the task, and the tree's knobs. */
export interface SummarizeInput {
  manifestRef: string;
  chunkCount: number;
  sourceCount: number;
  task: string;
  /** Most map or reduce calls in flight across the whole job. */
  concurrency: number;
  /** Results combined per reduce call. */
  group: number;
  /** Tolerated failed-chunk percentage, 0–100. */
  tolerate: number;
  badFiles: BadFileEntry[];
  tree?: Partial<TreeOptions>;
  /** Continue as new at a phase boundary once history passes this many events (default 4,000). */
  continueAsNewAfterEvents?: number;
}

/** A chunk left out of the answer (a tolerated failure): where it is in its source, and why. */
export interface MissingChunk {
  chunkId: string;
  source: string;
  start: number;
  end: number;
  reason: string;
}

/** A source the answer draws on, with the character ranges of the chunks used. */
export interface SourceCitation {
  source: string;
  /** Character ranges of the chunks the answer draws on, merged where adjacent. */
  ranges: [number, number][];
}

/** A map or reduce result as stored in the blob store. */
export interface PartialResult {
  kind: 'map' | 'reduce' | 'final';
  level: number;
  summary: string;
  points: string[];
  /** How many chunk results this covers: the final one must cover every chunk that succeeded. */
  chunks: number;
  chunkIds: string[];
  sources: SourceCitation[];
}

/** How many items a phase (map, a reduce level) handled and how long it took. */
export interface PhaseStat {
  name: string;
  items: number;
  ms: number;
}

/** The map-reduce job's result: the answer with its citations, completeness, and the missing chunks. */
export interface SummarizeResult {
  answer: string;
  points: string[];
  /** False when tolerated failures left chunks out: `missing` says exactly which and why. */
  complete: boolean;
  missing: MissingChunk[];
  badFiles: BadFileEntry[];
  citations: SourceCitation[];
  resultRef: string;
  chunks: number;
  reduceLevels: number;
  usage: TokenUsage;
  phases: PhaseStat[];
  simulated: boolean;
  totalMs: number;
}

/** The map-reduce job's phase. */
export type SummarizePhase = 'map' | 'reduce' | 'done';

/** What the job's `summarizeProgress` query answers while it runs. */
export interface SummarizeProgress {
  phase: SummarizePhase;
  chunks: { total: number; done: number; failed: number };
  /** Current reduce level (1-based) and how many there are; 0 while mapping. */
  level: number;
  levels: number;
  levelGroups: { total: number; done: number };
  startedAt: number;
}

/** Leaves report completions to the root in batches (a signal per ~10 % of a leaf), not per item. */
export interface ProgressDelta {
  phase: 'map' | 'reduce';
  level: number;
  done: number;
  failed: number;
}

export const progressSignal = defineSignal<[ProgressDelta]>('progress');
/** The map-reduce job's progress query (`summarizeProgress`), answered by its root workflow. */
export const summarizeProgressQuery = defineQuery<SummarizeProgress>('summarizeProgress');
