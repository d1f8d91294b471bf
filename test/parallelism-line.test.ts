/** The CLI's summary line on what parallelism bought and cost (src/cli/render.ts, speculate.ts, ensemble.ts). */
import { describe, expect, it } from 'vitest';
import { ensembleLine } from '../src/cli/ensemble';
import { parallelismText } from '../src/cli/render';
import { speculationLine } from '../src/cli/speculate';
import type { ItemOutcome } from '../src/shared/ensemble';
import { emptyCost, usdFor } from '../src/shared/pricing';
import type { SpeculateResult } from '../src/shared/speculate';

describe('parallelism line', () => {
  it('says the time saved against one after another, and the extra spend when there is one', () => {
    expect(parallelismText({ branchMs: 5000, makespanMs: 2000 })).toBe(
      'parallelism saved 3000 ms against one after another (5000 ms of branches in 2000 ms)',
    );
    expect(parallelismText({ branchMs: 1000, makespanMs: 1000, extraUsd: 0.0025, extraOf: 'losers' })).toBe(
      'parallelism saved no time here (1000 ms of branches in 1000 ms) and cost $0.0025 extra in losers',
    );
  });

  it('speculation: the strategies that ran, and the losers’ spend as the extra', () => {
    const r: Pick<SpeculateResult, 'strategies' | 'cost' | 'winner'> = {
      winner: 'fast',
      cost: { ...emptyCost(), totalUsd: 0.004 },
      strategies: [
        { name: 'fast', status: 'won', startMs: 0, endMs: 3000, tokens: 10, costUsd: 0.001, estimated: false },
        { name: 'agent', status: 'lost-cancelled', startMs: 500, endMs: 3000, tokens: 10, costUsd: 0.003, estimated: true },
        { name: 'cache', status: 'not-started', tokens: 0, costUsd: 0, estimated: false },
      ] as SpeculateResult['strategies'],
    };
    expect(speculationLine(r)).toBe(
      'parallelism saved 2500 ms against one after another (5500 ms of branches in 3000 ms) and cost $0.003 extra in the speculative branches that lost',
    );
  });

  it('ensemble: the members’ times, and the spend beyond the cheapest member alone', () => {
    const usage = { inputTokens: 1000, outputTokens: 100 };
    const haiku = usdFor('claude-haiku-4-5', usage)!;
    const opus = usdFor('claude-opus-4-5', usage)!;
    const item = {
      votes: [
        { member: 0, model: 'claude-haiku-4-5', status: 'voted', startedAt: 1000, endedAt: 2000, usage },
        { member: 1, model: 'claude-opus-4-5', status: 'voted', startedAt: 1000, endedAt: 3000, usage },
      ],
      cost: { ...emptyCost(), totalUsd: haiku + opus },
    } as unknown as ItemOutcome;
    expect(ensembleLine(item, emptyCost())).toMatch(
      /^parallelism saved 1000 ms against one after another \(3000 ms of branches in 2000 ms\) and cost \$[0-9.]+ extra in members beyond the cheapest one$/,
    );
    expect(ensembleLine(item, emptyCost())).toContain(`cost $${Number(opus.toPrecision(3))} extra`);
  });
});
