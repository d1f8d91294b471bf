/**
 * The Anthropic client a worker's model activity uses: Claude whenever ANTHROPIC_API_KEY is set,
 * otherwise Braid's model simulator at BRAID_SIMULATOR_URL. The SDK's own retries are off: Temporal
 * owns retries, and stacking two retry layers multiplies attempts and hides the provider's
 * retry-after from the activity.
 *
 * Starting a simulator inside the process when neither is set is the CLI's fallback
 * (src/worker.ts), not the library's: the simulator and its dependencies are not part of the
 * package a user's worker installs.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { BraidConfig } from './config';

/** The model endpoint a worker calls, and whether it is Claude or Braid's simulator. */
export interface ModelClient {
  /** The Anthropic SDK client; built with `maxRetries: 0`, because Temporal retries model calls. */
  claude: Anthropic;
  /** True when the endpoint is Braid's model simulator; results say so (`LlmResult.simulated`). */
  simulated: boolean;
  /** Where requests go, for banners ("simulated model at http://…"). */
  endpoint: string;
  /** Releases what the client holds (a simulator the process started); a no-op otherwise. */
  close(): Promise<void>;
}

/**
 * The Anthropic SDK's own span of each request (a child of Braid's model-call span when tracing is on,
 * src/telemetry) carries metadata only, whatever ANTHROPIC_OPEN_TELEMETRY_* say: prompts and answers
 * never go to telemetry.
 */
const SDK_TRACES = { traces: { enabled: true, contentMode: 'metadata_only' } } as const;

/** A client for Braid's model simulator at `url` (an Anthropic-compatible endpoint; the API key is a placeholder it ignores). */
export function simulatorModel(url: string, requestTimeoutMs?: number): ModelClient {
  const claude = new Anthropic({
    apiKey: 'braid-simulator',
    baseURL: url,
    maxRetries: 0,
    timeout: requestTimeoutMs,
    openTelemetry: SDK_TRACES,
  });
  return { claude, simulated: true, endpoint: url, close: async () => {} };
}

/** The model client the settings name — Claude with ANTHROPIC_API_KEY, else BRAID_SIMULATOR_URL — or undefined when neither is set. */
export function modelClientFor(cfg: BraidConfig): ModelClient | undefined {
  if (cfg.anthropicApiKey) {
    const claude = new Anthropic({
      apiKey: cfg.anthropicApiKey,
      baseURL: cfg.anthropicBaseUrl,
      maxRetries: 0,
      timeout: cfg.llmRequestTimeoutMs,
      openTelemetry: SDK_TRACES,
    });
    return { claude, simulated: false, endpoint: cfg.anthropicBaseUrl ?? 'https://api.anthropic.com', close: async () => {} };
  }
  return cfg.simulatorUrl ? simulatorModel(cfg.simulatorUrl, cfg.llmRequestTimeoutMs) : undefined;
}
