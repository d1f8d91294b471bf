/**
 * The document map-reduce job's contract: inputs, results, progress signal and query, shared by
 * the workflows, the activities and the CLI. No Node APIs: workflow code imports this.
 * Everything here is small; corpora and intermediate results travel as blob references.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { counted, gist } from './content';
import type { BudgetReport, BudgetSetting } from './budget';
import type { CostSummary, ModelPrice } from './pricing';
import type { RunLabels, TokenUsage } from './types';

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
  batchSize: { min: 1, max: 10_000 },
} as const;

/** `max_tokens` of the job's model calls: a map call, a reduce call, the final reduce (budgets reserve them). */
export const SUMMARIZE_MAX_TOKENS = { map: 700, reduce: 900, final: 1500 } as const;

/**
 * The map through the Message Batches API (`braid summarize --batch`): half the price, for a map
 * that does not need its answer now — a batch may take up to 24 hours. The chunks are split into
 * batches of at most `size` requests, submitted together, and waited for with workflow timers.
 */
export interface BatchMapOptions {
  /** Most requests per batch. */
  size: number;
  /** Wait before the first check of the batches; each later wait doubles, up to `maxPollMs`. */
  pollMs: number;
  maxPollMs: number;
  /**
   * Times a request is sent at most: one that errored on the server's side, expired, was canceled
   * or whose citations all failed Braid's checks goes again in a new batch until then, and is a
   * failed chunk (held against --tolerate) after.
   */
  rounds: number;
}

export const DEFAULT_BATCH_MAP: BatchMapOptions = { size: 500, pollMs: 30_000, maxPollMs: 5 * 60_000, rounds: 3 };

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
  /**
   * Most activities or children one workflow of the tree has in flight; a node that would hold more
   * splits into children instead, so the job still runs `--concurrency` at once. Each activity adds
   * two events (started, completed) and a child two more: at 50, a burst of results stays within
   * the 100 events a cluster's default `history.maximumBufferedEventsBatch` lets pile up behind a
   * workflow task before the server force-closes the task. Absent in nodes started before it was
   * added, which keep planning as they did.
   */
  maxPending?: number;
}

export const DEFAULT_TREE: TreeOptions = { leafSize: 250, fanout: 200, maxLeafConcurrency: 400, maxPending: 50 };

/**
 * The chunks `first`…`first + count - 1` come from `path` (the manifest keeps each file's chunks
 * together); `path` is shortened for labels (the directories all files share are left out).
 */
export interface ChunkSpan {
  path: string;
  first: number;
  count: number;
}

/** Most spans a run's input carries for labels; a corpus of more files is labelled by chunk number only. */
export const MAX_LABELLED_SPANS = 2000;

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
  /** Which file each chunk comes from, for the Web UI's labels ("map shipping.md, chunk 2 of 5"); optional. */
  chunkSpans?: ChunkSpan[];
  /** USD per million tokens by model, for `cost`; default the list prices (src/shared/pricing.ts). The CLI passes its table. */
  prices?: Record<string, ModelPrice>;
  /** The most the job may spend; without it, no limit. See src/shared/budget.ts. */
  budget?: SummarizeBudget;
  /** Map through the Message Batches API instead of one call per chunk now (absent: interactive). */
  batch?: BatchMapOptions;
}

/** A summarize job's budget: the run's setting and the bound its map calls reserve by. */
export interface SummarizeBudget extends BudgetSetting {
  /**
   * A bound on the input tokens of one map call: the largest chunk's characters plus the prompt's
   * (a token is at least one character). Reduce calls are bounded by `group` results of at most
   * their `max_tokens` each (SUMMARIZE_MAX_TOKENS), counted twice over, plus the prompt.
   */
  mapInputTokens: number;
}

/** "shipping.md, chunk 2 of 5" for a chunk index, or "chunk 17" when the spans do not say. */
export function chunkLabel(spans: readonly ChunkSpan[] | undefined, index: number): string {
  let lo = 0;
  let hi = (spans?.length ?? 0) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = spans![mid]!;
    if (index < s.first) hi = mid - 1;
    else if (index >= s.first + s.count) lo = mid + 1;
    else return `${s.path}, chunk ${index - s.first + 1} of ${s.count}`;
  }
  return `chunk ${index + 1}`;
}

/** The spans that cover chunks start…end-1 (what a node of the tree passes on to its children). */
export function spansWithin(spans: readonly ChunkSpan[] | undefined, start: number, end: number): ChunkSpan[] | undefined {
  return spans?.filter((s) => s.first < end && s.first + s.count > start);
}

/** The run's static summary and details, for whoever starts it. */
export function summarizeLabels(input: SummarizeInput, inputs: string[] = []): RunLabels {
  const files = input.chunkSpans?.map((s) => s.path) ?? inputs;
  return {
    summary: `summarize ${counted(input.sourceCount, 'file')}, ${counted(input.chunkCount, 'chunk')}: ${gist(input.task, 90)}`,
    details: [
      `**Task:** ${gist(input.task, 300)}`,
      `**Files:** ${gist(files.join(', '), 300)}`,
      input.batch
        ? `Map through the Message Batches API (half price, up to 24 h), at most ${input.batch.size} requests per batch; ${input.group} results per reduce call, ${input.tolerate} % failed chunks tolerated.`
        : `Up to ${input.concurrency} model calls at once, ${input.group} results per reduce call, ${input.tolerate} % failed chunks tolerated.`,
    ].join('\n\n'),
  };
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
  /**
   * Character ranges of the file's text (UTF-16 offsets, end exclusive), each a run of whole
   * sentences Braid checked against the chunk it came from; merged where only whitespace lies between.
   */
  ranges: [number, number][];
}

/** A statement the model made and the file ranges it rests on, computed by Braid (src/summarize/citations.ts). */
export interface Claim {
  text: string;
  sources: SourceCitation[];
}

/** What Braid made of the citations the model returned, summed over every call behind a result. */
export interface CitationChecks {
  /** `char_location` citations returned. */
  returned: number;
  /** Valid and on sentence (map) or claim (reduce) bounds, give or take whitespace and markup. */
  aligned: number;
  /** Valid, but mid-sentence or mid-claim: widened to whole sentences or claims. */
  widened: number;
  /** Outside the document, or whose cited text is not the document's text there: not used. */
  rejected: number;
  /** Statements the model wrote without a valid citation: left out of the result. */
  uncited: number;
}

/** A map or reduce result as stored in the blob store. */
export interface PartialResult {
  kind: 'map' | 'reduce' | 'final';
  level: number;
  /** The result's prose: its claims joined (final: the answer, with [n] markers naming its claims). */
  summary: string;
  /** Key points of results written before Braid checked citations; empty since. */
  points: string[];
  /** The claims kept, with provenance. Absent in results written before Braid checked citations. */
  claims?: Claim[];
  /** How many chunk results this covers: the final one must cover every chunk that succeeded. */
  chunks: number;
  /** How many of those chunks bore on the task (had a claim with a valid citation). */
  relevantChunks?: number;
  chunkIds: string[];
  /** Union of the claims' sources. */
  sources: SourceCitation[];
  checks?: CitationChecks;
  /** Ranges left out of `claims` and `sources` to keep a result small (loadResult caps them). */
  omittedRanges?: number;
}

/** How many items a phase (map, a reduce level) handled and how long it took. */
export interface PhaseStat {
  name: string;
  items: number;
  ms: number;
}

/** The map-reduce job's result: the answer with its citations, completeness, and the missing chunks. */
export interface SummarizeResult {
  /** The answer; each claim in it is followed by its number in `claims`, as [n]. */
  answer: string;
  /** Key points (results from before Braid checked citations only; empty now). */
  points: string[];
  /** The answer's claims in order, each with the file ranges it rests on ([n] is claims[n-1]). */
  claims: Claim[];
  /** Chunks whose map call found something bearing on the task, of `chunks`. */
  relevantChunks: number;
  citationChecks: CitationChecks;
  /** Ranges left out of `claims` and `citations` to keep the result small. */
  omittedRanges: number;
  /** False when tolerated failures left chunks out: `missing` says exactly which and why. */
  complete: boolean;
  missing: MissingChunk[];
  badFiles: BadFileEntry[];
  /** Union of the claims' sources: only the ranges behind the claims the answer kept. */
  citations: SourceCitation[];
  resultRef: string;
  chunks: number;
  reduceLevels: number;
  usage: TokenUsage;
  /** The model calls' dollars by model, at the input's `prices` (absent from runs that began before it was added). */
  cost?: CostSummary;
  /** The same by phase: `map` and `reduce` (every reduce level and the final reduce). */
  costByPhase?: Record<string, CostSummary>;
  phases: PhaseStat[];
  simulated: boolean;
  totalMs: number;
  /**
   * `budget-reached` when the budget stopped the job: no answer was reduced, and `resultRef` is the
   * level of results completed (the map's, or the reduce level's) — kept in the blob store. Absent otherwise.
   */
  status?: 'budget-reached';
  /** The budget and what was spent against it (runs with a budget only). */
  budget?: BudgetReport;
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

/**
 * Internal: a leaf's report to the root. Named so the Web UI's timeline and signal list show it as
 * internal; leaves of runs started before the rename still send `progress` (frozen), which the root
 * keeps handling.
 */
export const leafProgressSignal = defineSignal<[ProgressDelta]>('internal.leafProgress');
/** The name leaves used before `internal.leafProgress` (frozen: running and recorded runs use it). */
export const progressSignal = defineSignal<[ProgressDelta]>('progress');
/** The map-reduce job's progress query (`summarizeProgress`), answered by its root workflow. */
export const summarizeProgressQuery = defineQuery<SummarizeProgress>('summarizeProgress');
