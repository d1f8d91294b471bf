/** Adding up token usage (src/shared/usage.ts). */
import { describe, expect, it } from 'vitest';
import { addModelUsage, addUsage, noUsage, noUsageSummary, sumUsage } from '../src/shared/usage';

describe('usage', () => {
  it('adds in place, sums into a new object, and keeps a line per model', () => {
    const a = { inputTokens: 1, outputTokens: 2 };
    expect(addUsage(a, { inputTokens: 10, outputTokens: 20 })).toBe(a);
    expect(a).toEqual({ inputTokens: 11, outputTokens: 22 });
    expect(sumUsage([a, a, { inputTokens: 1, outputTokens: 0 }])).toEqual({ inputTokens: 23, outputTokens: 44 });
    expect(a).toEqual({ inputTokens: 11, outputTokens: 22 });
    expect(sumUsage([])).toEqual(noUsage());

    const s = noUsageSummary();
    addModelUsage(s, 'fast', { inputTokens: 5, outputTokens: 1 });
    addModelUsage(s, 'capable', { inputTokens: 7, outputTokens: 3 });
    addModelUsage(s, 'fast', { inputTokens: 1, outputTokens: 1 });
    expect(s).toEqual({
      total: { inputTokens: 13, outputTokens: 5 },
      byModel: { fast: { inputTokens: 6, outputTokens: 2 }, capable: { inputTokens: 7, outputTokens: 3 } },
    });
  });
});
