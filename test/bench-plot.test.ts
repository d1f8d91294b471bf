/**
 * `npm run bench -- <scenario> --plot`: the figures drawn as one SVG with Vega-Lite, headless. The
 * picture must carry the numbers the table shows: one bar per figure, its value on it, every group
 * and series named.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { plotFile, plotSvg, writePlot, type Panel } from '../bench/plot';

const panels: Panel[] = [
  {
    title: 'Latency per question',
    yTitle: 'ms',
    bars: [
      { group: 'p50', series: 'without', value: 853 },
      { group: 'p95', series: 'without', value: 1540 },
      { group: 'p50', series: 'with', value: 520 },
      { group: 'p95', series: 'with', value: 983 },
    ],
  },
  { title: 'Dollars', yTitle: 'USD', bars: [{ group: 'race', series: 'with', value: 0.014 }] },
];

/** The bars of the SVG: Vega draws each as a path inside the rect mark's group. */
const barsOf = (svg: string): number => {
  const groups = svg.match(/<g class="mark-rect role-mark[^"]*"[^>]*>(.*?)<\/g>/g) ?? [];
  return groups.reduce((n, g) => n + (g.match(/<path /g) ?? []).length, 0);
};

describe('bench --plot', () => {
  it('draws one bar per figure with its value, the titles, groups and series', async () => {
    const svg = await plotSvg('npm run bench -- speculate', panels);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(barsOf(svg)).toBe(5);
    for (const text of ['npm run bench -- speculate', 'Latency per question', 'Dollars', 'p50', 'p95', 'without', 'with', 'race'])
      expect(svg).toContain(`>${text}<`);
    // Values on the bars, as the table prints them.
    for (const v of ['853', '1,540', '520', '983', '0.014']) expect(svg).toContain(`>${v}<`);
  });

  it('writes the file the option names, or <scenario>.svg here', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-plot-'));
    try {
      const file = path.join(dir, 'sub', 'out.svg');
      await writePlot(file, 't', panels);
      expect(fs.readFileSync(file, 'utf8')).toMatch(/^<svg[^>]*>/);
      expect(plotFile('pipeline', true)).toBe(path.resolve('pipeline.svg'));
      expect(plotFile('pipeline', 'x/y.svg')).toBe(path.resolve('x/y.svg'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names a lone group in full and gives a panel of zeros an axis from 0 to 1', async () => {
    const svg = await plotSvg('npm run bench -- rate-limit', [
      { title: 'makespan', yTitle: 'ms', bars: [{ group: "Braid's settings, one long group name", series: 'makespan', value: 12 }] },
      { title: '429s', yTitle: 'count', bars: [{ group: 'braid limiter', series: '429s', value: 0 }] },
    ]);
    expect(svg).toContain(`>Braid's settings, one long group name<`);
    // The zeros panel's axis reads 0 … 1 (Vega-Lite's own domain for all-zero data printed 0.000000 alone).
    expect(svg).not.toContain('>0.000000<');
    expect(svg).toContain('>1.0<');
  });

  it('refuses to draw nothing', async () => {
    await expect(plotSvg('t', [{ title: 'x', yTitle: 'y', bars: [] }])).rejects.toThrow('there is nothing to plot');
  });
});
