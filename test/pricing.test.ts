import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../src/config';
import { worstCaseUsd } from '../src/shared/budget';
import { addCall, DEFAULT_PRICES, emptyCost, formatUsd, mergeCosts, priceOf, priceTable, usdFor } from '../src/shared/pricing';

describe('price table', () => {
  it('prices the models Braid names by default, and dated ids by their alias', () => {
    const cfg = readConfig({});
    for (const model of Object.values(cfg.models)) expect(priceOf(model, cfg.prices), model).toBeDefined();
    expect(priceOf('claude-haiku-4-5-20251001')).toEqual(DEFAULT_PRICES['claude-haiku-4-5']);
    expect(priceOf('some-unknown-model')).toBeUndefined();
  });

  it('turns usage into dollars: input, output, cache writes and reads each at their own price', () => {
    // claude-sonnet-4-6: $3 in, $15 out, $3.75 5-minute write, $6 1-hour write, $0.30 read per MTok.
    expect(usdFor('claude-sonnet-4-6', { inputTokens: 1_000_000, outputTokens: 0 })).toBe(3);
    expect(usdFor('claude-sonnet-4-6', { inputTokens: 0, outputTokens: 1_000_000 })).toBe(15);
    expect(
      usdFor('claude-sonnet-4-6', {
        inputTokens: 2000,
        outputTokens: 500,
        cacheReadTokens: 10_000,
        cacheWriteTokens: 4000,
        cacheWrite1hTokens: 1000,
      }),
    ).toBe((2000 * 3 + 500 * 15 + 10_000 * 0.3 + 4000 * 3.75 + 1000 * 6) / 1e6);
    expect(usdFor('claude-haiku-4-5', { inputTokens: 1_000_000, outputTokens: 1_000_000 }, { batch: true })).toBe(3); // (1 + 5) / 2
    expect(usdFor('nobody-knows', { inputTokens: 10, outputTokens: 10 })).toBeUndefined();
  });

  it('takes overrides from BRAID_MODEL_PRICES, deriving cache prices by the published multipliers', () => {
    const cfg = readConfig({
      BRAID_MODEL_PRICES: '{"my-model":{"input":2,"output":8},"claude-haiku-4-5":{"input":0.5,"output":2.5,"cacheRead":0.01}}',
    });
    expect(priceOf('my-model', cfg.prices)).toEqual({
      input: 2,
      output: 8,
      cacheWrite5m: 2.5,
      cacheWrite1h: 4,
      cacheRead: 0.2,
      batchFactor: 0.5,
    });
    expect(priceOf('claude-haiku-4-5', cfg.prices)?.cacheRead).toBe(0.01);
    expect(priceOf('claude-sonnet-4-6', cfg.prices)).toEqual(DEFAULT_PRICES['claude-sonnet-4-6']);
    expect(priceTable()).toEqual(DEFAULT_PRICES);
  });

  it('refuses a bad BRAID_MODEL_PRICES with the variable name and what is wrong', () => {
    expect(() => readConfig({ BRAID_MODEL_PRICES: 'nope' })).toThrow(/BRAID_MODEL_PRICES: not valid JSON/);
    expect(() => readConfig({ BRAID_MODEL_PRICES: '{"m":{"input":1}}' })).toThrow(ConfigError);
    expect(() => readConfig({ BRAID_MODEL_PRICES: '{"m":{"input":-1,"output":1}}' })).toThrow(/BRAID_MODEL_PRICES: expected .*m\.input/);
    expect(() => readConfig({ BRAID_MODEL_PRICES: '{"m":{"input":1,"output":1,"perCall":3}}' })).toThrow(ConfigError);
  });
});

describe('cost summaries', () => {
  it('adds calls per model, marks estimated spend, and reports what caching and batching saved', () => {
    const c = emptyCost();
    expect(addCall(c, 'claude-sonnet-4-6', { inputTokens: 1000, outputTokens: 200 })).toBe(0.006);
    // A cache hit: 9,000 tokens read at $0.30 instead of $3 saves 9,000 × $2.70 / 1e6.
    addCall(c, 'claude-sonnet-4-6', { inputTokens: 1000, outputTokens: 200, cacheReadTokens: 9000 });
    addCall(c, 'claude-haiku-4-5', { inputTokens: 4000, outputTokens: 1000 }, { batch: true });
    addCall(c, 'claude-haiku-4-5', { inputTokens: 100, outputTokens: 50 }, { estimated: true });
    expect(c.byModel['claude-sonnet-4-6']).toEqual({
      inputTokens: 2000,
      outputTokens: 400,
      cacheReadTokens: 9000,
      cacheWriteTokens: 0,
      batch: 0,
      usd: 0.0147,
    });
    expect(c.byModel['claude-haiku-4-5']).toMatchObject({ inputTokens: 4100, outputTokens: 1050, batch: 1 });
    expect(c.estimatedUsd).toBe(0.00035);
    expect(c.savedUsd).toBe(0.0288); // the cache read saved 0.0243, the batch half of $0.009
    expect(c.totalUsd).toBe(0.01955); // 0.0147 + 0.0045 + 0.00035
    expect(c.unpriced).toBeUndefined();
  });

  it('counts a cache write as costing more than plain input, not as a saving', () => {
    const c = emptyCost();
    addCall(c, 'claude-haiku-4-5', { inputTokens: 0, outputTokens: 0, cacheWriteTokens: 1_000_000 });
    expect(c.totalUsd).toBe(1.25);
    expect(c.savedUsd).toBe(-0.25);
  });

  it('keeps the tokens of an unpriced model and says it is unpriced instead of calling it free', () => {
    const c = emptyCost();
    expect(addCall(c, 'local-llama', { inputTokens: 10, outputTokens: 5 })).toBeUndefined();
    expect(c.byModel['local-llama']).toMatchObject({ inputTokens: 10, outputTokens: 5, usd: 0 });
    expect(c.unpriced).toEqual(['local-llama']);
    expect(c.totalUsd).toBe(0);
  });

  it('merges summaries (children, continue-as-new segments) without losing a cent', () => {
    const parts = Array.from({ length: 1000 }, () => {
      const c = emptyCost();
      addCall(c, 'claude-haiku-4-5', { inputTokens: 123, outputTokens: 45 });
      return c;
    });
    const all = mergeCosts(...parts);
    expect(all.byModel['claude-haiku-4-5']).toMatchObject({ inputTokens: 123_000, outputTokens: 45_000 });
    expect(all.totalUsd).toBe(usdFor('claude-haiku-4-5', { inputTokens: 123_000, outputTokens: 45_000 }));
  });

  it('formats dollars for people', () => {
    expect(formatUsd(0)).toBe('$0');
    expect(formatUsd(12.3456)).toBe('$12.35');
    expect(formatUsd(0.012345)).toBe('$0.0123');
    expect(formatUsd(0.0005)).toBe('$0.0005');
  });
});

describe('a budget reservation', () => {
  it('covers a call whose whole input is written to the prompt cache, at the cache-write price', () => {
    // An agent's turns mark their conversation for the cache: every input token may be billed as a 5-minute write.
    for (const model of Object.keys(DEFAULT_PRICES)) {
      const reserved = worstCaseUsd(model, 10_000, 1000)!;
      const billed = usdFor(model, { inputTokens: 0, cacheWriteTokens: 10_000, outputTokens: 1000 })!;
      expect(reserved, model).toBeGreaterThanOrEqual(billed);
    }
  });
});
