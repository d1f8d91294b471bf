/**
 * Builds the Anthropic client a worker uses: the real API whenever ANTHROPIC_API_KEY is set,
 * otherwise Braid's model simulator — the one at BRAID_SIMULATOR_URL, or one started inside this
 * process. The SDK's own retries are off: Temporal owns retries, and stacking two retry layers
 * multiplies attempts and hides the provider's retry-after from the activity.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { BraidConfig } from './config';
import { Simulator } from './simulator';

export interface ModelClient {
  claude: Anthropic;
  simulated: boolean;
  /** Where requests go, for banners ("simulated model at http://…"). */
  endpoint: string;
  /** The simulator this process started, if any. */
  simulator?: Simulator;
  close(): Promise<void>;
}

export async function createModelClient(cfg: BraidConfig): Promise<ModelClient> {
  const common = { maxRetries: 0, timeout: cfg.llmRequestTimeoutMs } as const;
  if (cfg.anthropicApiKey) {
    const claude = new Anthropic({ ...common, apiKey: cfg.anthropicApiKey, baseURL: cfg.anthropicBaseUrl });
    return { claude, simulated: false, endpoint: cfg.anthropicBaseUrl ?? 'https://api.anthropic.com', close: async () => {} };
  }
  // The key is a placeholder the simulator ignores; it never leaves this machine.
  if (cfg.simulatorUrl) {
    const claude = new Anthropic({ ...common, apiKey: 'braid-simulator', baseURL: cfg.simulatorUrl });
    return { claude, simulated: true, endpoint: cfg.simulatorUrl, close: async () => {} };
  }
  const simulator = await Simulator.start({ quiet: true });
  const claude = new Anthropic({ ...common, apiKey: 'braid-simulator', baseURL: simulator.url });
  return { claude, simulated: true, endpoint: simulator.url, simulator, close: () => simulator.close() };
}
