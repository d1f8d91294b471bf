/**
 * The content pipeline's contract — input, results, progress query — and the pure rules both sides
 * apply: reading a topics file, validating topics, the quality gate between stages, file names.
 * Imported by workflow code: no Node APIs, no runtime dependencies beyond the workflow package.
 */
import { ApplicationFailure, defineQuery } from '@temporalio/workflow';
import type { BudgetReport, InFlightPolicy, RunBudgetSetting } from './budget';
import { counted, gist } from './content';
import type { CostSummary, ModelPrice } from './pricing';
import type { ModelRole, RunLabels, TokenUsage } from './types';
import type { PartialSpend } from './usage';

/** The workflow types: the names of the workflow functions in src/workflows/pipeline.ts (frozen). */
export const PIPELINE_WORKFLOW = 'contentPipeline';
export const CHAIN_WORKFLOW = 'pipelineChain';

/** A chain's stages, in order. */
export const STAGES = ['research', 'write', 'edit'] as const;
/** One of a chain's stages. */
export type StageName = (typeof STAGES)[number];

/** Limits the CLI checks on a topics file and the workflow checks again on its input. */
export const MAX_TOPICS = 1000;
export const MAX_TOPIC_CHARS = 300;
export const MAX_TOPICS_FILE_BYTES = 256 * 1024;
export const MAX_CONCURRENCY = 100;

/** The pipeline's input: topics, how many chains run at once, and where the articles go. */
export interface PipelineInput {
  topics: string[];
  /** USD per million tokens by model, for `cost`; default the list prices (src/shared/pricing.ts). The CLI passes its table. */
  prices?: Record<string, ModelPrice>;
  /** Chains running at once (1–100). */
  concurrency: number;
  /** Absolute directory, on the workers' file system, for one Markdown file per topic; none = no files. */
  outDir?: string;
  /** Task queue for model calls; default the workflow's own. The CLI gives `<queue>-llm` when that queue is rate-limited. */
  llmTaskQueue?: string;
  role?: ModelRole;
  maxTokens?: number;
  /** The quality gate's minimum words per stage output (default 30). */
  minWords?: number;
  /** Retry failed chains once after all others finished (default true). */
  retryFailed?: boolean;
  /** Stage overlap: each paragraph of the draft is edited as soon as the writer finishes it (default false). */
  overlap?: boolean;
  /**
   * The most the run may spend (src/shared/budget.ts): a chain starts only once its worst case
   * (CHAIN_MAX_CALLS calls, each at its input bound and `maxTokens`, else `budget.maxTokens`) is
   * reserved; chains that do not fit are not started and the run ends `budget-reached`. Not with `overlap`.
   */
  budget?: RunBudgetSetting;
}

/** Most model calls of one chain: three stages, each sent back once by the quality gate. */
export const CHAIN_MAX_CALLS = 6;

/**
 * A bound on the input tokens of any call of a chain on `topic` whose calls answer in at most
 * `maxTokens`: the stage's system prompt and request (short, and the topic twice), the stage before's
 * output and, when sent back, the draft itself (each at most `maxTokens`).
 */
export const chainCallInputTokens = (topic: string, maxTokens: number): number => 1500 + 2 * topic.length + 2 * maxTokens;

/** A chain's share of the run's budget: its grant (`usd`), each call's reservation, and what happens in flight. */
export interface ChainBudget {
  usd: number;
  callUsd: number;
  maxTokens: number;
  inFlight: InFlightPolicy;
  prices?: Record<string, ModelPrice>;
}

/** What a budgeted chain spent before it failed: its failure's details carry it, for the run's budget and cost. */
export interface ChainSpend {
  billed: { model: string; usage: TokenUsage }[];
  lost: PartialSpend[];
}

/** The spend a failed chain reported in its failure's details, found anywhere in the failure chain. */
export function chainSpendOf(err: unknown): ChainSpend | undefined {
  let e: unknown = err;
  while (e instanceof Error) {
    if (e instanceof ApplicationFailure) {
      const d = (e.details?.[0] as { braidChainSpend?: ChainSpend } | undefined)?.braidChainSpend;
      if (d && Array.isArray(d.billed) && Array.isArray(d.lost)) return d;
    }
    e = e.cause;
  }
  return undefined;
}

export interface ChainInput {
  topic: string;
  index: number;
  attempt: 1 | 2;
  outDir?: string;
  llmTaskQueue?: string;
  role: ModelRole;
  maxTokens?: number;
  minWords: number;
  /** Edit each paragraph of the draft while the rest is written (PipelineInput.overlap). */
  overlap?: boolean;
  /** The chain's share of the run's budget (runs with one). */
  budget?: ChainBudget;
}

/** One stage of a chain (research, write, edit) as it ran: time, tokens, whether the gate sent it back. */
export interface StageRecord {
  stage: StageName;
  ms: number;
  usage: TokenUsage;
  /** The model that answered the stage's calls (absent from chains that began before it was added). */
  model?: string;
  /** The quality gate sent the first draft back once. */
  revised: boolean;
  gateNote?: string;
  /** With stage overlap, the edit stage: the draft's paragraphs, each edited on its own. */
  sections?: number;
  /** …of which this many started while the writer was still writing. */
  startedEarly?: number;
}

export interface ChainOutput {
  stages: StageRecord[];
  usage: TokenUsage;
  /** What failed and cancelled attempts of the chain's model calls spent (estimated; absent when none). */
  retriedSpend?: PartialSpend[];
  file?: string;
  words: number;
}

/** Where a chain is: queued, running, done (ok or failed), or queued for and running its retry. */
export type ChainStatus = 'queued' | 'running' | 'ok' | 'failed' | 'retry-queued' | 'retrying';

/** One topic's chain as the pipeline tracks it: status, attempt, times, tokens, stages and output file. */
export interface ChainState {
  index: number;
  topic: string;
  status: ChainStatus;
  /** 1 for the first pass, 2 for the retry after the others finished. */
  attempt: 1 | 2;
  workflowId?: string;
  /** Workflow clock, epoch ms, of the current (or last) attempt. */
  startedAt?: number;
  endedAt?: number;
  /** Start and end of the first attempt, kept when a retry runs. */
  firstAttempt?: { startedAt: number; endedAt: number; error: string };
  usage: TokenUsage;
  stages?: StageRecord[];
  /** What failed and cancelled attempts of the kept attempt's model calls spent (estimated; absent when none). */
  retriedSpend?: PartialSpend[];
  file?: string;
  error?: string;
}

/** What the pipeline's `pipelineProgress` query answers while it runs. */
export interface PipelineProgress {
  concurrency: number;
  phase: 'first-pass' | 'retrying' | 'done';
  chains: ChainState[];
}

/** The pipeline's result: every chain's status, attempts, time, tokens and file. */
export interface PipelineResult {
  chains: ChainState[];
  ok: number;
  failed: number;
  retried: number;
  totalMs: number;
  usage: TokenUsage;
  /** Dollars of the finished chains' stages by model, at the input's `prices` (absent from runs that began before it was added). */
  cost?: CostSummary;
  /** The same by stage: research, write, edit. */
  costByPhase?: Record<string, CostSummary>;
  /** Most chains running at once (never above concurrency). */
  peakRunning: number;
  /** `budget-reached` when chains did not start (or were cancelled) because of the budget; the chains done are kept. */
  status?: 'budget-reached';
  /** The budget and what was spent against it (runs with a budget only). */
  budget?: BudgetReport;
}

/** The pipeline's progress query (`pipelineProgress`): phase and every chain's state. */
export const pipelineProgressQuery = defineQuery<PipelineProgress>('pipelineProgress');
export const chainStageQuery = defineQuery<{ stage: StageName | 'writing-file' | 'done'; revising: boolean }>('chainStage');

/** The run's static summary and details, for whoever starts it. */
export function pipelineLabels(input: PipelineInput): RunLabels {
  const t = input.topics;
  return {
    summary: `pipeline: ${counted(t.length, 'topic')}, ${input.concurrency} at once — ${gist(t.slice(0, 3).join('; '), 80)}${t.length > 3 ? ' …' : ''}`,
    details: [
      `**Topics:** ${gist(t.map((topic, i) => `${i + 1}. ${topic}`).join('; '), 400)}`,
      `Each researched, written and edited by the ${input.role ?? 'fast'} model, ${input.concurrency} at once; ${input.outDir ? `files in ${input.outDir}` : 'no files written (no `--out`)'}.`,
    ].join('\n\n'),
  };
}

/** Why a list of topics cannot run, or undefined when it can. */
export function topicsProblem(topics: unknown): string | undefined {
  if (!Array.isArray(topics) || topics.length === 0) return 'there are no topics';
  if (topics.length > MAX_TOPICS) return `there are ${topics.length} topics; the limit is ${MAX_TOPICS}`;
  const seen = new Map<string, number>();
  for (let i = 0; i < topics.length; i++) {
    const t: unknown = topics[i];
    if (typeof t !== 'string' || !t.trim()) return `topic ${i + 1} is empty`;
    if (t.length > MAX_TOPIC_CHARS) return `topic ${i + 1} is ${t.length} characters; the limit is ${MAX_TOPIC_CHARS}`;
    const key = t.trim().toLowerCase().replace(/\s+/g, ' ');
    const first = seen.get(key);
    if (first !== undefined) return `topic ${i + 1} repeats topic ${first + 1} ("${t.trim()}")`;
    seen.set(key, i);
  }
  return undefined;
}

/**
 * A topics file: one topic per line; blank lines and lines starting with `#` are skipped.
 * Throws an Error whose message names the line at fault.
 */
export function parseTopics(text: string, name = 'topics file'): string[] {
  if (text.length > MAX_TOPICS_FILE_BYTES)
    throw new Error(
      `${name} is ${text.length} bytes; the limit is ${MAX_TOPICS_FILE_BYTES} (${MAX_TOPICS} topics of up to ${MAX_TOPIC_CHARS} characters)`,
    );
  if (text.includes('\u0000')) throw new Error(`${name} is not a text file`);
  const topics: string[] = [];
  const lineOf = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (!t || t.startsWith('#')) continue;
    if (t.length > MAX_TOPIC_CHARS)
      throw new Error(`${name} line ${i + 1}: the topic is ${t.length} characters; the limit is ${MAX_TOPIC_CHARS}`);
    const key = t.toLowerCase().replace(/\s+/g, ' ');
    const first = lineOf.get(key);
    if (first !== undefined)
      throw new Error(`${name} line ${i + 1}: duplicate topic "${t}" (first on line ${first + 1}); each topic must appear once`);
    lineOf.set(key, i);
    topics.push(t);
    if (topics.length > MAX_TOPICS) throw new Error(`${name} has more than ${MAX_TOPICS} topics; split it into several runs`);
  }
  if (!topics.length) throw new Error(`${name} has no topics: write one topic per line (lines starting with # are comments)`);
  return topics;
}

export const wordCount = (text: string) => (text.match(/\S+/g) ?? []).length;

/**
 * The gate between stages: a deterministic check of the stage's output. It fails a draft that is
 * cut off (max_tokens) or too short to be what the stage was asked for; the chain then sends the
 * draft back once with the reason.
 */
export function qualityGate(
  stage: StageName,
  text: string,
  stopReason: string,
  minWords: number,
): { ok: true } | { ok: false; reason: string } {
  if (stopReason === 'max_tokens')
    return { ok: false, reason: `the ${stage} output was cut off at the token limit; make it shorter and complete` };
  const words = wordCount(text);
  const need = stage === 'research' ? Math.ceil(minWords / 2) : minWords;
  if (words < need) return { ok: false, reason: `the ${stage} output has ${words} words; it needs at least ${need}` };
  return { ok: true };
}

/** A file name for a topic: lower-case words joined by dashes, prefixed by its position. */
export function outputFileName(index: number, topic: string): string {
  const slug = topic
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return `${String(index + 1).padStart(3, '0')}-${slug || 'topic'}.md`;
}
