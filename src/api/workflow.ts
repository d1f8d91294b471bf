/**
 * `@braid-agents/braid/workflow` — Braid's deterministic primitives for your own workflow code.
 *
 * Import this module from a workflow file: it runs inside Temporal's sandbox and pulls in no Node
 * API, only `@temporalio/workflow` and Braid's own workflow-side modules (the lint fence in
 * eslint.config.mjs holds it to that). Activities it calls — `callModel`, `callTool`, `listTools`
 * — are Braid's, registered on your worker by the plugin from `@braid-agents/braid/worker`; child
 * workflows it starts (`summarizeChild`) are Braid's workflows, registered by the same plugin.
 *
 * What is exported here is Braid's public workflow API (see etc/workflow.api.md); everything
 * else under src/ is internal. A new pattern adds its primitive here (docs/ARCHITECTURE.md).
 */
import { executeChild, proxyActivities, workflowInfo, type ActivityOptions, type ChildWorkflowOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ENSEMBLE_WORKFLOW, type EnsembleInput, type EnsembleResult } from '../shared/ensemble';
import { SEARCH_WORKFLOW, type SearchInput, type SearchResult } from '../shared/search';
import { SUMMARIZE_WORKFLOW, type SummarizeInput, type SummarizeResult } from '../shared/summarize';
import type { LlmRequest, LlmResult, ToolCall, ToolCallResult, ToolInfo } from '../shared/types';
import { modelCall, toolCall, workerLookup } from '../workflows/profiles';

export { fanOut, type Settled } from '../workflows/fanout';
export { slidingWindow, type WindowHooks } from '../workflows/window';
export { Saga, type CompensationOutcome } from '../workflows/saga';
export { quorum, type QuorumBranchReport, type QuorumOptions, type QuorumResult, type QuorumStatus } from '../workflows/quorum';
export {
  cancellable,
  race,
  NO_VALID_RESULT,
  Spend,
  type RaceBranch,
  type RaceOptions,
  type RaceResult,
  type RaceStatus,
  type Strategy,
} from '../workflows/race';
export { spendOfCancelled, spendOfFailure, type PartialSpend, type SpendDetails } from '../shared/usage';
export {
  BudgetLedger,
  budgetProblem,
  budgetSettingProblem,
  inputBound,
  worstCaseUsd,
  type BudgetReport,
  type BudgetSetting,
  type InFlightPolicy,
  type Reservation,
  type RunBudgetSetting,
} from '../shared/budget';
export { budgeted, isBudgetStop, RunBudget, spendUsd, type CallSpend } from '../workflows/budget';
export { Hedger, quantileOf, type HedgeOptions, type HedgedCall } from '../workflows/hedge';
export { ApprovalGate, type Refusal, type WaitOptions } from '../workflows/approval';
export { EarlyStarts, EarlyTools } from '../workflows/early-tools';
export {
  callKey,
  canonicalJson,
  SECTION_BREAK,
  sectionKey,
  sectionReadySignal,
  splitSections,
  toolBlockReadySignal,
  type AnnounceSections,
  type AnnounceTools,
  type AnswerChunk,
  type Section,
  type SectionReady,
  type StreamTo,
  type ToolBlockReady,
} from '../shared/stream';
export { modelCall, sideEffect, sideEffectUndo, toolCall } from '../workflows/profiles';
export { decideUpdate, decisionSignal, type Decision, type DecisionReceipt, type DecisionRequest, type Verdict } from '../shared/publish';
export type {
  ChatMessage,
  ContentBlock,
  LlmRequest,
  LlmResult,
  ModelRole,
  TextBlock,
  TokenUsage,
  ToolCall,
  ToolCallResult,
  ToolInfo,
  ToolAnnotations,
  ToolResultBlock,
  ToolUseBlock,
} from '../shared/types';
export type { CharCitation, DocumentBlock, FallbackRoute, RouteReason, RoutedCall, UsageSummary } from '../shared/types';
export type { StoredText } from '../shared/blobs';
export type { CitationChecks, Claim } from '../shared/summarize';
export type { EnsembleInput, EnsembleResult } from '../shared/ensemble';
export { reciprocalRankFusion } from '../shared/search';
export type {
  AnswerClaim,
  FusedHit,
  FusedRank,
  QueryPlan,
  RankedList,
  SearchAnswer,
  SearchInput,
  SearchResult,
  SearchSourceSpec,
  SourceHit,
  SourceReport,
  SourceStatus,
} from '../shared/search';
export type { ChunkSpan } from '../shared/summarize';
export type {
  Aggregate,
  DecidedBy,
  EnsembleItem,
  EnsembleMember,
  EnsembleSummary,
  ItemOutcome,
  JudgeOutcome,
  MemberAccuracy,
  MemberStatus,
  MemberVote,
  VoteCount,
} from '../shared/ensemble';
export type { CostSummary, ModelCost, ModelPrice, PriceTable } from '../shared/pricing';
export type { BatchMapOptions, SummarizeBudget, SummarizeInput, SummarizeResult } from '../shared/summarize';
export type { BadFileEntry, MissingChunk, PhaseStat, SourceCitation, TreeOptions } from '../shared/summarize';
export type { FailureMessageOptions } from '../shared/failures';
export { textOf } from '../shared/content';
export { failureMessage, timedOut } from '../shared/failures';

/** The per-call option overrides `callModel` and `callTool` accept: a label for the Web UI, another task queue, other timeouts. */
export type CallOptions = Pick<
  ActivityOptions,
  'summary' | 'taskQueue' | 'startToCloseTimeout' | 'heartbeatTimeout' | 'activityId' | 'cancellationType'
>;

/**
 * Calls the model through Braid's model activity (`llmTurn`): streamed, behind the worker's shared
 * rate limiter and circuit breaker, retried by Temporal with jittered backoff until it succeeds or
 * its attempt budget is spent (see the README's "How failures are handled"). `request.role` picks
 * the worker's fast or capable model; `request.tools` names tools of the worker's registry to offer.
 * The API key stays on the worker.
 */
export function callModel(request: LlmRequest, options: CallOptions = {}): Promise<LlmResult> {
  return proxyActivities<Activities>({ ...modelCall, ...options }).llmTurn(request);
}

/**
 * Runs one tool of the worker's registry through Braid's tool activity (`runTool`). The whole call,
 * retries included, gets `timeoutMs` (default: 30 s, the registry's default budget; pass the
 * tool's own from `listTools`). A tool that refuses (`ToolError`), gets bad input, or runs out of
 * time resolves with `isError: true` and the reason in `content` — an explicit result, not an
 * exception; only a call that fails for good after its retries rejects.
 */
export function callTool(call: ToolCall, timeoutMs = 30_000, options: CallOptions = {}): Promise<ToolCallResult> {
  return proxyActivities<Activities>({ ...toolCall(timeoutMs, `${call.name} (${call.toolUseId})`), ...options }).runTool(call);
}

/** The worker's tools (all, or the ones named) with their descriptions and time budgets; an unknown name fails the call. */
export function listTools(names?: string[]): Promise<ToolInfo[]> {
  return proxyActivities<Activities>(workerLookup).listTools(names);
}

/**
 * Runs Braid's document map-reduce (the `summarizeCorpus` workflow and its tree of `mapReduceNode`
 * children) as a child of the calling workflow, and returns its result. The corpus must already be
 * in the workers' blob store: build it with `storeCorpus` from `@braid-agents/braid/client`. The
 * child's id defaults to `<this workflow's id>/summarize`; pass `workflowId` when one run
 * summarises more than once.
 */
export function summarizeChild(input: SummarizeInput, options: Partial<ChildWorkflowOptions> = {}): Promise<SummarizeResult> {
  return executeChild<(input: SummarizeInput) => Promise<SummarizeResult>>(SUMMARIZE_WORKFLOW, {
    workflowId: `${workflowInfo().workflowId}/summarize`,
    ...options,
    args: [input],
  });
}

/**
 * Runs Braid's model ensemble (the `modelEnsemble` workflow: members vote, or a judge picks) as a
 * child of the calling workflow, and returns its result. The child's id defaults to
 * `<this workflow's id>/ensemble`.
 */
export function ensembleChild(input: EnsembleInput, options: Partial<ChildWorkflowOptions> = {}): Promise<EnsembleResult> {
  return executeChild<(input: EnsembleInput) => Promise<EnsembleResult>>(ENSEMBLE_WORKFLOW, {
    workflowId: `${workflowInfo().workflowId}/ensemble`,
    ...options,
    args: [input],
  });
}

/**
 * Runs Braid's multi-source search (the `multiSourceSearch` workflow: every source at once within
 * its own time, Reciprocal Rank Fusion, an optional cited answer) as a child of the calling
 * workflow, and returns its result. The sources are the ones the worker plugin was given. The
 * child's id defaults to `<this workflow's id>/search`.
 */
export function searchChild(input: SearchInput, options: Partial<ChildWorkflowOptions> = {}): Promise<SearchResult> {
  return executeChild<(input: SearchInput) => Promise<SearchResult>>(SEARCH_WORKFLOW, {
    workflowId: `${workflowInfo().workflowId}/search`,
    ...options,
    args: [input],
  });
}
