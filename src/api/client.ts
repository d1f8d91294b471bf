/**
 * `@braid-agents/braid/client` — Braid from your own Temporal client: a client plugin (payload
 * codecs), Braid's search attributes, typed helpers that start Braid's workflows labelled for the
 * Web UI and read their results, and the corpus writer the map-reduce workflow reads from.
 *
 * Braid's CLI starts every run through `startBraidWorkflow` (src/cli/session.ts): what it can do,
 * a client of this module can.
 */
import { randomUUID } from 'node:crypto';
import type {
  Client,
  ClientOptions,
  WorkflowHandle,
  WorkflowHandleWithFirstExecutionRunId,
  WorkflowOptions,
  WorkflowStartOptions,
} from '@temporalio/client';
import { TypedSearchAttributes, type DataConverter, type PayloadCodec, type Workflow } from '@temporalio/common';
import { SimplePlugin } from '@temporalio/plugin';
import { config } from '../config';
import { resolveTracing, type BraidTracing, type ProcessTracing } from '../telemetry/tracing';
import { withEncryption } from '../encryption/converter';
import { configuredKeyRing, type KeyRing } from '../encryption/keys';
import { ASK_WORKFLOW, askLabels, type AgentInput, type AgentResult } from '../shared/ask';
import { ENSEMBLE_WORKFLOW, ensembleLabels, type EnsembleInput, type EnsembleResult } from '../shared/ensemble';
import { SEARCH_WORKFLOW, searchLabels, type SearchInput, type SearchResult } from '../shared/search';
import { HEALTH_WORKFLOW } from '../shared/health';
import { SPECULATE_WORKFLOW, speculateLabels, type SpeculateInput, type SpeculateResult } from '../shared/speculate';
import { PIPELINE_WORKFLOW, pipelineLabels, type PipelineInput, type PipelineResult } from '../shared/pipeline';
import {
  decideUpdate,
  PUBLISH_WORKFLOW,
  publishLabels,
  type DecisionReceipt,
  type DecisionRequest,
  type PublishInput,
  type PublishResult,
} from '../shared/publish';
import { BraidKind, BraidStatus, RUN_STATUS, SEARCH_ATTRIBUTES } from '../shared/search-attributes';
import { SUMMARIZE_WORKFLOW, summarizeLabels, type SummarizeInput, type SummarizeResult } from '../shared/summarize';
import type { RunLabels } from '../shared/types';
import type { FlowSnapshot } from '../flow';

export { BraidKind, BraidStatus, SEARCH_ATTRIBUTES } from '../shared/search-attributes';
export { ASK_WORKFLOW, agentProgressQuery, type AgentInput, type AgentResult, type AgentProgress } from '../shared/ask';
export { HEALTH_WORKFLOW } from '../shared/health';
export { startTracing, type BraidTracing, type OtlpProtocol, type TracingOptions } from '../telemetry/tracing';
export {
  ENSEMBLE_WORKFLOW,
  ensembleProgressQuery,
  type EnsembleInput,
  type EnsembleResult,
  type EnsembleProgress,
} from '../shared/ensemble';
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
export {
  SEARCH_WORKFLOW,
  searchProgressQuery,
  type SearchInput,
  type SearchResult,
  type SearchProgress,
  type FusedHit,
  type AnswerClaim,
  type FusedRank,
  type QueryPlan,
  type SearchAnswer,
  type SearchPhase,
  type SearchSourceSpec,
  type SourceHit,
  type SourceReport,
  type SourceStatus,
} from '../shared/search';
export type { CharCitation, RunLabels } from '../shared/types';
export type { ChunkSpan } from '../shared/summarize';
export type { CostSummary, ModelCost, ModelPrice } from '../shared/pricing';
export {
  PIPELINE_WORKFLOW,
  STAGES,
  pipelineProgressQuery,
  type PipelineInput,
  type PipelineResult,
  type PipelineProgress,
} from '../shared/pipeline';
export {
  PUBLISH_WORKFLOW,
  publishStatusQuery,
  decideUpdate,
  decisionSignal,
  type PublishInput,
  type PublishResult,
  type PublishStatus,
  type Decision,
  type DecisionReceipt,
  type DecisionRequest,
} from '../shared/publish';
export {
  SUMMARIZE_WORKFLOW,
  SUMMARIZE_LIMITS,
  DEFAULT_BATCH_MAP,
  summarizeProgressQuery,
  type BatchMapOptions,
  type SummarizeInput,
  type SummarizeResult,
  type SummarizeProgress,
} from '../shared/summarize';
export { storeCorpus, summarizeWorkflowId, type Corpus, type CorpusDocument } from '../summarize/manifest';
export { FsBlobStore, type BlobStore } from '../blobs/store';
export { KeyRing, EncryptionKeyError, parseKey, readKeyFile, type EncryptionKey } from '../encryption/keys';
export { EncryptionCodec, PayloadDecryptError, type EncryptionCodecOptions } from '../encryption/codec';
export { startCodecServer, type CodecServer, type CodecServerOptions } from '../encryption/codec-server';
export { S3BlobStore, type S3Settings } from '../blobs/s3-store';
export { openBlobStore, type BlobSettings } from '../blobs/open';
export type { FlowSnapshot } from '../flow';
export type { AgentCarry, AgentPhase, AgentStopReason, AskHedge, HedgingReport, ToolApproval } from '../shared/ask';
export type { StoredText } from '../shared/blobs';
export type { CitationChecks, Claim, SummarizeBudget } from '../shared/summarize';
export {
  BUDGET_REACHED,
  parseBudget,
  type BudgetReport,
  type BudgetSetting,
  type InFlightPolicy,
  type RunBudgetSetting,
} from '../shared/budget';
export type { PartialSpend } from '../shared/usage';
export type { StoredReport } from '../shared/publish';
export type { BadFileEntry, MissingChunk, PhaseStat, SourceCitation, SummarizePhase, TreeOptions } from '../shared/summarize';
export type { ChainState, ChainStatus, StageName, StageRecord } from '../shared/pipeline';
export type { DocumentAnalysis, EffectRecord, PublishDocument, PublishStage, Verdict } from '../shared/publish';
export type {
  Branch,
  BranchKind,
  BranchStatus,
  ChatMessage,
  ContentBlock,
  DocumentBlock,
  FallbackRoute,
  ModelRole,
  RouteReason,
  RoutedCall,
  RunTiming,
  TextBlock,
  TokenUsage,
  ToolInfo,
  ToolAnnotations,
  ToolResultBlock,
  ToolUseBlock,
  UsageSummary,
} from '../shared/types';
export type { BlobRef } from '../blobs/store';
export type { BreakerSnapshot, BreakerState } from '../flow/breaker';
export type { BudgetSnapshot } from '../flow/buckets';
export type { RedisStatus } from '../flow/redis-limiter';

/** Braid's ask agent as Temporal sees it: `toolAgent(input) → result`. */
export type AskWorkflow = (input: AgentInput) => Promise<AgentResult>;
/** Braid's document map-reduce: `summarizeCorpus(input) → result`. */
export type SummarizeWorkflow = (input: SummarizeInput) => Promise<SummarizeResult>;
/** Braid's research → write → edit pipeline: `contentPipeline(input) → result`. */
export type PipelineWorkflow = (input: PipelineInput) => Promise<PipelineResult>;
/** Braid's publish-with-approval saga: `publishWorkflow(input) → result`. */
export type PublishWorkflow = (input: PublishInput) => Promise<PublishResult>;
/** Braid's multi-source search: `multiSourceSearch(input) → result`. */
export type SearchWorkflow = (input: SearchInput) => Promise<SearchResult>;
/** Braid's model ensemble: `modelEnsemble(input) → result`. */
export type EnsembleWorkflow = (input: EnsembleInput) => Promise<EnsembleResult>;
/** Braid's speculative ask: `speculativeAsk(input) → result`. */
export type SpeculateWorkflow = (input: SpeculateInput) => Promise<SpeculateResult>;
/** The flow-control status of whichever worker answers: `flowHealth() → snapshot`. */
export type HealthWorkflow = () => Promise<FlowSnapshot>;

/** Options of Braid's client plugin. */
export interface BraidClientPluginOptions {
  /** Codecs (encryption, compression) applied to every payload, after any the client already has; give the worker the same. */
  payloadCodecs?: PayloadCodec[];
  /**
   * OpenTelemetry traces: the client's start (and signal, query, update) spans, whose context the
   * run's workflow continues; default: on when OTEL_EXPORTER_OTLP_ENDPOINT is set, off otherwise; `false`: off.
   */
  tracing?: BraidTracing | false;
  /**
   * Braid's payload encryption (AES-256-GCM, see `KeyRing`), applied after `payloadCodecs`; `false`:
   * off. Default: on when the settings name a key (BRAID_ENCRYPTION_KEY or BRAID_ENCRYPTION_KEYS_FILE);
   * without one, an encrypted payload fails to decode with an error naming its key.
   */
  encryption?: KeyRing | false;
}

/**
 * Braid's client plugin: `new Client({ connection, plugins: [new BraidClientPlugin({ payloadCodecs })] })`.
 * It adds the payload codecs a Braid worker was given, so both sides read each other's payloads, and
 * with tracing on, the span each run's trace starts from.
 */
export class BraidClientPlugin extends SimplePlugin {
  private readonly tracing: ProcessTracing | undefined;

  constructor(options: BraidClientPluginOptions = {}) {
    const codecs = options.payloadCodecs ?? [];
    const encryption = options.encryption;
    super({
      name: 'braid',
      dataConverter:
        encryption === false && !codecs.length
          ? undefined
          : (existing: DataConverter | undefined): DataConverter => {
              const withCodecs = { ...existing, payloadCodecs: [...(existing?.payloadCodecs ?? []), ...codecs] };
              return encryption === false ? withCodecs : withEncryption(withCodecs, encryption ?? configuredKeyRing(config()));
            },
    });
    this.tracing = resolveTracing(options.tracing, config);
  }

  /** Adds the payload codecs and, with tracing on, Temporal's OpenTelemetry client interceptor. */
  override configureClient(options: Omit<ClientOptions, 'plugins'>): Omit<ClientOptions, 'plugins'> {
    const o = super.configureClient(options);
    return this.tracing ? this.tracing.temporal.configureClient(o) : o;
  }
}

/** A run of one of Braid's workflows, labelled with Braid's search attributes. */
export interface BraidStart<T extends Workflow> {
  /** The run's workflow id. */
  workflowId: string;
  /** The workflow's arguments. */
  args: Parameters<T>;
  /** The task queue Braid's workers poll; default BRAID_TASK_QUEUE (`braid`). */
  taskQueue?: string;
  /** The BraidKind search attribute (`ask`, `summarize`, …). */
  kind: string;
  /** The initial BraidStatus (default `queued`); Braid's workflows keep it up to date. */
  status?: string;
  /** The static summary and details the Web UI shows for the run. */
  labels?: RunLabels;
  /** Further start options (id conflict policies, memo, …). */
  options?: Partial<WorkflowOptions>;
  /** Called when the namespace has not registered Braid's search attributes and the run starts unlabelled. */
  onUnlabelled?: () => void;
}

/**
 * Starts `workflowType` labelled with BraidKind (and BraidStatus) — and unlabelled when the
 * namespace has not registered them (a cluster or Temporal Cloud before `registerSearchAttributes`):
 * the run still works, it is only missing from filters such as `BraidKind = "ask"`.
 */
export async function startBraidWorkflow<T extends Workflow>(
  client: Client,
  workflowType: string,
  r: BraidStart<T>,
): Promise<WorkflowHandleWithFirstExecutionRunId<T>> {
  const start = (labelled: boolean) =>
    client.workflow.start<T>(workflowType, {
      taskQueue: r.taskQueue ?? config().taskQueue,
      workflowId: r.workflowId,
      args: r.args,
      ...(r.labels ? { staticSummary: r.labels.summary, staticDetails: r.labels.details } : {}),
      ...r.options,
      ...(labelled
        ? {
            typedSearchAttributes: new TypedSearchAttributes([
              { key: BraidKind, value: r.kind },
              { key: BraidStatus, value: r.status ?? RUN_STATUS.queued },
            ]),
          }
        : {}),
    } as unknown as WorkflowStartOptions<T>);
  try {
    return await start(true);
  } catch (err) {
    if (!(err instanceof Error && /search attribute/i.test(err.message))) throw err;
    r.onUnlabelled?.();
    return start(false);
  }
}

/** Where and as what a typed helper starts a run; every field is optional. */
export interface StartOptions {
  /** Default: `<kind>-<uuid>`. */
  workflowId?: string;
  /** Default: BRAID_TASK_QUEUE (`braid`). */
  taskQueue?: string;
  /** Further start options (id conflict policies, memo, timeouts, …). */
  options?: Partial<WorkflowOptions>;
}

/** A typed starter of one of Braid's workflows: `(client, input, options?) → handle`; `await handle.result()` is the result. */
export type Starter<T extends Workflow> = (
  client: Client,
  input: Parameters<T>[0],
  o?: StartOptions,
) => Promise<WorkflowHandleWithFirstExecutionRunId<T>>;

const starter =
  <T extends Workflow>(type: string, kind: string, labels: (input: Parameters<T>[0]) => RunLabels): Starter<T> =>
  (client, input, o = {}) =>
    startBraidWorkflow<T>(client, type, {
      workflowId: o.workflowId ?? `${kind}-${randomUUID()}`,
      taskQueue: o.taskQueue,
      options: o.options,
      args: [input] as Parameters<T>,
      kind,
      labels: labels(input),
    });

/** Starts Braid's tool-calling agent; its result is the answer, every branch with its timing, and usage. */
export const startAsk: Starter<AskWorkflow> = starter(ASK_WORKFLOW, 'ask', askLabels);
/** Starts Braid's document map-reduce over a corpus written with `storeCorpus` to the workers' blob store. */
export const startSummarize: Starter<SummarizeWorkflow> = starter(SUMMARIZE_WORKFLOW, 'summarize', (input) => summarizeLabels(input));
/** Starts Braid's research → write → edit pipeline; the workers write the articles to `input.outDir`. */
export const startPipeline: Starter<PipelineWorkflow> = starter(PIPELINE_WORKFLOW, 'pipeline', pipelineLabels);
/** Starts Braid's publish saga; it waits for a decision (`decide`) before publishing. */
export const startPublish: Starter<PublishWorkflow> = starter(PUBLISH_WORKFLOW, 'publish', publishLabels);

/** Starts Braid's model ensemble: one prompt or a batch of items, decided by a vote or a judge. */
export const startEnsemble: Starter<EnsembleWorkflow> = starter(ENSEMBLE_WORKFLOW, 'ensemble', ensembleLabels);
/** Starts Braid's multi-source search with rank fusion over the sources the workers were given. */
export const startSearch: Starter<SearchWorkflow> = starter(SEARCH_WORKFLOW, 'search', searchLabels);

/** Starts Braid's speculative ask: the answer cache, the fast model and the tool agent raced, the first valid answer wins. */
export const startSpeculate: Starter<SpeculateWorkflow> = starter(SPECULATE_WORKFLOW, 'ask', speculateLabels);
export {
  SPECULATE_WORKFLOW,
  speculateProgressQuery,
  DEFAULT_STRATEGIES,
  STRATEGY_NAMES,
  VALIDATORS,
  type SpeculateInput,
  type SpeculateResult,
  type SpeculateProgress,
  type SpeculateStatus,
  type StrategyName,
  type StrategyReport,
  type StrategySpec,
  type ValidatorName,
} from '../shared/speculate';

/** Asks a Braid worker for its limiter budgets and breaker states (a short workflow answered by whichever worker picks it up). */
export async function flowHealth(client: Client, o: StartOptions = {}): Promise<FlowSnapshot> {
  const handle = await startBraidWorkflow<HealthWorkflow>(client, HEALTH_WORKFLOW, {
    workflowId: o.workflowId ?? `health-${randomUUID()}`,
    taskQueue: o.taskQueue,
    options: { workflowExecutionTimeout: '1 minute', ...o.options },
    args: [],
    kind: 'health',
  });
  return handle.result();
}

/**
 * Approves or rejects a publish run through its `decide` update: resolves with the recorded decision,
 * or rejects at once with the reason it was refused (not awaiting approval yet, unknown reviewer, …).
 */
export function decide(client: Client, workflowId: string, request: DecisionRequest): Promise<DecisionReceipt> {
  const handle: WorkflowHandle<PublishWorkflow> = client.workflow.getHandle(workflowId);
  return handle.executeUpdate(decideUpdate, { args: [request] });
}

/**
 * Registers Braid's search attributes (BraidKind, BraidStatus: Keyword) in the client's namespace,
 * once per namespace, as `temporal operator search-attribute create` would; registered already is fine.
 */
export async function registerSearchAttributes(client: Client): Promise<void> {
  const KEYWORD = 2; // temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
  try {
    await client.connection.operatorService.addSearchAttributes({
      namespace: client.options.namespace,
      searchAttributes: Object.fromEntries(Object.keys(SEARCH_ATTRIBUTES).map((name) => [name, KEYWORD])),
    });
  } catch (err) {
    if (!(err instanceof Error && /already exists/i.test(err.message))) throw err;
  }
}
