/**
 * `braid report` end to end: an ask, a summarize and a pipeline run against the real server with the
 * simulator as the model, each reported through the CLI; the HTML opens in headless Chromium with no
 * console errors and no network requests, and the critical path it shows (read from the DOM) equals
 * the one computed from the same histories. A running run is reported with its open branches marked
 * running. Screenshots go to screenshots/report/ (BRAID_SCREENSHOTS_DIR) for a person to look at.
 * Without Chromium (/usr/bin/chromium, or BRAID_CHROMIUM) the browser part is skipped, loudly.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHROMIUM, hasChromium, launchChromium } from './chromium';
import { analyzeRun, type RunReport } from '../src/report/analyze';
import { fetchRun } from '../src/report/fetch';
import { priceTable } from '../src/shared/pricing';
import type { Simulator } from '../src/simulator';
import { createDefaultRegistry } from '../src/tools';
import { braid as runBraid, expectOneLineError, type Run } from './cli-helpers';
import { connect, sleep, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

const ROOT = path.join(__dirname, '..');
const SHOTS = process.env.BRAID_SCREENSHOTS_DIR ?? path.join(ROOT, 'screenshots', 'report');
if (!hasChromium)
  console.warn(`\n*** report.test.ts: no Chromium at ${CHROMIUM}: the browser checks are SKIPPED (apt-get install chromium) ***\n`);

let h: Harness;
let sim: Simulator;
let worker: TestWorker;
let dir: string;
let browser: BrowserContext | undefined;

const braid = (args: string[]): Promise<Run> =>
  runBraid(
    args,
    {
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      BRAID_TASK_QUEUE: worker.taskQueue,
      BRAID_DATA_DIR: dir,
      BRAID_BLOB_DIR: path.join(dir, 'blobs'),
    },
    { cwd: ROOT },
  );

const ok = (r: Run): Run => {
  if (r.code !== 0) throw new Error(`braid exited ${r.code}: ${r.stderr}`);
  return r;
};
const idOf = (r: Run) => /^run (\S+)/m.exec(r.stderr)?.[1] ?? (JSON.parse(r.stdout) as { workflowId: string }).workflowId;

/** The report the CLI would compute for this run, from the same histories. */
const computed = async (workflowId: string): Promise<RunReport> =>
  analyzeRun(await fetchRun(h.client, workflowId), { now: Date.now(), prices: priceTable(), assumedModel: 'claude-haiku-4-5' });

interface Shown {
  errors: string[];
  requests: string[];
  barPath: string[];
  listPath: string[];
  listAttr: string;
  bars: number;
  running: string[];
  status: string;
}

/** Opens a report in Chromium and reads what it shows; saves a screenshot. */
async function open(file: string, shot: string): Promise<Shown> {
  const page = await browser!.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(`file://${file}`);
  await page.setViewportSize({ width: 1280, height: 900 });
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${shot}.png`), fullPage: true });
  const attrs = async (selector: string, name: string) =>
    Promise.all((await page.locator(selector).all()).map(async (l) => (await l.getAttribute(name))!));
  const shown = {
    barPath: await attrs('svg g.bar[data-critical="true"]', 'data-span-id'),
    listPath: await attrs('#critical-path li', 'data-span-id'),
    listAttr: (await page.locator('#critical-path').getAttribute('data-ids'))!,
    bars: await page.locator('svg g.bar').count(),
    running: await attrs('svg g.bar[data-status="running"]', 'data-span-id'),
    status: (await page.locator('body').getAttribute('data-status'))!,
  };
  // The page's own script works: the critical-path toggle dims every other bar.
  await page.check('#critical-only');
  expect(await page.locator('svg g.bar.dim').count()).toBe(shown.bars - shown.barPath.length);
  await page.close();
  return { errors, requests: requests.filter((u) => !u.startsWith('file://') && !u.startsWith('data:')), ...shown };
}

beforeAll(async () => {
  h = await connect();
  sim = await startSimulator();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-report-'));
  // A model call may be slow (the running-run case) without the stream's idle timer retrying it.
  worker = await startWorker(h, createDefaultRegistry(), sim, {
    BRAID_BLOB_DIR: path.join(dir, 'blobs'),
    BRAID_DATA_DIR: dir,
    BRAID_STREAM_IDLE_TIMEOUT_MS: '30000',
  });
  if (hasChromium) {
    browser = await launchChromium();
  }
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await worker?.shutdown();
  await sim?.close();
  await h?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('braid report', () => {
  const kinds: [string, () => Promise<Run>][] = [
    [
      'ask',
      () =>
        braid([
          'ask',
          '--id',
          `report-ask-${Date.now()}`,
          'What were total sales by region in 2025, and what is 26.2 miles in kilometres?',
        ]),
    ],
    [
      'summarize',
      () =>
        braid([
          'summarize',
          'data/docs/shipping.md',
          'data/docs/refunds-and-returns.md',
          '--task',
          'List the promises made to customers',
          '--group',
          '3',
          '--chunk-tokens',
          '200',
          '--fresh',
        ]),
    ],
    [
      'pipeline',
      async () => {
        const topics = path.join(dir, 'topics.txt');
        fs.writeFileSync(topics, 'Tide pools\nThe history of the lighthouse\nWhy bread rises\n');
        return braid(['pipeline', topics, '--concurrency', '2', '--id', `report-pipeline-${Date.now()}`]);
      },
    ],
  ];

  it.each(kinds)(
    'reports a finished %s run: the page renders cleanly and shows the computed critical path',
    async (kind, run) => {
      const workflowId = idOf(ok(await run()));
      const html = path.join(dir, `${kind}.html`);
      const svg = path.join(dir, `${kind}.svg`);
      const r = ok(await braid(['report', workflowId, '--out', html, '--svg', svg, '--model', 'claude-haiku-4-5']));
      expect(r.stdout).toMatch(new RegExp(`^${workflowId}: ok, \\d+ branches, critical path`));
      const expected = await computed(workflowId);
      expect(expected.criticalPath.ids.length).toBeGreaterThan(1);
      if (kind === 'summarize') expect(expected.spans.some((s) => s.kind === 'child' && s.expanded)).toBe(true);
      if (kind === 'pipeline') expect(expected.spans.filter((s) => s.kind === 'child')).toHaveLength(3);
      const picture = fs.readFileSync(svg, 'utf8');
      expect(picture).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      expect(picture.match(/<g class="bar"/g)).toHaveLength(expected.spans.length);
      const page = fs.readFileSync(html, 'utf8');
      expect(page).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
      if (!browser) return;
      const shown = await open(html, kind);
      expect(shown.errors).toEqual([]);
      expect(shown.requests).toEqual([]);
      expect(shown.status).toBe('ok');
      expect(shown.bars).toBe(expected.spans.length);
      expect(shown.listPath).toEqual(expected.criticalPath.ids);
      expect(shown.listAttr.split(' ')).toEqual(expected.criticalPath.ids);
      // The SVG alone is a well-formed picture (an XML error would leave no bars to find).
      const alone = await browser.newPage();
      await alone.goto(`file://${svg}`);
      expect(await alone.locator('g.bar').count()).toBe(expected.spans.length);
      await alone.screenshot({ path: path.join(SHOTS, `${kind}-svg.png`) });
      await alone.close();
      // The bars come in timeline order, the path in dependency order: the same set.
      expect([...shown.barPath].sort()).toEqual([...expected.criticalPath.ids].sort());
    },
    180_000,
  );

  it('reports a running run: open branches drawn to now and marked running', async () => {
    const workflowId = `report-running-${Date.now()}`;
    const started = braid(['ask', '--id', workflowId, 'What is 3 + 3?\n#sim slow_ms=8000']);
    // Wait until its first model call is scheduled.
    for (let i = 0; i < 100; i++) {
      const hist = await h.client.workflow
        .getHandle(workflowId)
        .fetchHistory()
        .catch(() => undefined);
      if (hist?.events?.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'llmTurn')) break;
      await sleep(100);
    }
    const html = path.join(dir, 'running.html');
    const r = ok(await braid(['report', workflowId, '--out', html]));
    expect(r.stdout).toMatch(new RegExp(`^${workflowId}: running, `));
    const page = fs.readFileSync(html, 'utf8');
    expect(page).toMatch(/The run is still going/);
    if (browser) {
      const shown = await open(html, 'running');
      expect(shown.errors).toEqual([]);
      expect(shown.status).toBe('running');
      expect(shown.running.length).toBeGreaterThan(0);
      expect(shown.listPath.at(-1)).toBe(shown.running.at(-1));
    }
    ok(await started);
    expectOneLineError(
      await braid(['report', workflowId, '--run', '01a22f87-0000-7000-8000-000000000000', '--out', html]),
      2,
      new RegExp(`no run with id ${workflowId} and run id 01a22f87-0000-7000-8000-000000000000`),
    );
  }, 120_000);

  it('refuses bad input with one line and exit code 2', async () => {
    expectOneLineError(
      await braid(['report', 'no-such-run-anywhere', '--out', path.join(dir, 'x.html')]),
      2,
      /no run with id no-such-run-anywhere/,
    );
    expectOneLineError(await braid(['report', 'whatever']), 2, /--out <file.html> and\/or --svg <file.svg>/);
    expectOneLineError(
      await braid(['report', 'whatever', '--out', path.join(dir, 'missing', 'x.html')]),
      2,
      /cannot write --out .*no such directory/,
    );
    expectOneLineError(await braid(['report', 'whatever', '--svg', dir]), 2, /--svg .* is a directory/);
    expectOneLineError(
      await braid(['report', 'whatever', '--run', 'latest', '--svg', path.join(dir, 'x.svg')]),
      2,
      /--run latest is not a run id/,
    );
  }, 60_000);
});
