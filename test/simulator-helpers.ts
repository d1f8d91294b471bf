// Shared plumbing for the simulator's API tests: a simulator per test with near-zero latency,
// closed after each test, and the real SDK pointed at it.
import Anthropic from '@anthropic-ai/sdk';
import { afterEach } from 'vitest';
import { Simulator, type SimulatorOptions } from '../src/simulator';

export const FAST = { ttftMs: 0, perTokenMs: 0 };

/** The fast model Braid defaults to; in the simulator's built-in model table. */
export const MODEL = 'claude-haiku-4-5';

const running: Simulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

export async function startSim(opts: SimulatorOptions = {}): Promise<{ sim: Simulator; client: Anthropic }> {
  const sim = await Simulator.start({ quiet: true, latency: FAST, ...opts });
  running.push(sim);
  return { sim, client: new Anthropic({ apiKey: 'sim', baseURL: sim.url, maxRetries: 0, logLevel: 'off' }) };
}

export async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

export const textOf = (m: Anthropic.Message): string => m.content.map((b) => (b.type === 'text' ? b.text : '')).join('');

export const ask = (
  content: string | Anthropic.ContentBlockParam[],
  extra: Partial<Anthropic.MessageCreateParamsNonStreaming> = {},
): Anthropic.MessageCreateParamsNonStreaming => ({
  model: MODEL,
  max_tokens: 1024,
  messages: [{ role: 'user', content }],
  ...extra,
});

/** Raw SSE events of a streamed request, in order, as parsed JSON. */
export async function rawEvents(
  client: Anthropic,
  params: Anthropic.MessageCreateParamsNonStreaming,
): Promise<Anthropic.RawMessageStreamEvent[]> {
  const stream = await client.messages.create({ ...params, stream: true });
  const events: Anthropic.RawMessageStreamEvent[] = [];
  for await (const e of stream) events.push(e);
  return events;
}
