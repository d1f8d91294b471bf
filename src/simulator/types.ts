// Types shared by the simulator's parts: the public configuration and ledger shapes that other
// Braid code (tests, benchmarks, the demo) programs against, and the subset of the Messages API
// request/response wire format the simulator understands. Kept free of runtime code so the
// planner and the HTTP layer can both depend on it without depending on each other.

/** A latency figure: a constant, or a distribution drawn from the simulator's seeded RNG. */
export type Dist =
  | number
  | { fixed: number }
  | { uniform: [number, number] }
  | { normal: { mean: number; sd: number } }
  | { lognormal: { median: number; sigma: number } };

export interface LatencyConfig {
  /** Time to first token (default `{ uniform: [150, 400] }`). */
  ttftMs?: Dist;
  /** Time per output token (default 4). */
  perTokenMs?: Dist;
  /** Per-model overrides, keyed by exact model name. */
  models?: Record<string, { ttftMs?: Dist; perTokenMs?: Dist }>;
  /** Latency of the simulated remote tool endpoint, per tool name (default 100). */
  tools?: Record<string, Dist>;
}

/** Per-minute budgets; an absent figure means unlimited. */
export interface RateLimitConfig {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
}

export type FaultKind = 'status' | 'stall' | 'reset' | 'malformed' | 'sse_error' | 'truncate';

export interface FaultRule {
  kind: FaultKind;
  /** For kind 'status': the HTTP status to answer with (500 when omitted; the JSON config requires it). */
  status?: number;
  /** Sets `retry-after` (seconds) on status faults. */
  retryAfterS?: number;
  /** Sets `retry-after-ms` on status faults. */
  retryAfterMs?: number;
  /** Probability 0..1 per matching request, drawn from the seeded RNG; default 1. */
  rate?: number;
  /** Fire at most this many times, then the rule is spent; default unlimited. */
  times?: number;
  /** `contains` is a substring of the request's text (system + all message text). */
  match?: { model?: string; contains?: string; stream?: boolean };
}

/**
 * A simulated model's personality. Names are matched exactly first, then by the longest key the
 * model name contains ("haiku" matches "claude-haiku-4-5"); built-in defaults cover haiku, sonnet
 * and opus (see personality.ts).
 */
export interface ModelProfile {
  /** 0..1: the share of decisions (a classification label, a judge's verdict) it gets wrong. */
  errorRate?: number;
  /** 0..1: how much of the evidence an answer uses (sentences in a summary, reasons in a verdict). */
  quality?: number;
  /** Latency used when `latency` configures none for the model and no global figure. */
  ttftMs?: Dist;
  perTokenMs?: Dist;
  /** USD per million tokens, for the ledger's `costUsd`. */
  price?: { inputPerMTok: number; outputPerMTok: number };
}

/** One item of a labelled set: the text a prompt will contain, and its right label. */
export interface LabelledItem {
  id: string;
  text: string;
  label: string;
}

/**
 * A labelled set registered with the simulator: a prompt containing one of its items' text is
 * answered with the item's label unless the model's error budget for the set picks that item, so
 * each model makes exactly round(errorRate · N) errors over the set.
 */
export interface LabelledSet {
  name: string;
  labels: string[];
  items: LabelledItem[];
}

export type AnswerMode = 'right' | 'wrong' | 'invalid';

/** Forces an answer's quality or speed for the requests it matches (same matching as faults). */
export interface AnswerRule {
  answer?: AnswerMode;
  /** Extra time before the first token. */
  slowMs?: number;
  /** 0..1 share of matching requests, chosen by a seeded hash of the request (default 1). */
  rate?: number;
  match?: { model?: string; contains?: string };
}

export interface SimulatorOptions {
  /** 0 / undefined = ephemeral. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 42; drives every random choice (latency draws, fault rates). */
  seed?: number;
  latency?: LatencyConfig;
  rateLimits?: RateLimitConfig;
  faults?: FaultRule[];
  /** When set, requests whose x-api-key differs get 401 authentication_error. */
  apiKey?: string;
  quiet?: boolean;
  /** Model personalities by name or name fragment (merged over the built-in ones). */
  models?: Record<string, ModelProfile>;
  /** 0..1 correlation of different models' errors (default 0: independent). */
  errorCorrelation?: number;
  datasets?: LabelledSet[];
  answerRules?: AnswerRule[];
}

export type LedgerOutcome = 'ok' | 'rate_limited' | 'invalid_request' | 'unauthorized' | `fault:${FaultKind}`;

export interface LedgerEntry {
  seq: number;
  requestId: string;
  /** Epoch ms. */
  receivedAt: number;
  /** Epoch ms; 0 while the response is still open (a stalled request the client has not abandoned). */
  finishedAt: number;
  model: string;
  stream: boolean;
  inputTokens: number;
  outputTokens: number;
  /** HTTP status sent (200 for a stream even if a mid-stream fault follows; 0 if nothing was sent). */
  status: number;
  outcome: LedgerOutcome;
  stopReason?: string;
  toolUses: number;
  /** Tokens at the model's configured price (see ModelProfile.price). */
  costUsd?: number;
}

// ---- Messages API wire format (the part the simulator reads and writes) ----

/** A citation of a text document, as the Messages API returns it for plain-text documents. */
export interface CharLocationCitation {
  type: 'char_location';
  cited_text: string;
  document_index: number;
  document_title: string | null;
  start_char_index: number;
  end_char_index: number;
}

export interface TextBlock {
  type: 'text';
  text: string;
  /** Only on answers drawn from documents with citations enabled. */
  citations?: CharLocationCitation[];
}

/** A `document` content block; the simulator reads the text of plain-text and content sources. */
export interface DocumentBlock {
  type: 'document';
  source: { type: 'text'; media_type: 'text/plain'; data: string } | { type: 'content'; content: string | TextBlock[] } | { type: string };
  title?: string | null;
  context?: string | null;
  citations?: { enabled?: boolean } | null;
}

export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: Record<string, unknown>;
}

export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | TextBlock[];
  is_error?: boolean;
}

export type RequestBlock = TextBlock | ToolUseBlock | ToolResultBlock | DocumentBlock;
export type ResponseBlock = TextBlock | ToolUseBlock;

export interface RequestMessage {
  role: 'user' | 'assistant';
  content: string | RequestBlock[];
}

/** The slice of JSON Schema the planner reads when it invents tool inputs. */
export interface JsonSchema {
  type?: string | string[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  minItems?: number;
  maxItems?: number;
  anyOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  items?: JsonSchema;
}

export interface ToolDef {
  name: string;
  description?: string;
  input_schema: JsonSchema;
}

export type ToolChoice = ({ type: 'auto' } | { type: 'any' } | { type: 'none' } | { type: 'tool'; name: string }) & {
  disable_parallel_tool_use?: boolean;
};

/** A validated `POST /v1/messages` body. */
export interface MessagesRequest {
  model: string;
  max_tokens: number;
  messages: RequestMessage[];
  system?: string | TextBlock[];
  tools?: ToolDef[];
  tool_choice?: ToolChoice;
  stream?: boolean;
  /** Structured outputs: the answer is JSON conforming to `format.schema`. */
  output_config?: { format?: { type: 'json_schema'; schema: JsonSchema } | null };
}

export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens';

/** What the deterministic "model" decided to say. */
export interface PlannedReply {
  content: ResponseBlock[];
  stopReason: StopReason;
  outputTokens: number;
  /** Extra wait before the first token (a `#sim slow_ms=` directive or a slow answer rule). */
  delayMs?: number;
}
