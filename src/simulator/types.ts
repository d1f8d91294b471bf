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
}

// ---- Messages API wire format (the part the simulator reads and writes) ----

export interface TextBlock {
  type: 'text';
  text: string;
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

export type RequestBlock = TextBlock | ToolUseBlock | ToolResultBlock;
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

export type ToolChoice = { type: 'auto' } | { type: 'any' } | { type: 'none' } | { type: 'tool'; name: string };

/** A validated `POST /v1/messages` body. */
export interface MessagesRequest {
  model: string;
  max_tokens: number;
  messages: RequestMessage[];
  system?: string | TextBlock[];
  tools?: ToolDef[];
  tool_choice?: ToolChoice;
  stream?: boolean;
}

export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens';

/** What the deterministic "model" decided to say. */
export interface PlannedReply {
  content: ResponseBlock[];
  stopReason: StopReason;
  outputTokens: number;
}
