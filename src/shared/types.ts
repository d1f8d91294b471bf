/**
 * Types shared by workflows, activities and the CLI.
 *
 * This module is imported by workflow code, so it must stay free of Node APIs and of any
 * runtime dependency: plain types and constants only. Message content mirrors the subset of the
 * Anthropic Messages API that Braid stores in workflow history (text, tool_use, tool_result).
 */

export type ModelRole = 'fast' | 'capable';

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface TextBlock {
  type: 'text';
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
}

export interface ToolCallResult {
  /** Tool output serialised for the model (JSON for structured outputs). */
  content: string;
  /** True when the tool ran and reported a failure the model should see. */
  isError: boolean;
  /** Set when the call ran out of time and was stopped (isError is then true too). */
  timedOut?: boolean;
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
}

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

export interface UsageSummary {
  total: TokenUsage;
  byModel: Record<string, TokenUsage>;
}
