/**
 * A new user's journey through the Web UI, against the dev server's real UI (see global-setup.ts):
 * one run of every kind (ask, summarize, pipeline, publish, health, ensemble, search, ask --speculate)
 * is started through the CLI, as a user would, and then
 * - every Web UI link the CLI printed opens its run. The UI is a single-page app that answers 200
 *   for any path, so a link is followed the way the UI's router reads it: `/namespaces/<ns>/workflows/<id>`
 *   looks up the latest run, `/…/<id>/<runId>/<tab>` asks the UI's data API for that run id (the old
 *   `/workflows/<id>/history` links made it ask for run "history", a 400);
 * - every run is labelled: a static summary and details, current details, a summary on every activity
 *   and child, descriptions on every query, signal and update, BraidKind and an up-to-date BraidStatus
 *   that one filter (`BraidKind = "…" AND BraidStatus = "…"`) finds, in `braid runs` too;
 * - headless Chromium opens each run's page and shows those labels; the screenshots go to
 *   `screenshots/web-ui/` (BRAID_SCREENSHOTS_DIR), for a person to look at. Without Chromium
 *   (`npm test`'s setup installs Debian's `chromium`) that part is skipped, loudly.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHROMIUM, hasChromium, launchChromium } from './chromium';
import { BraidKind, BraidStatus } from '../src/shared/search-attributes';
import type { Simulator } from '../src/simulator';
import { createDefaultRegistry } from '../src/tools';
import { braid as runBraid, type Run } from './cli-helpers';
import { eventually, listIds } from './fixtures/publish-harness';
import { connect, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

const ROOT = path.join(__dirname, '..');
const SHOTS = process.env.BRAID_SCREENSHOTS_DIR ?? path.join(ROOT, 'screenshots', 'web-ui');

let h: Harness;
let sim: Simulator;
let worker: TestWorker;
let dir: string;
const ui = () => inject('temporalUiUrl');

/** The CLI against this file's worker, with the test server's UI as BRAID_WEB_UI_URL. */
const braid = (args: string[]): Promise<Run> =>
  runBraid(
    args,
    { TEMPORAL_ADDRESS: inject('temporalAddress'), BRAID_TASK_QUEUE: worker.taskQueue, BRAID_WEB_UI_URL: ui(), BRAID_DATA_DIR: dir },
    { cwd: dir },
  );

const ok = (r: Run): Run => {
  if (r.code !== 0) throw new Error(`braid exited ${r.code}: ${r.stderr}`);
  return r;
};
const idOf = (r: Run) => /^run (\S+)/m.exec(r.stderr)?.[1] ?? (JSON.parse(r.stdout) as { workflowId: string }).workflowId;

interface KindRun {
  kind: string;
  workflowId: string;
  /** The BraidStatus it ends (or waits) in. */
  status: string;
  /** Activity and child summaries its page must show. */
  shows: RegExp[];
}

/** What each CLI command printed (for the links), and the runs of every kind. */
const printed: { what: string; run: Run; workflowId: string }[] = [];
const runs: KindRun[] = [];

beforeAll(async () => {
  h = await connect();
  sim = await startSimulator();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-web-ui-'));
  worker = await startWorker(h, createDefaultRegistry(), sim, { BRAID_BLOB_DIR: path.join(dir, 'blobs') });
  const topics = path.join(dir, 'topics.txt');
  fs.writeFileSync(topics, 'Tide pools\nThe history of the lighthouse\nWhy bread rises\n');
  const docs = ['data/docs/shipping.md', 'data/docs/refunds-and-returns.md'].map((d) => path.join(ROOT, d));

  const ask = ok(await braid(['ask', 'What were total sales by region in 2025, and what is 26.2 miles in kilometres?']));
  const askJson = ok(await braid(['ask', '--json', 'What is 3 + 3?']));
  const summarize = ok(
    await braid(['summarize', ...docs, '--task', 'List the customer-facing promises', '--group', '3', '--chunk-tokens', '200']),
  );
  const pipeline = ok(await braid(['pipeline', topics, '--concurrency', '2']));
  const waiting = ok(await braid(['publish', ...docs, '--to', path.join(dir, 'site.db'), '--reviewers', 'alice']));
  const published = ok(await braid(['publish', docs[0]!, '--to', path.join(dir, 'site.db'), '--title', 'Shipping']));
  ok(await braid(['approve', idOf(published), '--as', 'bob', '--comment', 'checked']));
  ok(await braid(['health']));
  const ensemble = ok(await braid(['ensemble', 'Is a refund owed for an item that arrived damaged?', '--labels', 'yes,no']));
  const search = ok(await braid(['search', 'refund for an item that arrived damaged', '--sources', 'handbook,database']));
  // Every strategy starts at once, so each has a labelled activity or child, whichever wins.
  const speculate = ok(
    await braid(['ask', '--speculate', 'cache=0,fast=0,agent=0', '--tools', 'search_docs', 'How are damaged items refunded?']),
  );
  const watchAsk = ok(await braid(['watch', idOf(ask)]));
  const watchSummarize = ok(await braid(['watch', idOf(summarize)]));
  await h.client.workflow.getHandle(idOf(published)).result();
  const health = await eventually(
    () => listIds(h.client, `TaskQueue = "${worker.taskQueue}" AND BraidKind = "health"`),
    (ids) => ids.length === 1,
  );

  printed.push(
    { what: 'ask', run: ask, workflowId: idOf(ask) },
    { what: 'ask --json', run: askJson, workflowId: idOf(askJson) },
    { what: 'summarize', run: summarize, workflowId: idOf(summarize) },
    { what: 'pipeline', run: pipeline, workflowId: idOf(pipeline) },
    { what: 'publish', run: waiting, workflowId: idOf(waiting) },
    { what: 'watch (ask)', run: watchAsk, workflowId: idOf(ask) },
    { what: 'watch (summarize)', run: watchSummarize, workflowId: idOf(summarize) },
    { what: 'ensemble', run: ensemble, workflowId: idOf(ensemble) },
    { what: 'search', run: search, workflowId: idOf(search) },
    { what: 'ask --speculate', run: speculate, workflowId: idOf(speculate) },
  );
  runs.push(
    { kind: 'ask', workflowId: idOf(ask), status: 'done', shows: [/turn 1: model/, /sql_query: /, /calculator: /] },
    { kind: 'summarize', workflowId: idOf(summarize), status: 'done', shows: [/map chunks 1–\d+ of \d+/, /final reduce/] },
    { kind: 'pipeline', workflowId: idOf(pipeline), status: 'done', shows: [/topic 1: "Tide pools"/, /topic 3: "Why bread rises"/] },
    { kind: 'publish', workflowId: idOf(waiting), status: 'awaiting_approval', shows: [/analyse .*shipping\.md/, /write the report/] },
    { kind: 'publish', workflowId: idOf(published), status: 'published', shows: [/store the report/, /index the report/] },
    { kind: 'health', workflowId: health[0]!, status: 'done', shows: [/rate-limiter budgets/] },
    { kind: 'ensemble', workflowId: idOf(ensemble), status: 'done', shows: [/member 1: /, /member 2: /, /member 3: /] },
    { kind: 'search', workflowId: idOf(search), status: 'done', shows: [/source handbook: "refund/, /source database: "refund/] },
    {
      kind: 'ask',
      workflowId: idOf(speculate),
      status: 'done',
      shows: [/cache: look the answer up/, /fast: the fast model answers alone/, /agent: the tool agent answers/],
    },
  );
}, 300_000);

afterAll(async () => {
  for (const r of runs.filter((x) => x.status === 'awaiting_approval'))
    await h.client.workflow
      .getHandle(r.workflowId)
      .terminate('test done')
      .catch(() => undefined);
  await worker?.shutdown();
  await sim?.close();
  await h?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/**
 * Opens a link as the UI does and returns the workflow id and run id of the run it shows; fails
 * the test when the page or the UI's data request for it would fail.
 */
async function openInUi(link: string): Promise<{ workflowId: string; runId: string }> {
  expect(link.startsWith(`${ui()}/`), link).toBe(true);
  const page = await fetch(link);
  expect(page.status, link).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/text\/html/);
  const m = /^\/namespaces\/([^/]+)\/workflows\/([^/]+)(?:\/([^/]+)(\/.*)?)?$/.exec(new URL(link).pathname);
  expect(m, `${link} is not a workflow page of the UI`).not.toBeNull();
  const [, ns, id, run] = m!;
  const api = `${ui()}/api/v1/namespaces/${ns}/workflows`;
  let runId = run && decodeURIComponent(run);
  if (!runId) {
    // The UI's /workflows/<id> page: the latest run of that id, then its page.
    const list = await getJson(`${api}?query=${encodeURIComponent(`WorkflowId="${decodeURIComponent(id!)}"`)}&pageSize=1`);
    expect(list.status, link).toBe(200);
    runId = (list.body.executions as { execution: { runId: string } }[] | undefined)?.[0]?.execution.runId;
    expect(runId, `${link}: the UI finds no run`).toBeTruthy();
  }
  const described = await getJson(`${api}/${id}?execution.runId=${encodeURIComponent(runId!)}`);
  expect(described.status, `${link}: the UI's data request for run "${runId}" answers ${JSON.stringify(described.body)}`).toBe(200);
  const execution = (described.body.workflowExecutionInfo as { execution: { workflowId: string; runId: string } }).execution;
  return { workflowId: execution.workflowId, runId: execution.runId };
}

interface Metadata {
  currentDetails?: string;
  definition?: Record<'queryDefinitions' | 'signalDefinitions' | 'updateDefinitions', { name: string; description?: string }[] | undefined>;
}

/** The summaries on a run's activities and children, from its history. */
async function summariesIn(workflowId: string): Promise<{ activities: [string, string][]; children: string[] }> {
  const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
  const text = (p: unknown) => (p ? defaultPayloadConverter.fromPayload<string>(p as never) : '');
  const activities: [string, string][] = [];
  const children: string[] = [];
  for (const e of history.events ?? []) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a) activities.push([a.activityType!.name!, text(e.userMetadata?.summary)]);
    if (e.startChildWorkflowExecutionInitiatedEventAttributes) children.push(text(e.userMetadata?.summary));
  }
  return { activities, children };
}

describe('the Web UI journey', () => {
  it('every link the CLI prints (ask, summarize, pipeline, publish, watch, ensemble, search, ask --speculate) opens the run it names', async () => {
    for (const { what, run, workflowId } of printed) {
      const links = [...`${run.stderr}\n${run.stdout}`.matchAll(/https?:\/\/[^\s"]+/g)].map((m) => m[0]);
      expect(links.length, `${what} printed no link: ${run.stderr}`).toBeGreaterThan(0);
      for (const link of links) expect((await openInUi(link)).workflowId, `${what}: ${link}`).toBe(workflowId);
    }
  });

  it('every run carries a summary, current details, labelled activities and children, and described handlers', async () => {
    for (const r of runs) {
      const handle = h.client.workflow.getHandle(r.workflowId);
      const d = await handle.describe();
      expect(await d.staticSummary(), r.kind).toMatch(new RegExp(`^${r.kind}`));
      expect(await d.staticDetails(), r.kind).toBeTruthy();
      const meta = await handle.query<Metadata>('__temporal_workflow_metadata');
      expect(meta.currentDetails, r.kind).toMatch(/\*\*/);
      const defs = ['queryDefinitions', 'signalDefinitions', 'updateDefinitions'] as const;
      const handlers = defs.flatMap((k) => meta.definition?.[k] ?? []).filter((def) => !def.name.startsWith('__'));
      expect(handlers.length, r.kind).toBeGreaterThan(r.kind === 'health' ? -1 : 0);
      for (const def of handlers) expect(def.description, `${r.kind}: ${def.name} has no description`).toBeTruthy();

      const { activities, children } = await summariesIn(r.workflowId);
      expect(activities.length + children.length, r.kind).toBeGreaterThan(0);
      for (const [type, summary] of activities) {
        expect(summary, `${r.kind}: an ${type} activity has no summary`).toBeTruthy();
        expect(summary).not.toBe(type);
      }
      for (const summary of children) expect(summary, `${r.kind}: a child has no summary`).toBeTruthy();
      const labels = [...activities.map(([, s]) => s), ...children].join('\n');
      for (const shown of r.shows) expect(labels, r.kind).toMatch(shown);
    }
    // The pipeline's chains label their research, write and edit calls with the topic.
    const chain = await summariesIn(`${runs.find((r) => r.kind === 'pipeline')!.workflowId}/chain-1`);
    expect(chain.activities.map(([, s]) => s)).toEqual(['research: "Tide pools"', 'write: "Tide pools"', 'edit: "Tide pools"']);
  });

  it('one filter on BraidKind and BraidStatus finds every kind, in the server and in `braid runs`', async () => {
    for (const r of runs) {
      const d = await h.client.workflow.getHandle(r.workflowId).describe();
      expect(d.typedSearchAttributes.get(BraidKind)).toBe(r.kind);
      expect(d.typedSearchAttributes.get(BraidStatus), r.kind).toBe(r.status);
      const query = `BraidKind = "${r.kind}" AND BraidStatus = "${r.status}" AND TaskQueue = "${worker.taskQueue}"`;
      const ids = await eventually(
        () => listIds(h.client, query),
        (found) => found.includes(r.workflowId),
      );
      expect(ids, query).toContain(r.workflowId);
      const listed = ok(await braid(['runs', '--kind', r.kind, '--status', r.status, '--json']))
        .stdout.trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { workflowId: string; kind: string; braidStatus: string });
      expect(listed.map((l) => l.workflowId)).toContain(r.workflowId);
      expect(listed.every((l) => l.kind === r.kind && l.braidStatus === r.status)).toBe(true);
    }
  });

  it('headless Chromium shows each kind of run with its summary and labelled bars (screenshots)', async (ctx) => {
    if (!hasChromium) {
      console.warn(
        `\n⚠ SKIPPED: the Web UI screenshots need Chromium at ${CHROMIUM} (Debian: apt-get install chromium; npm test's setup installs it)\n`,
      );
      ctx.skip();
    }
    fs.mkdirSync(SHOTS, { recursive: true });
    const browser = await launchChromium({ width: 1600, height: 1800 });
    try {
      const page = await browser.newPage();
      // The UI renders markdown (summaries, details) in sandboxed frames: read every frame.
      const textOf = async () =>
        (
          await Promise.all(
            page.frames().map((f) =>
              f
                .locator('body')
                .innerText()
                .catch(() => ''),
            ),
          )
        )
          .join('\n')
          .replace(/[\u2018\u2019]/g, "'") // the UI's markdown turns ' into ’
          .replace(/[\u201c\u201d]/g, '"');
      const waitForText = async (what: (text: string) => boolean, shot: string) => {
        for (const deadline = Date.now() + 30_000; Date.now() < deadline; await page.waitForTimeout(250)) if (what(await textOf())) return;
        await page.screenshot({ path: path.join(SHOTS, `${shot}-FAILED.png`), fullPage: true });
        throw new Error(`${shot}: the page never showed what it should; it shows: ${JSON.stringify(await textOf())}`);
      };
      for (const [i, r] of runs.entries()) {
        const d = await h.client.workflow.getHandle(r.workflowId).describe();
        const base = `${ui()}/namespaces/default/workflows/${encodeURIComponent(r.workflowId)}/${d.runId}`;
        const name = `${i + 1}-${r.kind}-${r.status}`;
        // The run's page: the timeline's bars and the event list name what each call did.
        await page.goto(`${base}/history`);
        await waitForText((t) => r.shows[0]!.test(t), `${name}-history`);
        await page.waitForTimeout(1500); // the timeline draws its bars after the history arrives
        for (const shown of r.shows) expect(await textOf(), `${r.kind}: ${shown}`).toMatch(shown);
        await page.screenshot({ path: path.join(SHOTS, `${name}-history.png`), fullPage: true });
        // User Metadata: the summary, the details, and the current details the run keeps up to date.
        await page.goto(`${base}/user-metadata`);
        const current = (await h.client.workflow.getHandle(r.workflowId).query<Metadata>('__temporal_workflow_metadata')).currentDetails!;
        // The UI renders both as markdown: look for the words, not the markup.
        const words = [(await d.staticSummary())!.slice(0, 40), current.replace(/[*`]/g, '').slice(0, 30)];
        await waitForText((t) => words.every((w) => t.includes(w)), `${name}-metadata`);
        expect(await textOf(), r.kind).not.toMatch(/No summary available/i);
        await page.screenshot({ path: path.join(SHOTS, `${name}-metadata.png`), fullPage: true });
      }
      // Deciding from the UI, as the README and the run's details say: More Actions → Send an Update.
      {
        const waiting = runs.find((r) => r.status === 'awaiting_approval')!;
        const d = await h.client.workflow.getHandle(waiting.workflowId).describe();
        await page.goto(`${ui()}/namespaces/default/workflows/${encodeURIComponent(waiting.workflowId)}/${d.runId}/history`);
        await page.getByRole('button', { name: 'More Actions' }).filter({ visible: true }).first().click();
        await page.getByText('Send an Update', { exact: true }).filter({ visible: true }).first().click();
        const dialog = page.getByRole('dialog').filter({ visible: true }).first();
        await dialog
          .getByTestId('update-select-button')
          .click({ timeout: 15_000 })
          .catch(async (e: Error) => {
            throw new Error(
              `the update list did not open (${e.message.split('\n')[0]}); the dialog: ${await dialog.innerHTML().catch(() => '?')}`,
            );
          });
        await waitForText((t) => /\bdecide\s+Approve or reject the report/.test(t), '4b-publish-send-update'); // named and described
        await page.screenshot({ path: path.join(SHOTS, '4b-publish-send-update.png'), fullPage: true });
        await page.keyboard.press('Escape');
      }
      // Children: a map leaf names each chunk's file, a pipeline chain each stage's topic.
      const parts: [string, string, RegExp][] = [
        ['2b-summarize-map-leaf', `${runs[1]!.workflowId}/map-0`, /map shipping\.md, chunk 1 of \d+/],
        ['3b-pipeline-chain', `${runs[2]!.workflowId}/chain-1`, /research: "Tide pools"/],
      ];
      for (const [name, workflowId, shown] of parts) {
        const d = await h.client.workflow.getHandle(workflowId).describe();
        await page.goto(`${ui()}/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${d.runId}/history`);
        await waitForText((t) => shown.test(t), name);
        await page.waitForTimeout(1500);
        await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
      }
      // The run list, filtered the way the README says (the raw query toggle).
      await page.goto(`${ui()}/namespaces/default/workflows?query=${encodeURIComponent(`BraidKind = "ask" AND BraidStatus = "done"`)}`);
      await waitForText((t) => t.includes(runs[0]!.workflowId), '0-list-filtered');
      await page.screenshot({ path: path.join(SHOTS, '0-list-filtered.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 180_000);
});
