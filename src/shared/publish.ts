/**
 * The publish workflow's contract: input, result, the decision signal and update, the status query.
 * Shared by the workflow, the activities, the worker and the CLI; no Node APIs.
 *
 * A decision travels two ways on purpose. The update (`decide`) is what Braid's CLI sends: its
 * validator answers at once — accepted, or refused with the reason — and a refused decision leaves
 * no trace in the run's history. The signal (`decision`) is for senders that cannot wait for an
 * answer (the Web UI, scripts, other workflows); the workflow applies the same checks and ignores,
 * with a log line, what it would have refused.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { UsageSummary } from './types';

/** The workflow type: the name of the workflow function in src/workflows/publish.ts (frozen). */
export const PUBLISH_WORKFLOW = 'publishWorkflow';

/** Most documents one run takes; the CLI and the workflow both check it. */
export const MAX_DOCUMENTS = 50;
/** Most characters of all documents together, checked by the workflow (any client may start a run). */
export const MAX_TOTAL_CHARS = 1_000_000;
/**
 * Most bytes of all document files together, checked by the CLI: the documents travel inside the
 * workflow input (a payload is limited to 2 MB), so the CLI keeps them well below.
 */
export const MAX_DOCUMENT_BYTES = 512 * 1024;

/** A reviewer's verdict on a publish run. */
export type Verdict = 'approve' | 'reject';

/** One document to publish: a name for the report and its text. */
export interface PublishDocument {
  /** Shown in the report and the status query, e.g. the file name. */
  name: string;
  text: string;
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
}

/** A decision as a reviewer sends it (update `decide` or signal `decision`); a rejection needs a reason. */
export interface DecisionRequest {
  verdict: Verdict;
  reviewer: string;
  comment?: string;
  /** Required when rejecting. */
  reason?: string;
}

/** A decision as the run recorded it: by whom, when, and how it arrived. */
export interface Decision extends DecisionRequest {
  /** Workflow-clock time (epoch ms) when the decision was recorded. */
  at: number;
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
}

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
  decision?: Decision;
  /** Workflow-clock epoch ms of the two deadlines, once the run waits. */
  remindAt?: number;
  decideBy?: number;
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
  analyses: DocumentAnalysis[];
  effects: EffectRecord[];
  usage: UsageSummary;
  simulated: boolean;
}

/** The `decide` update: a validated decision, refused with the reason when it does not apply. */
export const decideUpdate = defineUpdate<DecisionReceipt, [DecisionRequest]>('decide');
/** The `decision` signal: a decision sent without waiting for an answer; an invalid one is ignored and counted. */
export const decisionSignal = defineSignal<[DecisionRequest]>('decision');
/** The publish run's status query (`publishStatus`). */
export const publishStatusQuery = defineQuery<PublishStatus>('publishStatus');

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
