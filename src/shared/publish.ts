/**
 * The publish workflow's contract: input, result, the decision signal and update, the status query.
 * Shared by the workflow, the activities, the worker and the CLI; no Node APIs.
 *
 * A decision travels two ways on purpose. The update (`decide`) is what Braid's CLI sends: its
 * validator answers at once — accepted, or refused with the reason — and a refused decision leaves
 * no trace in the run's history; it is also what the Web UI's *Send an Update* sends. The signal
 * (`decision`) is for senders that cannot wait for an answer (scripts, other workflows); the workflow
 * applies the same checks and ignores, with a log line, what it would have refused.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { StoredText } from './blobs';
import { counted, gist } from './content';
import type { CostSummary, ModelPrice } from './pricing';
import type { RunLabels, UsageSummary } from './types';

/** The workflow type: the name of the workflow function in src/workflows/publish.ts (frozen). */
export const PUBLISH_WORKFLOW = 'publishWorkflow';

/** Most documents one run takes; the CLI and the workflow both check it. */
export const MAX_DOCUMENTS = 50;
/** Most characters of all documents together, checked by the workflow (any client may start a run). */
export const MAX_TOTAL_CHARS = 64 * 1024 * 1024;
/** Most bytes of all document files together, checked by the CLI before it reads them. */
export const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;
/**
 * Documents travel inside the workflow input while they are small: one over INLINE_MAX_CHARS, or
 * one that would take the inline documents past this many characters together, goes to the blob
 * store (the CLI stores it), keeping the input far below Temporal's 2 MB payload limit.
 */
export const MAX_INLINE_DOCUMENT_CHARS = 256 * 1024;
/**
 * An analysis longer than this many characters stays stored. Lower than INLINE_MAX_CHARS because up
 * to MAX_DOCUMENTS of them go into the one report request; at the default 1,024 output tokens an
 * analysis is never this long.
 */
export const MAX_INLINE_ANALYSIS_CHARS = 8 * 1024;

/** A reviewer's verdict on a publish run. */
export type Verdict = 'approve' | 'reject';

/** One document to publish: a name for the report and its text. */
export interface PublishDocument {
  /** Shown in the report and the status query, e.g. the file name. */
  name: string;
  /** The text; only its preview when the document is stored. */
  text: string;
  stored?: StoredText;
}

/** The publish saga's input: the documents, the destination, the reviewers and the approval deadlines. */
export interface PublishInput {
  documents: PublishDocument[];
  /** Where to publish: the path of a SQLite database file on the workers' disk (created if absent). */
  destination: string;
  /** Reviewers allowed to decide; empty or absent means anyone. */
  reviewers?: string[];
  /** First deadline, counted from when the run starts waiting: a reminder/escalation is posted. */
  remindAfterMs: number;
  /** Last deadline, counted from the same moment: the default decision is taken. */
  decideWithinMs: number;
  /** What happens at the last deadline; reject unless configured otherwise. */
  defaultDecision?: Verdict;
  /** A title for the report; default: derived from the documents. */
  title?: string;
  /** USD per million tokens by model, for `cost`; default the list prices (src/shared/pricing.ts). The CLI passes its table. */
  prices?: Record<string, ModelPrice>;
}

/** A decision as a reviewer sends it (update `decide` or signal `decision`); a rejection needs a reason. */
export interface DecisionRequest {
  verdict: Verdict;
  reviewer: string;
  comment?: string;
  /** Required when rejecting. */
  reason?: string;
  /** For an ask run: the tool call (its `tool_use` id) the decision is about; optional while only one call waits. */
  toolUseId?: string;
}

/** A decision as the run recorded it: by whom, when, and how it arrived. */
export interface Decision extends DecisionRequest {
  /** Workflow-clock time (ISO-8601) when the decision was recorded. */
  at: string;
  via: 'update' | 'signal' | 'deadline';
}

/** The `decide` update's answer: the recorded decision, and whether this request repeated it. */
export interface DecisionReceipt {
  accepted: true;
  /** True when the same verdict had already been recorded: nothing changed. */
  duplicate: boolean;
  decision: Decision;
}

/** A publish run's stage; the run also sets it as its BraidStatus search attribute. */
export type PublishStage =
  | 'checking'
  | 'analyzing'
  | 'reporting'
  | 'awaiting_approval'
  | 'publishing'
  | 'compensating'
  | 'published'
  | 'rejected'
  | 'compensated'
  | 'failed';

/** Values of the BraidStatus search attribute; `awaiting_approval` is what `braid pending` lists. */
export const AWAITING_APPROVAL: PublishStage = 'awaiting_approval';

/** The model's analysis of one document: a summary and key points, or the error that stopped it. */
export interface DocumentAnalysis {
  name: string;
  ok: boolean;
  summary: string;
  keyPoints: string[];
  error?: string;
  /** Set when the analysis was too long to keep inline: the model's reply, stored; `summary` is its preview. */
  stored?: StoredText;
}

/** A report whose body (the model's text under the title heading) is stored; `report` then holds a preview. */
export interface StoredReport {
  title: string;
  body: StoredText;
}

/** The report as published: the title as a heading, then the model's text. */
export const reportText = (title: string, body: string): string => `# ${title}\n\n${body}`;

/** One side-effecting step or compensation, as the activity reported it. */
export interface EffectRecord {
  step: string;
  /** The idempotency key of the effect (for a compensation: its own key). */
  key: string;
  /** False when the key was already there: a retry or re-execution found its own earlier effect. */
  applied: boolean;
  attempt: number;
}

/** What the `publishStatus` query answers: the stage, analyses, report, decision and deadlines. */
export interface PublishStatus {
  stage: PublishStage;
  destination: string;
  documents: string[];
  analyses: DocumentAnalysis[];
  report?: string;
  reportStored?: StoredReport;
  decision?: Decision;
  /** The two deadlines (workflow clock, ISO-8601), once the run waits. */
  remindAt?: string;
  decideBy?: string;
  escalated: boolean;
  /** Signals that were ignored because the update validator would have refused them. */
  ignoredSignals: { request: DecisionRequest; reason: string }[];
  effects: EffectRecord[];
  compensations: EffectRecord[];
  error?: string;
}

/** The publish saga's result: published or rejected, with the decision and the effects applied. */
export interface PublishResult {
  outcome: 'published' | 'rejected';
  decision: Decision;
  report: string;
  reportStored?: StoredReport;
  analyses: DocumentAnalysis[];
  effects: EffectRecord[];
  usage: UsageSummary;
  /** The model calls' dollars, from `usage.byModel` at the input's `prices` (absent from runs that began before it was added). */
  cost?: CostSummary;
  simulated: boolean;
}

/** The `decide` update: a validated decision, refused with the reason when it does not apply. */
export const decideUpdate = defineUpdate<DecisionReceipt, [DecisionRequest]>('decide');
/** The `decision` signal: a decision sent without waiting for an answer; an invalid one is ignored and counted. */
export const decisionSignal = defineSignal<[DecisionRequest]>('decision');
/** The publish run's status query (`publishStatus`). */
export const publishStatusQuery = defineQuery<PublishStatus>('publishStatus');

const hours = (ms: number) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);

/** A document's name without its directories, for labels ("pricing.md"). */
export const shortName = (name: string): string => name.split('/').pop() || name;

/** The run's static summary and details, for whoever starts it. */
export function publishLabels(input: PublishInput): RunLabels {
  const names = input.documents.map((d) => shortName(d.name));
  const who = input.reviewers?.length ? input.reviewers.join(', ') : 'anyone';
  return {
    summary: `publish ${counted(names.length, 'document')} to ${shortName(input.destination)}: ${gist(names.join(', '), 80)}`,
    details: [
      `**Documents:** ${gist(names.join(', '), 300)} → ${input.destination}`,
      `**Decided by** ${who}: a reminder after ${hours(input.remindAfterMs)}, then **${input.defaultDecision ?? 'reject'}** by default after ${hours(input.decideWithinMs)}. Decide with *More Actions → Send an Update* → \`decide\`.`,
    ].join('\n\n'),
  };
}

/** Failure types a publish run or a refused decision carries. */
export const PublishFailure = {
  InvalidInput: 'InvalidInput',
  DestinationUnreachable: 'DestinationUnreachable',
  AnalysisFailed: 'AnalysisFailed',
  ReportFailed: 'ReportFailed',
  Compensated: 'PublishCompensated',
  CompensationFailed: 'PublishCompensationFailed',
  NotAwaitingApproval: 'NotAwaitingApproval',
  AlreadyDecided: 'AlreadyDecided',
  UnknownReviewer: 'UnknownReviewer',
  InvalidDecision: 'InvalidDecision',
} as const;

/** The publication steps, in order, and their compensations. Also the activity ids of the steps. */
export const PUBLISH_STEPS = [
  { step: 'store-report', undo: 'retract-report' },
  { step: 'post-notification', undo: 'retract-notification' },
  { step: 'index-report', undo: 'unindex-report' },
] as const;

/**
 * The idempotency key of a side effect: the workflow run plus the activity id, which the workflow
 * sets to the step's name. Workflow and activity both derive it, from their own side.
 */
export function idempotencyKey(workflowId: string, runId: string, activityId: string): string {
  return `${workflowId}/${runId}/${activityId}`;
}
