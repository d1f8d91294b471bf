// Prompt caching, usage and token rate limits in the simulator, through the real SDK: what a
// breakpoint writes and a later request reads, the minimum cacheable length per model, entries
// that only exist once the writing response has begun, expiry, the TTL split, and the
// input/output token budgets with their headers.
import Anthropic, { BadRequestError, RateLimitError } from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { usdFor } from '../src/shared/pricing';
import { ask, caught, MODEL, rawEvents, startSim } from './simulator-helpers';

const sentence = (i: number): string => `Handbook rule ${i}: refunds for damaged items are paid within thirty days of the claim. `;
/** About `tokens` tokens of text (chars / 4), all different sentences. */
const longText = (tokens: number, from = 0): string => {
  let text = '';
  for (let i = from; text.length < tokens * 4; i++) text += sentence(i);
  return text.slice(0, tokens * 4);
};

const LONG = longText(5000); // above Haiku 4.5's 4,096-token minimum
const cachedSystem = (text = LONG, ttl?: '5m' | '1h'): Anthropic.TextBlockParam[] => [
  { type: 'text', text, cache_control: ttl ? { type: 'ephemeral', ttl } : { type: 'ephemeral' } },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function totalTokens(client: Anthropic, params: Anthropic.MessageCreateParamsNonStreaming): Promise<number> {
  const { max_tokens: _m, ...rest } = params;
  return (await client.messages.countTokens(rest)).input_tokens;
}

describe('prompt caching', () => {
  it('writes at a breakpoint, then reads it; the three input counts add up to count_tokens', async () => {
    const { sim, client } = await startSim();
    const first = ask('What is the refund window?', { system: cachedSystem() });
    const a = await client.messages.create(first);
    expect(a.usage).toMatchObject({
      cache_creation_input_tokens: 5000,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 5000, ephemeral_1h_input_tokens: 0 },
    });
    expect(a.usage.input_tokens + a.usage.cache_creation_input_tokens! + a.usage.cache_read_input_tokens!).toBe(
      await totalTokens(client, first),
    );

    const second = ask('Who pays for return shipping?', { system: cachedSystem() });
    const b = await client.messages.create(second);
    expect(b.usage).toMatchObject({
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 5000,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    });
    expect(b.usage.input_tokens).toBe(Math.ceil('Who pays for return shipping?'.length / 4));
    expect(b.usage.input_tokens + b.usage.cache_read_input_tokens!).toBe(await totalTokens(client, second));
    expect(sim.ledger().map((e) => [e.cacheCreationInputTokens, e.cacheReadInputTokens])).toEqual([
      [5000, 0],
      [0, 5000],
    ]);
    // Another model has its own cache.
    const other = await client.messages.create({ ...second, model: 'claude-sonnet-4-5' });
    expect(other.usage.cache_read_input_tokens).toBe(0);
    expect(other.usage.cache_creation_input_tokens).toBe(5000);
  });

  it('costs each call in the ledger as Braid prices it: list price, cache writes and reads', async () => {
    const { sim, client } = await startSim();
    const write = await client.messages.create(ask('What is the refund window?', { system: cachedSystem(LONG, '1h') }));
    const read = await client.messages.create(ask('What is the refund window?', { system: cachedSystem(LONG, '1h') }));
    expect(write.usage.cache_creation?.ephemeral_1h_input_tokens).toBe(5000);
    expect(read.usage.cache_read_input_tokens).toBe(5000);
    const billed = (u: Anthropic.Usage) =>
      usdFor(MODEL, {
        inputTokens: u.input_tokens,
        outputTokens: u.output_tokens,
        cacheReadTokens: u.cache_read_input_tokens ?? 0,
        cacheWriteTokens: u.cache_creation?.ephemeral_5m_input_tokens ?? 0,
        cacheWrite1hTokens: u.cache_creation?.ephemeral_1h_input_tokens ?? 0,
      });
    const [w, r] = sim.ledger();
    expect(w!.costUsd).toBe(billed(write.usage));
    expect(r!.costUsd).toBe(billed(read.usage));
    // Haiku 4.5: a 1-hour write at $2/MTok, a read at $0.10/MTok.
    expect(w!.costUsd! - r!.costUsd!).toBeCloseTo((5000 * (2 - 0.1)) / 1e6, 8);
  });

  it('caches nothing below the model’s minimum cacheable length', async () => {
    const { client } = await startSim();
    const system = cachedSystem(longText(2000));
    for (let i = 0; i < 2; i++) {
      const haiku = await client.messages.create(ask('Question?', { system }));
      expect([haiku.usage.cache_creation_input_tokens, haiku.usage.cache_read_input_tokens]).toEqual([0, 0]);
      expect(haiku.usage.input_tokens).toBeGreaterThan(2000);
    }
    // Sonnet 4.5's minimum is 1,024 tokens.
    await client.messages.create(ask('Question?', { system, model: 'claude-sonnet-4-5' }));
    expect((await client.messages.create(ask('Question?', { system, model: 'claude-sonnet-4-5' }))).usage.cache_read_input_tokens).toBe(
      2000,
    );
  });

  it('has no entry until the writing response has begun: requests sent together both write', async () => {
    const { client } = await startSim({ latency: { ttftMs: 300, perTokenMs: 0 } });
    const params = ask('Question?', { system: cachedSystem() });
    const [a, b] = await Promise.all([client.messages.create(params), client.messages.create(params)]);
    expect([a.usage.cache_creation_input_tokens, b.usage.cache_creation_input_tokens]).toEqual([5000, 5000]);
    expect((await client.messages.create(params)).usage.cache_read_input_tokens).toBe(5000);
  });

  it('writes no entry for a request that never began', async () => {
    const { client } = await startSim({ faults: [{ kind: 'stall', times: 1 }] });
    const params = ask('Question?', { system: cachedSystem() });
    await caught(client.messages.create(params, { timeout: 200 }));
    const after = await client.messages.create(params);
    expect(after.usage.cache_creation_input_tokens).toBe(5000);
  });

  it('expires entries after their TTL, counted from the last use', async () => {
    const { client } = await startSim({ promptCache: { ttl5mMs: 600 } });
    const params = ask('Question?', { system: cachedSystem() });
    expect((await client.messages.create(params)).usage.cache_creation_input_tokens).toBe(5000);
    await sleep(400);
    expect((await client.messages.create(params)).usage.cache_read_input_tokens).toBe(5000);
    // 800 ms after the write, but only 400 ms after the read that refreshed it.
    await sleep(400);
    expect((await client.messages.create(params)).usage.cache_read_input_tokens).toBe(5000);
    await sleep(900);
    const expired = await client.messages.create(params);
    expect([expired.usage.cache_read_input_tokens, expired.usage.cache_creation_input_tokens]).toEqual([0, 5000]);
  });

  it('splits writes by TTL, and refuses a 1h breakpoint after a 5m one', async () => {
    const { client } = await startSim();
    const tools: Anthropic.Tool[] = [
      {
        name: 'lookup',
        description: longText(4200, 1000),
        input_schema: { type: 'object', properties: { q: { type: 'string' } } },
        cache_control: { type: 'ephemeral', ttl: '1h' },
      },
    ];
    const toolTokens = Math.ceil(
      JSON.stringify({ name: 'lookup', description: tools[0]!.description, input_schema: tools[0]!.input_schema }).length / 4,
    );
    const msg = await client.messages.create(ask('Question?', { tools, system: cachedSystem(longText(2000)) }));
    expect(msg.usage.cache_creation).toEqual({ ephemeral_1h_input_tokens: toolTokens, ephemeral_5m_input_tokens: 2000 });
    expect(msg.usage.cache_creation_input_tokens).toBe(toolTokens + 2000);
    const wrongOrder = caught(
      client.messages.create(
        ask('Question?', { tools: [{ ...tools[0]!, cache_control: { type: 'ephemeral' } }], system: cachedSystem(LONG, '1h') }),
      ),
    );
    expect(((await wrongOrder) as BadRequestError).message).toMatch(/ttl '1h' must not come after one with ttl '5m'/);
  });

  it('caches a growing conversation with top-level cache_control, looking back for the last entry', async () => {
    const { client } = await startSim();
    const turn1: Anthropic.MessageParam[] = [{ role: 'user', content: `${LONG}\nSummarise the handbook.` }];
    const a = await client.messages.create({ model: MODEL, max_tokens: 200, cache_control: { type: 'ephemeral' }, messages: turn1 });
    const firstTotal = a.usage.cache_creation_input_tokens!;
    expect(a.usage.input_tokens).toBe(0); // the breakpoint is on the last block: everything was written
    const turn2: Anthropic.MessageParam[] = [
      ...turn1,
      { role: 'assistant', content: a.content as Anthropic.ContentBlockParam[] },
      { role: 'user', content: 'And shipping?' },
    ];
    const b = await client.messages.create({ model: MODEL, max_tokens: 200, cache_control: { type: 'ephemeral' }, messages: turn2 });
    expect(b.usage.cache_read_input_tokens).toBe(firstTotal);
    expect(b.usage.input_tokens).toBe(0);
    expect(b.usage.cache_creation_input_tokens! + b.usage.cache_read_input_tokens!).toBe(
      await totalTokens(client, { model: MODEL, max_tokens: 1, messages: turn2 }),
    );
  });

  it('keeps the tools and system cached when tool_choice changes, but not the conversation', async () => {
    const { client } = await startSim();
    const tools: Anthropic.Tool[] = [{ name: 'lookup', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }];
    const question = longText(4500, 5000);
    const params = (choice: Anthropic.ToolChoice): Anthropic.MessageCreateParamsNonStreaming => ({
      ...ask([{ type: 'text', text: question, cache_control: { type: 'ephemeral' } }], {
        tools,
        system: cachedSystem(),
        tool_choice: choice,
      }),
    });
    const a = await client.messages.create(params({ type: 'auto' }));
    const systemPrefix = a.usage.cache_creation_input_tokens! - 4500;
    expect((await client.messages.create(params({ type: 'auto' }))).usage.cache_read_input_tokens).toBe(systemPrefix + 4500);
    const changed = await client.messages.create(params({ type: 'any' }));
    expect(changed.usage.cache_read_input_tokens).toBe(systemPrefix);
    expect(changed.usage.cache_creation_input_tokens).toBe(4500);
  });

  it('allows four breakpoints at most', async () => {
    const { client } = await startSim();
    const block = (text: string): Anthropic.TextBlockParam => ({ type: 'text', text, cache_control: { type: 'ephemeral' } });
    const err = await caught(client.messages.create(ask([block('a'), block('b'), block('c'), block('d')], { system: [block('s')] })));
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).message).toMatch(/A maximum of 4 blocks with cache_control may be provided. Found 5./);
  });
});

describe('usage on the wire', () => {
  it('sends complete usage in message_start and cumulative totals in message_delta', async () => {
    const { client } = await startSim();
    const params = ask('What is the refund window?', { system: cachedSystem() });
    const json = await client.messages.create(params);
    const events = await rawEvents(client, { ...params, messages: [{ role: 'user', content: 'Another question?' }] });
    const start = events[0] as Anthropic.RawMessageStartEvent;
    expect(start.message.usage).toMatchObject({
      input_tokens: 5,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 5000,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      output_tokens: 1,
      service_tier: 'standard',
    });
    const delta = events.find((e): e is Anthropic.RawMessageDeltaEvent => e.type === 'message_delta')!;
    expect(Object.keys(delta.usage).sort()).toEqual([
      'cache_creation_input_tokens',
      'cache_read_input_tokens',
      'input_tokens',
      'output_tokens',
    ]);
    expect(delta.usage).toMatchObject({ input_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 5000 });
    expect(json.usage.service_tier).toBe('standard');
  });
});

describe('input and output token rate limits', () => {
  it('counts uncached input and cache writes against the input budget, but not cache reads', async () => {
    const { client } = await startSim({ rateLimits: { inputTokensPerMinute: 1000 }, models: { [MODEL]: { minCacheTokens: 100 } } });
    const system = cachedSystem(longText(600));
    const first = await client.messages.create(ask('Question?', { system })).withResponse();
    const h = first.response.headers;
    expect(h.get('anthropic-ratelimit-input-tokens-limit')).toBe('1000');
    expect(Number(h.get('anthropic-ratelimit-input-tokens-remaining'))).toBeLessThanOrEqual(1000 - 600);
    expect(Date.parse(h.get('anthropic-ratelimit-input-tokens-reset')!)).toBeGreaterThan(Date.now() - 1000);
    // Without a combined budget, tokens-* reports the tighter of the input and output budgets.
    expect(h.get('anthropic-ratelimit-tokens-limit')).toBe('1000');
    // A cache read costs nothing here; another 600 uncached tokens would not fit.
    expect((await client.messages.create(ask('Question?', { system }))).usage.cache_read_input_tokens).toBe(600);
    const err = await caught(client.messages.create(ask(longText(600, 50))));
    expect(err).toBeInstanceOf(RateLimitError);
    const headers = (err as RateLimitError).headers!;
    expect(Number(headers.get('anthropic-ratelimit-input-tokens-remaining'))).toBeLessThan(600);
    expect(Number(headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('reserves max_tokens against the output budget and returns the unused part when the answer ends', async () => {
    const { client } = await startSim({ rateLimits: { outputTokensPerMinute: 1000 }, latency: { ttftMs: 400, perTokenMs: 0 } });
    const long = client.messages.create(ask(`Write.\n#sim text=${'abcd'.repeat(50)}`, { max_tokens: 900 })).withResponse();
    await sleep(100);
    // While the first answer may still use 900 tokens, a second 900-token reservation does not fit.
    const refused = await caught(client.messages.create(ask('Write.', { max_tokens: 900 })));
    expect(refused).toBeInstanceOf(RateLimitError);
    expect((refused as RateLimitError).headers?.get('anthropic-ratelimit-output-tokens-limit')).toBe('1000');
    const { data, response } = await long;
    expect(Number(response.headers.get('anthropic-ratelimit-output-tokens-remaining'))).toBeLessThanOrEqual(100);
    expect(data.usage.output_tokens).toBe(50);
    // The 850 unused tokens came back.
    const next = await client.messages.create(ask('Write.', { max_tokens: 900 })).withResponse();
    expect(next.data.stop_reason).not.toBeNull();
  });
});
