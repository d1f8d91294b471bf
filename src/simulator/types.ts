// Types shared by the simulator's parts: the public configuration and ledger shapes that other
// Braid code (tests, benchmarks, the demo) programs against, and the subset of the Messages API
// request/response wire format the simulator understands. Kept free of runtime code so the
// planner and the HTTP layer can both depend on it without depending on each other.
import type { ModelPrice, PriceOverride } from '../shared/pricing';

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
  /** Latency of the simulated remote tool endpoint, per tool name (default 100; 300–900 for a search corpus). */
  tools?: Record<string, Dist>;
}

/** Per-minute budgets; an absent figure means unlimited. */
export interface RateLimitConfig {
  requestsPerMinute?: number;
  /** Input and output tokens together (the simulator's own combined budget). */
  tokensPerMinute?: number;
  /** Uncached input tokens plus cache writes, as the API counts its input-token limit; cache reads are free. */
  inputTokensPerMinute?: number;
  /** Output tokens: max_tokens is reserved at admission and the unused part returned when the answer ends. */
  outputTokensPerMinute?: number;
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
  /**
   * The models the simulator serves, merged over its built-in table (see models.ts): a new id adds a
   * model, a known id (or alias) overrides fields — limits, personality, latency, price. Requests
   * naming any other model get 404 not_found_error.
   */
  models?: Record<string, ModelConfig>;
  /** Message Batches timing (see batches.ts). */
  batches?: BatchConfig;
  /** Prompt-cache lifetimes, shortened for tests (see cache.ts). */
  promptCache?: PromptCacheConfig;
  /** 0..1 correlation of different models' errors (default 0: independent). */
  errorCorrelation?: number;
  /** Labelled sets on which each model makes exactly round(errorRate · N) errors (see mind.ts). */
  datasets?: LabelledSet[];
  /** Force wrong, invalid or slow answers on matching requests. */
  answerRules?: AnswerRule[];
  /**
   * Corpora the remote-tool endpoint searches, by tool name: POST /_sim/tools/<name> with
   * {"query", "limit"} answers with ranked pages (see web-search.ts). Each replaces the corpus of
   * that name; `web_search` (the simulated web, fixtures/web-pages.ts) is built in.
   */
  searchCorpora?: Record<string, { id: string; title: string; url?: string; text: string }[]>;
}

/** One row of the simulator's model table: what /v1/models reports and the limits requests are checked against. */
export interface ModelSpec {
  displayName: string;
  /** The highest `max_tokens` a request may ask for. */
  maxOutputTokens: number;
  /** Input plus output tokens the model can hold. */
  contextWindow: number;
  /** A cache breakpoint whose prefix is shorter than this caches nothing. */
  minCacheTokens: number;
  /** RFC 3339; the epoch where the release date is not known. */
  createdAt: string;
  /** Which `thinking.type` values the model accepts besides "disabled". */
  thinking: { enabled: boolean; adaptive: boolean };
  /** Other ids that name this model (an undated alias, a dated snapshot). */
  aliases: string[];
  // The model's personality: how good, how fast and how dear the simulated model is.
  /** 0..1: the share of decisions (a classification label, a judge's verdict) it gets wrong. */
  errorRate: number;
  /** 0..1: how much of the evidence an answer uses (sentences in a summary, reasons in a verdict). */
  quality: number;
  /** Latency used when the `latency` section configures none for the model and no global figure. */
  ttftMs?: Dist;
  perTokenMs?: Dist;
  /** USD per million tokens, for the ledger's `costUsd`; absent: unpriced, as Braid reports it. */
  price?: ModelPrice;
}

/** A model as configuration gives it: any fields of a row, the price in Braid's BRAID_MODEL_PRICES shape. */
export type ModelConfig = Partial<Omit<ModelSpec, 'price'>> & { price?: PriceOverride };

export interface BatchConfig {
  /** Time from creation until a batch's requests are all processed (default 2000 ms). */
  processingMs?: number;
  /** Time from creation until an unfinished batch expires (default 24 h, as the API documents). */
  expiresAfterMs?: number;
  /** How long a batch stays `canceling` after cancel (default 100 ms). */
  cancelMs?: number;
}

export interface PromptCacheConfig {
  /** Lifetime of a `ttl: "5m"` entry, refreshed on every read (default 5 minutes). */
  ttl5mMs?: number;
  /** Lifetime of a `ttl: "1h"` entry (default 1 hour). */
  ttl1hMs?: number;
}

export type LedgerOutcome = 'ok' | 'rate_limited' | 'invalid_request' | 'not_found' | 'unauthorized' | `fault:${FaultKind}`;

export interface LedgerEntry {
  seq: number;
  requestId: string;
  /** Epoch ms. */
  receivedAt: number;
  /** Epoch ms; 0 while the response is still open (a stalled request the client has not abandoned). */
  finishedAt: number;
  model: string;
  stream: boolean;
  /** Uncached input tokens (usage.input_tokens). */
  inputTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
  outputTokens: number;
  /** HTTP status sent (200 for a stream even if a mid-stream fault follows; 0 if nothing was sent). */
  status: number;
  outcome: LedgerOutcome;
  stopReason?: string;
  /** The stop sequence that ended the answer, when one did. */
  stopSequence?: string;
  toolUses: number;
  /** What the call costs at the model's price (ModelSpec.price), as Braid would charge it; absent when unpriced. */
  costUsd?: number;
}

// ---- Messages API wire format (the part the simulator reads and writes) ----

export interface CacheControl {
  type: 'ephemeral';
  ttl?: '5m' | '1h';
}

/** A citation as the API returns it on a text block (plain-text documents are cited by character range). */
export interface CharLocationCitation {
  type: 'char_location';
  cited_text: string;
  document_index: number;
  document_title: string | null;
  start_char_index: number;
  end_char_index: number;
  file_id: null;
}

export interface TextBlock {
  type: 'text';
  text: string;
  cache_control?: CacheControl;
  /** On a response block: where the text came from (documents with citations enabled). */
  citations?: CharLocationCitation[];
}

export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: Record<string, unknown>;
  cache_control?: CacheControl;
}

export interface ImageBlock {
  type: 'image';
  source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string } | { type: 'file'; file_id: string };
  cache_control?: CacheControl;
}

export type DocumentSource =
  | { type: 'text'; media_type: 'text/plain'; data: string }
  | { type: 'base64'; media_type: 'application/pdf'; data: string }
  | { type: 'content'; content: string | Array<TextBlock | ImageBlock> }
  | { type: 'url'; url: string }
  | { type: 'file'; file_id: string };

export interface DocumentBlock {
  type: 'document';
  source: DocumentSource;
  title?: string;
  context?: string;
  citations?: { enabled: boolean };
  cache_control?: CacheControl;
  /** Not on the wire: the document's plain text, filled in by the simulator (text and content sources, a PDF's text layer). */
  text?: string;
}

export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | Array<TextBlock | ImageBlock | DocumentBlock>;
  is_error?: boolean;
  cache_control?: CacheControl;
}

export interface ThinkingBlock {
  type: 'thinking';
  thinking: string;
  signature: string;
}

export interface RedactedThinkingBlock {
  type: 'redacted_thinking';
  data: string;
}

export type RequestBlock = TextBlock | ToolUseBlock | ToolResultBlock | ImageBlock | DocumentBlock | ThinkingBlock | RedactedThinkingBlock;
export type ResponseBlock = TextBlock | ToolUseBlock | ThinkingBlock;

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
  cache_control?: CacheControl;
}

export type ToolChoice = ({ type: 'auto' } | { type: 'any' } | { type: 'none' } | { type: 'tool'; name: string }) & {
  /** At most one tool_use block in the reply (auto: at most one; any/tool: exactly one). */
  disable_parallel_tool_use?: boolean;
};

export type ThinkingConfig =
  | { type: 'enabled'; budget_tokens: number; display?: 'summarized' | 'omitted' }
  | { type: 'adaptive'; display?: 'summarized' | 'omitted' }
  | { type: 'disabled' };

/** `output_config`: structured outputs (`format`) and effort. */
export interface OutputConfig {
  format?: { type: 'json_schema'; schema: JsonSchema & Record<string, unknown> };
  effort?: 'low' | 'medium' | 'high' | 'xhigh' | 'max';
}

/** A validated `POST /v1/messages` body. */
export interface MessagesRequest {
  model: string;
  /** 0 only pre-warms the prompt cache: the reply is empty. */
  max_tokens: number;
  messages: RequestMessage[];
  system?: string | TextBlock[];
  tools?: ToolDef[];
  tool_choice?: ToolChoice;
  stream?: boolean;
  stop_sequences?: string[];
  thinking?: ThinkingConfig;
  output_config?: OutputConfig;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  /** Automatic caching: a breakpoint on the last cacheable block. */
  cache_control?: CacheControl;
  metadata?: { user_id?: string };
}

export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence';

/** What the deterministic "model" decided to say. */
export interface PlannedReply {
  content: ResponseBlock[];
  stopReason: StopReason;
  outputTokens: number;
  /** Extra wait before the first token (a `#sim slow_ms=` directive or a slow answer rule). */
  delayMs?: number;
}
