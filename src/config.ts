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

const port = z.coerce.number().int().min(1).max(65535);
const positiveMs = z.coerce.number().int().positive();

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
  BRAID_TEMPORAL_PORT: port.default(7233),
  BRAID_TEMPORAL_UI_PORT: port.default(8233),
  BRAID_WEB_UI_URL: z.url().optional(),
  BRAID_LLM_REQUEST_TIMEOUT_MS: positiveMs.default(120_000),
  BRAID_STREAM_IDLE_TIMEOUT_MS: positiveMs.default(30_000),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
});

export type BraidConfig = ReturnType<typeof readConfig>;

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
  const dataDir = c.BRAID_DATA_DIR ?? path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'braid');
  return {
    anthropicApiKey: c.ANTHROPIC_API_KEY,
    anthropicBaseUrl: c.ANTHROPIC_BASE_URL,
    models: { fast: c.BRAID_FAST_MODEL, capable: c.BRAID_CAPABLE_MODEL },
    maxTokens: c.BRAID_MAX_TOKENS,
    simulatorUrl: c.BRAID_SIMULATOR_URL,
    taskQueue: c.BRAID_TASK_QUEUE,
    dataDir,
    filesDir: c.BRAID_FILES_DIR,
    temporalPort: c.BRAID_TEMPORAL_PORT,
    temporalUiPort: c.BRAID_TEMPORAL_UI_PORT,
    webUiUrl: c.BRAID_WEB_UI_URL,
    llmRequestTimeoutMs: c.BRAID_LLM_REQUEST_TIMEOUT_MS,
    streamIdleTimeoutMs: c.BRAID_STREAM_IDLE_TIMEOUT_MS,
    temporalCliPath: c.TEMPORAL_CLI_PATH,
  };
}

let cached: BraidConfig | undefined;

/** The process-wide configuration, parsed on first use. */
export function config(): BraidConfig {
  cached ??= readConfig();
  return cached;
}
