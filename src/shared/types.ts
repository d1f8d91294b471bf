/**
 * Types shared by workflows, activities and the CLI.
 *
 * This module is imported by workflow code, so it must stay free of Node APIs and of any
 * runtime dependency: plain types and constants only. Message content mirrors the subset of the
 * Anthropic Messages API that Braid stores in workflow history (text, tool_use, tool_result).
 */

// A text or tool_result block whose text is large carries it by reference (`stored`, see
// blobs.ts); the model-call activity reads it back before the model sees the message.
import type { StoredText } from './blobs';

export type ModelRole = 'fast' | 'capable';

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface TextBlock {
  type: 'text';
  /** Set when the text is in the blob store: `text` is then only its preview. */
  stored?: StoredText;
  text: string;
}

export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
}

export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content: string;
  is_error?: boolean;
  /** Set when the result is in the blob store: `content` is then only its preview. */
  stored?: StoredText;
}

export type ContentBlock = TextBlock | ToolUseBlock | ToolResultBlock;

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string | ContentBlock[];
}

/** One model call, as a workflow asks for it. API keys never appear here: workers hold them. */
export interface LlmRequest {
  role: ModelRole;
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
}

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
  /** The reply's whole text, when it was longer than `storeAbove`: `content` then holds one text block with its preview. */
  storedText?: StoredText;
  /** The request's `messages`, stored as a history segment (with `storeMessages`). */
  messagesRef?: string;
}

export interface ToolInfo {
  name: string;
  description: string;
  timeoutMs: number;
}

export interface ToolCall {
  toolUseId: string;
  name: string;
  input: unknown;
  /** A result longer than this many characters comes back stored (`stored`). */
  storeAbove?: number;
}

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

export type BranchKind = 'llm' | 'tool';
export type BranchStatus = 'running' | 'ok' | 'error' | 'timeout';

/** One branch of a run: a model turn or a tool call, timed on the workflow clock. */
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
}

export interface RunTiming {
  /** Wall time of the whole run on the workflow clock. */
  totalMs: number;
  /** Sum over turns of the model call plus the slowest tool branch: what parallelism cannot remove. */
  criticalPathMs: number;
  /** What the same branches would take one after another. */
  sequentialMs: number;
}

export interface UsageSummary {
  total: TokenUsage;
  byModel: Record<string, TokenUsage>;
}
