/**
 * `npm run bench -- <scenario> --plot [file.svg]`: the benchmark's figures as one SVG image, written
 * beside the table (and the JSON) it prints. Each scenario turns its figures into panels of grouped
 * bars — e.g. latency percentiles with and without speculation — and they are drawn with Vega-Lite,
 * compiled to Vega and rendered headless to SVG (no browser, no canvas), so the picture comes from
 * the same numbers the table shows.
 */
import fs from 'node:fs';
import path from 'node:path';

/** One bar: its group on the x axis, its series (colour) within the group, and its height. */
export interface Bar {
  group: string;
  series: string;
  value: number;
}

/** One chart: grouped bars under a title, the y axis named with its unit. */
export interface Panel {
  title: string;
  yTitle: string;
  bars: Bar[];
}

const PANEL_WIDTH = 420;
const PANEL_HEIGHT = 220;

/** The Vega-Lite spec of the panels, one above the other; groups and series keep the order given. */
export function plotSpec(title: string, panels: readonly Panel[]): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start', fontSize: 15 },
    background: 'white',
    config: { font: 'Helvetica, Arial, sans-serif', view: { stroke: null } },
    // Each panel has its own series, colours and legend.
    resolve: { scale: { color: 'independent', xOffset: 'independent' }, legend: { color: 'independent' } },
    vconcat: panels.map((p) => panel(p)),
  };
}

/** One panel: as wide as its groups need, each group's label allowed the group's width. */
function panel(p: Panel): Record<string, unknown> {
  const order = (xs: string[]) => [...new Set(xs)];
  const groups = new Set(p.bars.map((b) => b.group)).size;
  const width = Math.max(PANEL_WIDTH, groups * 130);
  return {
    title: { text: p.title, anchor: 'start', fontSize: 13 },
    width,
    height: PANEL_HEIGHT,
    data: { values: p.bars },
    layer: [
      {
        mark: { type: 'bar', tooltip: true },
        encoding: {
          x: {
            field: 'group',
            type: 'nominal',
            sort: order(p.bars.map((b) => b.group)),
            title: null,
            axis: { labelAngle: 0, labelLimit: Math.floor(width / Math.max(1, groups)) - 5 },
          },
          xOffset: { field: 'series', sort: order(p.bars.map((b) => b.series)) },
          y: {
            field: 'value',
            type: 'quantitative',
            title: p.yTitle,
            // A panel of zeros (no 429s, nothing lost) still gets a readable axis from 0.
            ...(p.bars.every((b) => b.value === 0) ? { scale: { domain: [0, 1] } } : {}),
          },
          color: { field: 'series', sort: order(p.bars.map((b) => b.series)), title: null, legend: { orient: 'top' } },
        },
      },
      {
        mark: { type: 'text', dy: -5, fontSize: 9 },
        encoding: {
          x: { field: 'group', type: 'nominal', sort: order(p.bars.map((b) => b.group)) },
          xOffset: { field: 'series', sort: order(p.bars.map((b) => b.series)) },
          y: { field: 'value', type: 'quantitative' },
          text: { field: 'value', type: 'quantitative', format: ',.4~g' },
        },
      },
    ],
  };
}

/** The panels drawn as a self-contained SVG document. */
export async function plotSvg(title: string, panels: readonly Panel[]): Promise<string> {
  if (panels.length === 0 || panels.every((p) => p.bars.length === 0)) throw new Error('there is nothing to plot');
  // Vega ships as ES modules only (with top-level await): loaded at run time, not bundled into CommonJS.
  const vega = await import('vega');
  const { compile } = await import('vega-lite');
  const view = new vega.View(vega.parse(compile(plotSpec(title, panels) as never).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** `--plot` alone names the file after the scenario, in the current directory. */
export const plotFile = (scenario: string, plot: string | true): string => path.resolve(plot === true ? `${scenario}.svg` : plot);

/** Writes the panels to `file` and says where, on stderr (stdout keeps the table or the JSON). */
export async function writePlot(file: string, title: string, panels: readonly Panel[]): Promise<void> {
  const svg = await plotSvg(title, panels);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, svg);
  process.stderr.write(`plot: ${file}\n`);
}
