/** `braid summarize`'s progress bar: its ETA is Braid's own, never cli-progress's "NFs" for an unknown rate. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { barState, progressBar } from '../src/cli/summarize';
import { etaText } from '../src/cli/render';
import type { SummarizeProgress } from '../src/shared/summarize';

const progress = (done: number, total: number, startedAt: number): SummarizeProgress => ({
  phase: 'map',
  chunks: { total, done, failed: 0 },
  level: 0,
  levels: 0,
  levelGroups: { total: 0, done: 0 },
  startedAt,
});

describe('progress bar', () => {
  it('shows "ETA –" while nothing is done, where the rate is unknown', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const b = progressBar(out);
    const s = barState(progress(0, 10, Date.now() - 5000), Date.now());
    b.start(s.total, s.value, s.payload);
    await new Promise((r) => setTimeout(r, 30));
    b.update(s.value, s.payload); // no progress between two updates: an infinite ETA to cli-progress
    b.stop();
    expect(text).toMatch(/0\/10 chunks · 0 failed · 0\.0\/s · ETA –/);
    expect(text).not.toMatch(/NF|NULL|INF/);
  });

  it('says the time left at the rate so far', () => {
    expect(barState(progress(5, 10, 0), 5000).payload.left).toBe('5 s');
    expect(etaText(1, 100, 60_000)).toBe('1 h 39 min');
    expect(etaText(1, 5, 50_000)).toBe('3 min 20 s');
    expect(etaText(10, 10, 1)).toBe('0 s');
    expect(etaText(0, 10, 1000)).toBe('–');
  });
});
