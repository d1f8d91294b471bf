/**
 * Braid's settings, read from the environment once and validated in one place.
 *
 * Temporal connection settings are deliberately not here: they follow Temporal's own conventions
 * (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS, config profiles) and are read by
 * `@temporalio/envconfig` in `temporal/connection.ts`, so the same CLI and worker work against the
 * local dev server, a self-hosted cluster or Temporal Cloud.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { priceTable } from './shared/pricing';

const port = z.coerce.number().int().min(1).max(65535);
const positiveMs = z.coerce.number().int().positive();
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export const DURATION_HINT = 'expected a duration such as 90s, 15m, 24h or 2d';

/** A duration such as 90s, 15m, 24h, 2d, or plain milliseconds, in ms; undefined unless it is one and longer than 0. */
export function parseDurationMs(text: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  const n = m ? Number(m[1]) * UNIT_MS[m[2] ?? 'ms']! : NaN;
  return n > 0 ? n : undefined;
}

const duration = z.string().transform((v, ctx) => {
  const n = parseDurationMs(v);
  if (n === undefined) ctx.addIssue({ code: 'custom', message: DURATION_HINT });
  return n ?? z.NEVER;
});

const otlpProtocol = z.enum(['http/protobuf', 'http/json', 'grpc'], { message: 'expected http/protobuf, http/json or grpc' });

const schema = z.object({
  ANTHROPIC_API_KEY: z.string().trim().min(1).optional(),
  ANTHROPIC_BASE_URL: z.url().optional(),
  BRAID_FAST_MODEL: z.string().min(1).default('claude-haiku-4-5'),
  BRAID_CAPABLE_MODEL: z.string().min(1).default('claude-sonnet-4-6'),
  BRAID_MAX_TOKENS: z.coerce.number().int().positive().default(1024),
  BRAID_SIMULATOR_URL: z.url().optional(),
  BRAID_TASK_QUEUE: z.string().min(1).default('braid'),
  BRAID_DATA_DIR: z.string().min(1).optional(),
  BRAID_FILES_DIR: z.string().min(1).optional(),
  BRAID_BLOB_DIR: z.string().min(1).optional(),
  BRAID_ANSWER_CACHE: z.string().min(1).optional(),
  BRAID_TEMPORAL_PORT: port.default(7233),
  // The worker serves Prometheus text (Temporal's worker metrics and Braid's) on this port; off when unset.
  BRAID_METRICS_PORT: port.optional(),
  BRAID_TEMPORAL_UI_PORT: port.default(8233),
  BRAID_WEB_UI_URL: z.url().optional(),
  BRAID_LLM_REQUEST_TIMEOUT_MS: positiveMs.default(120_000),
  BRAID_STREAM_IDLE_TIMEOUT_MS: positiveMs.default(30_000),
  BRAID_SEARCH_WEB_URL: z.url().optional(),
  BRAID_MCP_CONFIG: z.string().min(1).optional(),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  // braid publish: where reports go by default, the approval deadlines and the default decision.
  BRAID_PUBLISH_DB: z.string().min(1).optional(),
  BRAID_PUBLISH_REMIND_AFTER: duration.default(24 * 3_600_000),
  BRAID_PUBLISH_DECIDE_WITHIN: duration.default(72 * 3_600_000),
  BRAID_PUBLISH_DEFAULT_DECISION: z.enum(['reject', 'approve']).default('reject'),
  BRAID_PUBLISH_REVIEWERS: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    ),
  BRAID_REVIEWER: z.string().trim().min(1).optional(),
  // braid actor: the versioned store agents share state through, when REDIS_URL is not set.
  BRAID_SHARED_DB: z.string().min(1).optional(),
  // Flow control (src/flow): shared rate limiter, jittered retries, circuit breakers.
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'expected redis://… or rediss://…')
    .optional(),
  BRAID_LLM_REQUESTS_PER_MINUTE: z.coerce.number().positive().optional(),
  BRAID_LLM_TOKENS_PER_MINUTE: z.coerce.number().positive().optional(),
  BRAID_LLM_MODEL_LIMITS: z
    .string()
    .optional()
    .transform((v, ctx) => parseJsonSetting(v, ctx, modelLimits, '{"<model>":{"requestsPerMinute":N,"tokensPerMinute":N}}')),
  // Dollars per million tokens, on top of the built-in list prices (src/shared/pricing.ts).
  BRAID_MODEL_PRICES: z
    .string()
    .optional()
    .transform((v, ctx) => parseJsonSetting(v, ctx, modelPrices, '{"<model>":{"input":N,"output":N}}')),
  BRAID_LIMIT_BURST_MS: positiveMs.default(1000),
  BRAID_LIMIT_MAX_WAIT_MS: positiveMs.default(20_000),
  BRAID_RETRY_BASE_MS: positiveMs.default(1000),
  BRAID_RETRY_MAX_MS: positiveMs.default(30_000),
  BRAID_TOOL_RETRY_BASE_MS: positiveMs.default(250),
  BRAID_BREAKER_FAILURES: z.coerce.number().int().positive().default(5),
  BRAID_BREAKER_WINDOW_MS: positiveMs.default(30_000),
  BRAID_BREAKER_COOLDOWN_MS: positiveMs.default(15_000),
  BRAID_LLM_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(6),
  BRAID_LLM_OUTAGE_BUDGET: duration.default(15 * 60_000),
  BRAID_LLM_QUEUE_ACTIVITIES_PER_SECOND: z.coerce.number().positive().optional(),
  // OpenTelemetry traces (src/telemetry): the standard OTel variables; without an endpoint, no tracing at all.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol.optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol.optional(),
  OTEL_TRACES_EXPORTER: z.string().optional(),
  OTEL_SDK_DISABLED: z.string().optional(),
  // Payload encryption (src/encryption): one key, or a key-ring file (newest first); the codec server for the Web UI.
  BRAID_ENCRYPTION_KEY: z.string().trim().min(1).optional(),
  BRAID_ENCRYPTION_KEYS_FILE: z.string().min(1).optional(),
  BRAID_CODEC_PORT: port.default(8234),
  BRAID_CODEC_TOKEN: z.string().trim().min(16, 'expected at least 16 characters').optional(),
  // Shared blob storage (src/blobs/s3-store.ts): an S3-compatible bucket instead of BRAID_BLOB_DIR,
  // with the standard AWS settings (unset credentials: the SDK's own chain, e.g. a role or ~/.aws).
  BRAID_BLOB_URL: z
    .string()
    .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, 'expected s3://<bucket>/<prefix>, e.g. s3://braid-blobs/prod')
    .optional(),
  AWS_REGION: z.string().min(1).optional(),
  AWS_ENDPOINT_URL_S3: z.url().optional(),
  AWS_ENDPOINT_URL: z.url().optional(),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_SESSION_TOKEN: z.string().min(1).optional(),
  // braid summarize --batch: the first wait before checking the Message Batches, and the longest.
  BRAID_BATCH_POLL: duration.default(30_000),
  BRAID_BATCH_MAX_POLL: duration.default(5 * 60_000),
});

const modelLimits = z.record(
  z.string().min(1),
  z.object({ requestsPerMinute: z.number().positive().optional(), tokensPerMinute: z.number().positive().optional() }).strict(),
);

const usdPerMTok = z.number().nonnegative();
/** One model's price as BRAID_MODEL_PRICES gives it (also the simulator's `models.<id>.price`). */
export const priceOverride = z
  .object({
    input: usdPerMTok,
    output: usdPerMTok,
    cacheWrite5m: usdPerMTok.optional(),
    cacheWrite1h: usdPerMTok.optional(),
    cacheRead: usdPerMTok.optional(),
    batchFactor: z.number().positive().max(1).optional(),
  })
  .strict();
const modelPrices = z.record(z.string().min(1), priceOverride);

/**
 * A setting holding JSON, e.g. BRAID_LLM_MODEL_LIMITS={"claude-haiku-4-5":{"requestsPerMinute":50}}
 * or BRAID_MODEL_PRICES={"my-model":{"input":0.5,"output":2}}.
 */
function parseJsonSetting<T>(v: string | undefined, ctx: z.RefinementCtx, schema: z.ZodType<T>, shape: string): T | undefined {
  if (v === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(v));
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0]!;
    ctx.addIssue({ code: 'custom', message: `expected ${shape}: ${issue.path.join('.')}${issue.path.length ? ': ' : ''}${issue.message}` });
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
  }
  return z.NEVER;
}

/** Braid's settings as `readConfig` returns them (models, limits, timeouts, flow control, publish defaults). */
export type BraidConfig = ReturnType<typeof readConfig>;

/** A setting that does not parse; the message names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parse the environment; a bad value fails fast with the variable's name. */
export function readConfig(env: NodeJS.ProcessEnv = process.env) {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`invalid setting ${String(issue.path[0])}: ${issue.message}`);
  }
  const c = parsed.data;
  const dataDir = c.BRAID_DATA_DIR ?? path.join(env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'braid');
  return {
    anthropicApiKey: c.ANTHROPIC_API_KEY,
    anthropicBaseUrl: c.ANTHROPIC_BASE_URL,
    models: { fast: c.BRAID_FAST_MODEL, capable: c.BRAID_CAPABLE_MODEL },
    /** USD per million tokens by model: list prices, with BRAID_MODEL_PRICES on top. */
    prices: priceTable(c.BRAID_MODEL_PRICES),
    maxTokens: c.BRAID_MAX_TOKENS,
    simulatorUrl: c.BRAID_SIMULATOR_URL,
    taskQueue: c.BRAID_TASK_QUEUE,
    dataDir,
    filesDir: c.BRAID_FILES_DIR,
    blobDir: c.BRAID_BLOB_DIR ?? path.join(dataDir, 'blobs'),
    /** BRAID_BLOB_URL: one S3-compatible store for every host (instead of blobDir); see src/blobs/open.ts. */
    blobUrl: c.BRAID_BLOB_URL ? parseBlobUrl(c.BRAID_BLOB_URL) : undefined,
    s3: {
      region: c.AWS_REGION ?? 'us-east-1',
      endpoint: c.AWS_ENDPOINT_URL_S3 ?? c.AWS_ENDPOINT_URL,
      credentials:
        c.AWS_ACCESS_KEY_ID && c.AWS_SECRET_ACCESS_KEY
          ? { accessKeyId: c.AWS_ACCESS_KEY_ID, secretAccessKey: c.AWS_SECRET_ACCESS_KEY, sessionToken: c.AWS_SESSION_TOKEN }
          : undefined,
    },
    /** `braid ask --speculate`'s answer cache (SQLite). */
    answerCache: c.BRAID_ANSWER_CACHE ?? path.join(dataDir, 'answers.db'),
    temporalPort: c.BRAID_TEMPORAL_PORT,
    /** Where a worker serves Prometheus metrics (all interfaces); undefined: no metrics endpoint. */
    metricsPort: c.BRAID_METRICS_PORT,
    temporalUiPort: c.BRAID_TEMPORAL_UI_PORT,
    webUiUrl: c.BRAID_WEB_UI_URL,
    llmRequestTimeoutMs: c.BRAID_LLM_REQUEST_TIMEOUT_MS,
    streamIdleTimeoutMs: c.BRAID_STREAM_IDLE_TIMEOUT_MS,
    /** braid search's `web` source; default: the simulator's search endpoint when the model is simulated. */
    searchWebUrl: c.BRAID_SEARCH_WEB_URL,
    temporalCliPath: c.TEMPORAL_CLI_PATH,
    /** A JSON file of MCP servers whose tools the worker offers beside its own (src/tools/mcp-config.ts). */
    mcpConfig: c.BRAID_MCP_CONFIG,
    publish: {
      db: c.BRAID_PUBLISH_DB ?? path.join(dataDir, 'publish.db'),
      remindAfterMs: c.BRAID_PUBLISH_REMIND_AFTER,
      decideWithinMs: c.BRAID_PUBLISH_DECIDE_WITHIN,
      defaultDecision: c.BRAID_PUBLISH_DEFAULT_DECISION,
      reviewers: c.BRAID_PUBLISH_REVIEWERS,
      /** Who `braid approve` / `braid reject` decide as; default: the user name. */
      reviewer: c.BRAID_REVIEWER,
    },
    /** Payload encryption: a base64 key or a key-ring file (src/encryption/keys.ts); neither: off. */
    encryption: {
      key: c.BRAID_ENCRYPTION_KEY,
      keysFile: c.BRAID_ENCRYPTION_KEYS_FILE,
      /** `braid codec-server`'s port, and the endpoint `braid server start` gives the Web UI. */
      codecPort: c.BRAID_CODEC_PORT,
      /** A bearer token `braid codec-server` requires of every caller. */
      codecToken: c.BRAID_CODEC_TOKEN,
    },
    /** `braid summarize --batch`: how often the Message Batches are checked (the wait doubles from poll to maxPoll). */
    batch: { pollMs: c.BRAID_BATCH_POLL, maxPollMs: Math.max(c.BRAID_BATCH_POLL, c.BRAID_BATCH_MAX_POLL) },
    /** Where agents' shared state lives without REDIS_URL (with it, in Redis). */
    sharedDb: c.BRAID_SHARED_DB ?? path.join(dataDir, 'shared-state.db'),
    flow: {
      redisUrl: c.REDIS_URL,
      limits: { requestsPerMinute: c.BRAID_LLM_REQUESTS_PER_MINUTE, tokensPerMinute: c.BRAID_LLM_TOKENS_PER_MINUTE },
      modelLimits: c.BRAID_LLM_MODEL_LIMITS,
      burstMs: c.BRAID_LIMIT_BURST_MS,
      maxWaitMs: c.BRAID_LIMIT_MAX_WAIT_MS,
      llmBackoff: { baseMs: c.BRAID_RETRY_BASE_MS, maxMs: c.BRAID_RETRY_MAX_MS },
      toolBackoff: { baseMs: c.BRAID_TOOL_RETRY_BASE_MS, maxMs: c.BRAID_RETRY_MAX_MS },
      breaker: { failures: c.BRAID_BREAKER_FAILURES, windowMs: c.BRAID_BREAKER_WINDOW_MS, cooldownMs: c.BRAID_BREAKER_COOLDOWN_MS },
      /** Model calls: failed attempts allowed, and how long one call waits out an unavailable endpoint. */
      attempts: { maxAttempts: c.BRAID_LLM_MAX_ATTEMPTS, outageBudgetMs: c.BRAID_LLM_OUTAGE_BUDGET },
      llmQueueActivitiesPerSecond: c.BRAID_LLM_QUEUE_ACTIVITIES_PER_SECOND,
    },
    /** Where OpenTelemetry traces go (OTLP over HTTP or gRPC); undefined: tracing is off. */
    traces: otlpTraces(c),
  };
}

/**
 * The OTLP traces endpoint the standard variables name: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given,
 * else OTEL_EXPORTER_OTLP_ENDPOINT — over HTTP with `/v1/traces` added, over gRPC as it is (the
 * service path is gRPC's); off with OTEL_SDK_DISABLED=true or an OTEL_TRACES_EXPORTER that does not
 * list `otlp` (e.g. `none`).
 */
function otlpTraces(c: z.infer<typeof schema>): { url: string; protocol: 'http/protobuf' | 'http/json' | 'grpc' } | undefined {
  if (c.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  if (c.OTEL_TRACES_EXPORTER !== undefined && !c.OTEL_TRACES_EXPORTER.split(',').some((e) => e.trim() === 'otlp')) return undefined;
  const protocol = c.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? c.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  const base = c.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, '');
  const url = c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base && (protocol === 'grpc' ? base : `${base}/v1/traces`));
  if (!url) return undefined;
  return { url, protocol };
}

/** `s3://bucket/some/prefix` → bucket and key prefix (`some/prefix/`, or '' for the bucket's root). */
function parseBlobUrl(url: string): { url: string; bucket: string; prefix: string } {
  const rest = url.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
  return { url: `s3://${bucket}${prefix ? `/${prefix}` : ''}`, bucket, prefix: prefix ? `${prefix}/` : '' };
}

let cached: BraidConfig | undefined;

/** The process-wide configuration, parsed on first use. */
export function config(): BraidConfig {
  cached ??= readConfig();
  return cached;
}
