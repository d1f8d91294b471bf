// The labelled fixture set and the error model built on it: the committed file is what its
// generator writes; registered with a simulator, each simulated model misclassifies exactly
// round(p·N) items (asked through the real SDK); different models' errors are independent by
// default and nest at correlation 1; outside a registered set errors still come at rate p.
import Anthropic from '@anthropic-ai/sdk';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simulator } from '../src/simulator';
import { fromJsonl, SUPPORT_TICKET_LABELS, supportTickets, toJsonl } from '../src/simulator/fixtures/support-tickets';
import { Mind } from '../src/simulator/mind';
import { planReply } from '../src/simulator/planner';
import type { LabelledSet } from '../src/simulator/types';

const FILE = path.join(__dirname, '..', 'data', 'fixtures', 'support-tickets.jsonl');
const set: LabelledSet = fromJsonl('support-tickets', fs.readFileSync(FILE, 'utf8'), [...SUPPORT_TICKET_LABELS]);
const N = set.items.length;

const prompt = (text: string): string =>
  `Classify this support ticket into one of: ${SUPPORT_TICKET_LABELS.join(', ')}. Answer with the label only.\n\nTicket: ${text}`;

const answer = (mind: Mind, model: string, text: string, extra = ''): string => {
  const r = planReply({ model, max_tokens: 50, messages: [{ role: 'user', content: `${prompt(text)}${extra}` }] }, mind);
  return r.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
};

const errorsOf = (mind: Mind, model: string, extra = ''): Set<string> =>
  new Set(set.items.filter((i) => answer(mind, model, i.text, extra) !== i.label).map((i) => i.id));

describe('the support-tickets fixture set', () => {
  it('is committed exactly as its generator writes it: 250 distinct items, 5 labels × 50', () => {
    expect(fs.readFileSync(FILE, 'utf8')).toBe(toJsonl(supportTickets()));
    expect(N).toBe(250);
    expect(new Set(set.items.map((i) => i.id)).size).toBe(N);
    expect(new Set(set.items.map((i) => i.text)).size).toBe(N);
    for (const label of SUPPORT_TICKET_LABELS) expect(set.items.filter((i) => i.label === label)).toHaveLength(50);
  });
});

describe('exact error rates on a registered set', () => {
  let sim: Simulator;
  let client: Anthropic;
  beforeAll(async () => {
    sim = await Simulator.start({
      quiet: true,
      latency: { ttftMs: 0, perTokenMs: 0 },
      datasets: [set],
      // Rows of the model table: one with its own error rate, one that is never wrong.
      models: { 'custom-model': { errorRate: 0.3 }, 'claude-sim-test': {} },
    });
    client = new Anthropic({ apiKey: 'sim', baseURL: sim.url, maxRetries: 0 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it.each([
    ['claude-haiku-4-5', 0.15],
    ['claude-sonnet-4-6', 0.08],
    ['claude-opus-4-5', 0.04],
    ['custom-model', 0.3],
    ['claude-sim-test', 0],
  ])('%s misclassifies exactly round(%d · 250) tickets', async (model, p) => {
    let errors = 0;
    for (const item of set.items) {
      const msg = await client.messages.create({ model, max_tokens: 50, messages: [{ role: 'user', content: prompt(item.text) }] });
      const label = msg.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
      expect(SUPPORT_TICKET_LABELS).toContain(label);
      if (label !== item.label) errors += 1;
    }
    expect(errors).toBe(Math.round(p * N));
  });
});

describe('how errors fall', () => {
  it('is independent between models by default and nested at correlation 1', () => {
    const models = { 'model-a': { errorRate: 0.2 }, 'model-b': { errorRate: 0.2 } };
    const overlap = (rho: number): number => {
      const mind = new Mind({ models, errorCorrelation: rho, datasets: [set] });
      const a = errorsOf(mind, 'model-a');
      const b = errorsOf(mind, 'model-b');
      expect(a.size).toBe(50);
      expect(b.size).toBe(50);
      return [...a].filter((id) => b.has(id)).length;
    };
    // Independent 50-of-250 subsets share 10 on average (sd ≈ 2.5); nested ones share all 50.
    const independent = overlap(0);
    expect(independent).toBeGreaterThanOrEqual(3);
    expect(independent).toBeLessThanOrEqual(18);
    expect(overlap(1)).toBe(50);
    expect(overlap(0.6)).toBeGreaterThan(independent);
  });

  it('is the same for the same seed and for an alias, different for another seed, and per sample of one model', () => {
    const a = errorsOf(new Mind({ seed: 1, datasets: [set] }), 'claude-haiku-4-5');
    expect(errorsOf(new Mind({ seed: 1, datasets: [set] }), 'claude-haiku-4-5')).toEqual(a);
    const other = errorsOf(new Mind({ seed: 2, datasets: [set] }), 'claude-haiku-4-5');
    expect(other.size).toBe(a.size);
    expect(other).not.toEqual(a);
    // A model's alias is the same model: the same mistakes under either name.
    expect(errorsOf(new Mind({ seed: 1, datasets: [set] }), 'claude-haiku-4-5-20251001')).toEqual(a);
    const sample = errorsOf(new Mind({ seed: 1, datasets: [set] }), 'claude-haiku-4-5', '\n#sim sample=2');
    expect(sample.size).toBe(a.size);
    expect(sample).not.toEqual(a);
  });

  it('judges candidate labels of a registered item by its label: wrong on exactly round(p·N) items, drawn apart from its labelling errors', () => {
    const mind = new Mind({ datasets: [set] });
    const model = 'claude-haiku-4-5';
    const verdictErrors = new Set<string>();
    for (const [i, item] of set.items.entries()) {
      // The item's label and another, in either order.
      const other = SUPPORT_TICKET_LABELS.find((l) => l !== item.label)!;
      const [a, b] = i % 2 === 0 ? [item.label, other] : [other, item.label];
      const r = planReply(
        {
          model,
          max_tokens: 200,
          messages: [
            {
              role: 'user',
              content: `Message:\n${item.text}\n\nAnswer A: ${a}\n\nAnswer B: ${b}\n\nWhich answer labels the message correctly?`,
            },
          ],
        },
        mind,
      );
      const verdict = /^Verdict: ([AB])/.exec(r.content.map((x) => (x.type === 'text' ? x.text : '')).join(''))?.[1];
      expect(verdict).toBeDefined();
      if ((verdict === 'A' ? a : b) !== item.label) verdictErrors.add(item.id);
    }
    expect(verdictErrors.size).toBe(Math.round(0.15 * N));
    const labelErrors = errorsOf(mind, model);
    const shared = [...verdictErrors].filter((id) => labelErrors.has(id)).length;
    // Two independent 38-of-250 subsets share about 6 (sd ≈ 2.2); the same subset would share 38.
    expect(shared).toBeLessThan(16);
  });

  it('falls back to a seeded per-item decision at rate p outside a registered set', () => {
    const mind = new Mind({ models: { 'model-c': { errorRate: 0.25 } } });
    const texts = set.items.flatMap((i) => [i.text, `${i.text} Thanks.`]);
    const labels = new Map(set.items.flatMap((i) => [[i.text, i.label] as const, [`${i.text} Thanks.`, i.label] as const]));
    const right = new Mind();
    // Right answers here come from the heuristic classifier, so compare with what an error-free model says.
    const wrong = texts.filter((t) => answer(mind, 'model-c', t) !== answer(right, 'error-free', t)).length;
    expect(labels.size).toBe(500);
    expect(wrong / texts.length).toBeGreaterThan(0.19);
    expect(wrong / texts.length).toBeLessThan(0.31);
  });
});
