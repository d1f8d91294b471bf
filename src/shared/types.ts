/**
 * Types shared by workflows, activities and the CLI.
 *
 * This module is imported by workflow code, so it must stay free of Node APIs and of any
 * runtime dependency: plain types and constants only. Message content mirrors the subset of the
 * Anthropic Messages API that Braid stores in workflow history (text, tool_use, tool_result).
 */

export type ModelRole = 'fast' | 'capable';

/** Tokens one model call (or a sum of calls) used. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/** Text in a message. */
export interface TextBlock {
  type: 'text';
  text: string;
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
}

/** The parts of a message Braid keeps in history: text, tool calls and tool results. */
export type ContentBlock = TextBlock | ToolUseBlock | ToolResultBlock;

/** One turn of a conversation with the model. */
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
}

/** A tool as the worker offers it: name, description and time budget. */
export interface ToolInfo {
  name: string;
  description: string;
  timeoutMs: number;
}

/** One tool call for the tool activity: which tool, with what input, answering which `tool_use` id. */
export interface ToolCall {
  toolUseId: string;
  name: string;
  input: unknown;
}

/** A tool call's outcome: its content for the model, and whether it is an error or ran out of time. */
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

/** A run's wall time beside what its branches would take one after another, and its critical path. */
export interface RunTiming {
  /** Wall time of the whole run on the workflow clock. */
  totalMs: number;
  /** Sum over turns of the model call plus the slowest tool branch: what parallelism cannot remove. */
  criticalPathMs: number;
  /** What the same branches would take one after another. */
  sequentialMs: number;
}

/** Tokens a run used, in total and per model. */
export interface UsageSummary {
  total: TokenUsage;
  byModel: Record<string, TokenUsage>;
}
