/**
 * Cost in every result (issue #13 §3): `braid ask`, `braid summarize` and `braid pipeline` run as a user runs them,
 * against the real server with the simulator as the model. A result's cost must equal its tokens ×
 * the price table, by model, and BRAID_MODEL_PRICES must change it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRICES } from '../src/shared/pricing';
import { braid, server } from './cli-helpers';

interface Tokens {
  inputTokens: number;
  outputTokens: number;
}
type Prices = Record<string, { input: number; output: number }>;
interface Cost {
  totalUsd: number;
  estimatedUsd: number;
  savedUsd: number;
  byModel: Record<string, Tokens & { cacheReadTokens: number; cacheWriteTokens: number; batch: number; usd: number }>;
}

/** Dollars by model computed here from the token counts alone, at the given prices. */
function expectedUsd(byModel: Record<string, Tokens>, prices: Prices): Record<string, number> {
  return Object.fromEntries(
    Object.entries(byModel).map(([model, u]) => {
      const p = prices[model] ?? prices[model.replace(/-\d{8}$/, '')];
      if (!p) throw new Error(`the test has no price for ${model}`);
      return [model, (u.inputTokens * p.input + u.outputTokens * p.output) / 1e6];
    }),
  );
}

function expectCostOf(cost: Cost, byModel: Record<string, Tokens>, prices: Prices): void {
  const want = expectedUsd(byModel, prices);
  expect(Object.keys(cost.byModel).sort()).toEqual(Object.keys(want).sort());
  for (const [model, usd] of Object.entries(want)) {
    const c = cost.byModel[model]!;
    expect(c.inputTokens).toBe(byModel[model]!.inputTokens);
    expect(c.outputTokens).toBe(byModel[model]!.outputTokens);
    expect(c).toMatchObject({ cacheReadTokens: 0, cacheWriteTokens: 0, batch: 0 });
    expect(c.usd).toBeCloseTo(usd, 7);
  }
  const total = Object.values(want).reduce((a, b) => a + b, 0);
  expect(total).toBeGreaterThan(0);
  expect(cost.totalUsd).toBeCloseTo(total, 7);
  expect(cost.estimatedUsd).toBe(0);
  expect(cost.savedUsd).toBe(0);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-cost-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const QUESTION = 'What is 26.2 miles in kilometres, and what does the handbook say about refunds for damaged items?';

describe('cost in results', () => {
  it('ask: cost equals tokens × the list prices, BRAID_MODEL_PRICES overrides them, and the summary line prints dollars', async () => {
    const env = server();
    const first = await braid(['ask', '--with-worker', '--json', QUESTION], env);
    expect(first.code, first.stderr).toBe(0);
    const r = JSON.parse(first.stdout);
    const models = Object.keys(r.usage.byModel);
    expect(models.length).toBeGreaterThan(0);
    expectCostOf(r.cost, r.usage.byModel, DEFAULT_PRICES);

    // A deployment's own price for the model that answered: 1000× the list price would be unmistakable.
    const custom: Prices = Object.fromEntries(models.map((m) => [m, { input: 1000, output: 3000 }]));
    const priced = await braid(['ask', '--with-worker', '--json', QUESTION], { ...env, BRAID_MODEL_PRICES: JSON.stringify(custom) });
    expect(priced.code, priced.stderr).toBe(0);
    const p = JSON.parse(priced.stdout);
    expectCostOf(p.cost, p.usage.byModel, custom);

    const human = await braid(['ask', '--with-worker', QUESTION], env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/tokens \d+ in \/ \d+ out · cost \$0\.\d+/);
  });

  it('summarize: cost equals tokens × the list prices, in total and for map and reduce', async () => {
    const env = { ...server(), BRAID_BLOB_DIR: path.join(tmp, 'blobs') };
    const run = await braid(
      ['summarize', 'data/docs', '--task', 'What does the handbook say about refunds?', '--with-worker', '--json', '--fresh'],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout);
    expect(Object.keys(r.costByPhase).sort()).toEqual(['map', 'reduce']);
    const byModel: Record<string, Tokens> = {};
    for (const phase of Object.values<Cost>(r.costByPhase)) {
      const tokens = Object.fromEntries(Object.entries(phase.byModel).map(([m, c]) => [m, c]));
      expectCostOf(phase, tokens, DEFAULT_PRICES);
      for (const [m, c] of Object.entries(tokens)) {
        const t = (byModel[m] ??= { inputTokens: 0, outputTokens: 0 });
        t.inputTokens += c.inputTokens;
        t.outputTokens += c.outputTokens;
      }
    }
    expectCostOf(r.cost, byModel, DEFAULT_PRICES);
    // Every token the run reports is priced: the cost covers all of the usage.
    const sum = (k: keyof Tokens) => Object.values(byModel).reduce((n, u) => n + u[k], 0);
    expect(sum('inputTokens')).toBe(r.usage.inputTokens);
    expect(sum('outputTokens')).toBe(r.usage.outputTokens);
  });
  it('pipeline: cost equals tokens × the list prices, in total and summed over its stages', async () => {
    const topics = path.join(tmp, 'topics.txt');
    fs.writeFileSync(topics, 'Tide pools\nWhy bread rises\n');
    const run = await braid(['pipeline', topics, '--concurrency', '2', '--with-worker', '--json'], server());
    expect(run.code, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout);
    // Tokens by model from the stages themselves: each records the model that answered it.
    const byModel: Record<string, Tokens> = {};
    for (const chain of r.chains as { stages?: { model?: string; usage: Tokens }[] }[])
      for (const st of chain.stages ?? []) {
        expect(st.model).toBeDefined();
        const t = (byModel[st.model!] ??= { inputTokens: 0, outputTokens: 0 });
        t.inputTokens += st.usage.inputTokens;
        t.outputTokens += st.usage.outputTokens;
      }
    expectCostOf(r.cost, byModel, DEFAULT_PRICES);
    const sum = (k: keyof Tokens) => Object.values(byModel).reduce((n, u) => n + u[k], 0);
    expect(sum('inputTokens')).toBe(r.usage.inputTokens);
    expect(sum('outputTokens')).toBe(r.usage.outputTokens);
    // The stages' costs add up to the run's, model by model.
    const phases = Object.values<Cost>(r.costByPhase ?? {});
    expect(phases.length).toBeGreaterThan(1);
    for (const model of Object.keys(byModel)) {
      const summed = phases.reduce((n, c) => n + (c.byModel[model]?.usd ?? 0), 0);
      expect(summed).toBeCloseTo(r.cost.byModel[model].usd, 7);
    }
  });
});
