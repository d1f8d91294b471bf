/**
 * Types shared by workflows, activities and the CLI.
 *
 * This module is imported by workflow code, so it must stay free of Node APIs and of any
 * runtime dependency: plain types and constants only. Message content mirrors the subset of the
 * Anthropic Messages API that Braid uses (text with its citations, tool_use, tool_result, and
 * plain-text document blocks in requests).
 */

// A text or tool_result block whose text is large carries it by reference (`stored`, see
// blobs.ts); the model-call activity reads it back before the model sees the message.
import type { PartialSpend } from './usage';
import type { StoredText } from './blobs';
import type { AnnounceSections, AnnounceTools, StreamTo } from './stream';

export type ModelRole = 'fast' | 'capable';

/** Tokens one model call (or a sum of calls) used. */
export interface TokenUsage {
  /** Input tokens neither read from nor written to the prompt cache (the API's input_tokens). */
  inputTokens: number;
  outputTokens: number;
  /** Input tokens read from the prompt cache; absent when none. */
  cacheReadTokens?: number;
  /** Input tokens written to the prompt cache; absent when none. */
  cacheWriteTokens?: number;
}

/**
 * Where a reply's text came from in a plain-text document of the request (the API's `char_location`
 * citation; offsets are UTF-16 positions into the document's text, end exclusive). Claims, never proof:
 * Braid checks each one against the document before it uses it (src/summarize/citations.ts).
 */
export interface CharCitation {
  type: 'char_location';
  cited_text: string;
  document_index: number;
  document_title: string | null;
  start_char_index: number;
  end_char_index: number;
}

/** Text in a message. */
export interface TextBlock {
  type: 'text';
  /** Set when the text is in the blob store: `text` is then only its preview. */
  stored?: StoredText;
  text: string;
  /** Present only when the request carried documents with citations enabled. */
  citations?: CharCitation[];
  /** The prefix a fan-out's calls share ends here: cached when long enough (src/shared/prompt-cache.ts). */
  cachePrefix?: boolean;
}

/** The model's request to call a tool, keyed by its `id`. */
export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
}

/** A tool's result for the model, keyed by the `tool_use_id` it answers. */
export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content: string;
  is_error?: boolean;
  /** Set when the result is in the blob store: `content` is then only its preview. */
  stored?: StoredText;
}

/** The parts of a message Braid keeps in history: text, tool calls and tool results. */
export type ContentBlock = TextBlock | ToolUseBlock | ToolResultBlock;

/** A plain-text document in a request; with citations enabled the reply cites it by character range. */
export interface DocumentBlock {
  type: 'document';
  source: { type: 'text'; media_type: 'text/plain'; data: string };
  title?: string;
  citations?: { enabled: boolean };
  /** The prefix a fan-out's calls share ends here: cached when long enough (src/shared/prompt-cache.ts). */
  cachePrefix?: boolean;
}

/** One turn of a conversation with the model. */
export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string | (ContentBlock | DocumentBlock)[];
}

/**
 * Model routing to spare capacity, opt-in per call: while the call's model cannot take it — its
 * circuit breaker is open, or its rate budget would hold the call longer than `afterMs` (an
 * exhausted budget, a 429 pause) — the call goes to `model` instead, and its result says so. Without
 * a route a call waits out the outage (it never loses its work); with one it may be answered by
 * another model, which is the pattern's choice to make.
 */
export interface FallbackRoute {
  /** A model id, or a role name (`fast`, `capable`) the worker resolves. */
  model: string;
  /** How long the model's rate budget may hold the call before it is routed (ms); default 1000. */
  afterMs?: number;
}

export type RouteReason = 'breaker-open' | 'rate-budget';

/** A call that went to its fallback model, and why. */
export interface RoutedCall {
  from: string;
  to: string;
  reason: RouteReason;
  /** What the limiter or the breaker said about `from`. */
  detail: string;
}

/** One model call, as a workflow asks for it. API keys never appear here: workers hold them. */
export interface LlmRequest {
  role: ModelRole;
  /** A model id (or role name) for this call, in place of the worker's model for `role`. */
  model?: string;
  /** Where the call may go while its model cannot take it (see FallbackRoute); default: it waits. */
  fallback?: FallbackRoute;
  system?: string;
  messages: ChatMessage[];
  /** Names of registered tools to offer; the worker resolves their schemas. */
  tools?: string[];
  maxTokens?: number;
  /** Earlier messages kept in the blob store: references of JSON message lists, sent in order before `messages`. */
  history?: string[];
  /** Also store `messages` as one more history segment, and return its reference (`messagesRef`). */
  storeMessages?: boolean;
  /** A reply whose text is longer than this many characters comes back stored (`storedText`). */
  storeAbove?: number;
  /** Signal the starting workflow with each tool_use block as soon as it is complete (early tool dispatch, src/shared/stream.ts). */
  announceTools?: AnnounceTools;
  /** Signal the starting workflow with each complete section (paragraph) of the text as it is written (stage overlap, shared/stream.ts). */
  announceSections?: AnnounceSections;
  /** Stream the text as it is written to the worker's answer streams, labelled with this branch (never into history). */
  streamTo?: StreamTo;
  /**
   * The most this call may spend, every attempt included, in US dollars: its budget reservation. A
   * stream that would pass it is stopped, and no retry follows an attempt that spent part of it; either
   * way the call fails with LlmBudgetReached (non-retryable).
   */
  maxUsd?: number;
  /**
   * This call is a hedge of another (src/workflows/hedge.ts, `cap: 'worker'`): the worker refuses it
   * (HedgeRefused, non-retryable) when its hedges of the last minutes would pass `maxRate` of its model calls.
   */
  hedge?: { maxRate: number };
  /**
   * The conversation is the next call's prefix (an agent's tool loop): the call marks it for the
   * prompt cache — at its end, and at the end of the previous call's messages — where the prefix
   * reaches the model's minimum cacheable length (src/shared/prompt-cache.ts). Each turn then reads
   * what the turn before wrote and pays the cache write only for what it added.
   */
  cacheConversation?: boolean;
}

/** A model call's result: the reply's content, why it stopped, usage, and which attempt succeeded. */
export interface LlmResult {
  model: string;
  content: ContentBlock[];
  stopReason: string;
  usage: TokenUsage;
  requestId: string | null;
  /** True when the worker answered from Braid's model simulator, not Claude. */
  simulated: boolean;
  /** Worker-clock time of the successful attempt. */
  startedAt: number;
  endedAt: number;
  attempt: number;
  /** Set when the call was routed to its fallback model; `model` is then the fallback's. */
  routed?: RoutedCall;
  /** The reply's whole text, when it was longer than `storeAbove`: `content` then holds one text block with its preview. */
  storedText?: StoredText;
  /** The request's `messages`, stored as a history segment (with `storeMessages`). */
  messagesRef?: string;
  /**
   * What earlier attempts of this call spent before they failed (a stream cut mid-answer, an answer
   * that came back unusable): estimated from what they streamed, and charged to the run as estimated.
   */
  retriedSpend?: PartialSpend[];
}

/** A tool as the worker offers it: name, description and time budget. */
export interface ToolInfo {
  name: string;
  description: string;
  timeoutMs: number;
  /** The JSON schema the model is shown, recorded with the run (an MCP server's may change or be gone on replay). */
  inputSchema?: Record<string, unknown>;
  /** What the tool says of its effects; absent for Braid's own tools, which only read. */
  annotations?: ToolAnnotations;
  /** Where a tool that is not Braid's own comes from, e.g. `mcp:fs/read_file`. */
  origin?: string;
}

/**
 * A tool's own word on its effects, in MCP's terms. Braid retries a call that may have acted only
 * when the tool is `readOnly` or `idempotent`, and asks a person before a `destructive` one.
 */
export interface ToolAnnotations {
  readOnly?: boolean;
  destructive?: boolean;
  idempotent?: boolean;
  /** Braid's, not MCP's: a destructive call may run once a person approves it (the MCP config's `approve`), rather than being refused. */
  approve?: boolean;
}

/** One tool call for the tool activity: which tool, with what input, answering which `tool_use` id. */
export interface ToolCall {
  toolUseId: string;
  name: string;
  input: unknown;
  /** A result longer than this many characters comes back stored (`stored`). */
  storeAbove?: number;
  /** Who approved this call of a destructive tool, and when: without it the tool activity refuses such a call. */
  approvedBy?: { reviewer: string; at: string };
}

/** A tool call's outcome: its content for the model, and whether it is an error or ran out of time. */
export interface ToolCallResult {
  /** Tool output serialised for the model (JSON for structured outputs). */
  content: string;
  /** True when the tool ran and reported a failure the model should see. */
  isError: boolean;
  /** Set when the call ran out of time and was stopped (isError is then true too). */
  timedOut?: boolean;
  /** Set when the output is in the blob store: `content` is then only its preview. */
  stored?: StoredText;
  startedAt: number;
  endedAt: number;
}

/** `queue`: the run waiting for a worker to pick it up. */
export type BranchKind = 'llm' | 'tool' | 'queue';
export type BranchStatus = 'running' | 'ok' | 'error' | 'timeout';

/** One branch of a run: a model turn, a tool call, or waiting for a worker (see workflows/branches.ts for the clock). */
export interface Branch {
  id: string;
  turn: number;
  kind: BranchKind;
  name: string;
  status: BranchStatus;
  startedAt: number;
  endedAt?: number;
  durationMs?: number;
  error?: string;
  model?: string;
  usage?: TokenUsage;
  attempts?: number;
  /** A model call's failed or cancelled attempts' spend, estimated from what they streamed. */
  retriedSpend?: PartialSpend[];
}

/** A run's wall time beside what its branches would take one after another, and its critical path. */
export interface RunTiming {
  /** Wall time of the whole run on the workflow clock, from its start (waiting for a worker included) to its last branch's end. */
  totalMs: number;
  /** Sum over turns of the model call plus the slowest tool branch: what parallelism cannot remove. */
  criticalPathMs: number;
  /** What the same branches would take one after another. */
  sequentialMs: number;
  /** How long the run waited for a worker to pick it up (absent in results of older runs). */
  queuedMs?: number;
}

/**
 * How a run presents itself in the Web UI and `temporal workflow describe`: the static summary (one
 * line, in run lists and at the top of the run's page) and details (Temporal markdown) set at start.
 */
export interface RunLabels {
  summary: string;
  details: string;
}

/** Tokens a run used, in total and per model. */
export interface UsageSummary {
  total: TokenUsage;
  byModel: Record<string, TokenUsage>;
}
