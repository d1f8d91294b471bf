/**
 * Every kind of Web UI link the CLI prints opens its run in the real Web UI — the one the test
 * run's dev server serves (see global-setup.ts). The UI is a single-page app that answers 200 for
 * any path, so a link is followed the way the UI's router reads it: `/namespaces/<ns>/workflows/<id>`
 * looks up the latest run, `/…/<id>/<runId>/<tab>` asks the UI's data API for that run id. The
 * old links (`/workflows/<id>/history`) made the UI ask for run "history", a 400.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import { braid as runBraid, type Run } from './cli-helpers';
import { connect, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

let h: Harness;
let sim: Simulator;
let worker: TestWorker;
let dir: string;
const ui = () => inject('temporalUiUrl');

beforeAll(async () => {
  h = await connect();
  sim = await startSimulator();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-links-'));
  worker = await startWorker(h, new ToolRegistry(), sim, { BRAID_BLOB_DIR: path.join(dir, 'blobs') });
});

afterAll(async () => {
  await worker?.shutdown();
  await sim?.close();
  await h?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The CLI against this file's worker, with the test server's UI as BRAID_WEB_UI_URL. */
const braid = (args: string[]): Promise<Run> =>
  runBraid(
    args,
    { TEMPORAL_ADDRESS: inject('temporalAddress'), BRAID_TASK_QUEUE: worker.taskQueue, BRAID_WEB_UI_URL: ui(), BRAID_DATA_DIR: dir },
    { cwd: dir },
  );

const linksIn = (r: Run): string[] => [...`${r.stderr}\n${r.stdout}`.matchAll(/https?:\/\/[^\s"]+/g)].map((m) => m[0]);

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

describe('Web UI links printed by the CLI', () => {
  it('open the run they name, for ask, summarize, pipeline, publish and watch', async () => {
    const doc = path.join(dir, 'notes.md');
    fs.writeFileSync(doc, '# Notes\n\nThe launch moves to May. Support answers within four hours.\n');
    const topics = path.join(dir, 'topics.txt');
    fs.writeFileSync(topics, 'Tide pools\n');

    const ask = await braid(['ask', 'What is 2 + 2?']);
    const askJson = await braid(['ask', '--json', 'What is 3 + 3?']);
    const summarize = await braid(['summarize', doc, '--task', 'Summarise the notes']);
    const pipeline = await braid(['pipeline', topics, '--concurrency', '1']);
    const publish = await braid(['publish', doc, '--to', path.join(dir, 'site.db')]);
    for (const r of [ask, askJson, summarize, pipeline, publish]) expect(r.code, r.stderr).toBe(0);

    const idOf = (r: Run) => /^run (\S+)/m.exec(r.stderr)?.[1] ?? (JSON.parse(r.stdout) as { workflowId: string }).workflowId;
    const watchAsk = await braid(['watch', idOf(ask)]);
    const watchSummarize = await braid(['watch', idOf(summarize)]);
    for (const r of [watchAsk, watchSummarize]) expect(r.code, r.stderr).toBe(0);

    const printed: [string, Run, string][] = [
      ['ask', ask, idOf(ask)],
      ['ask --json', askJson, idOf(askJson)],
      ['summarize', summarize, idOf(summarize)],
      ['pipeline', pipeline, idOf(pipeline)],
      ['publish', publish, idOf(publish)],
      ['watch (ask)', watchAsk, idOf(ask)],
      ['watch (summarize)', watchSummarize, idOf(summarize)],
    ];
    for (const [what, r, workflowId] of printed) {
      const links = linksIn(r);
      expect(links.length, `${what} printed no link: ${r.stderr}`).toBeGreaterThan(0);
      for (const link of links) expect((await openInUi(link)).workflowId, `${what}: ${link}`).toBe(workflowId);
    }
    await h.client.workflow.getHandle(idOf(publish)).terminate('test done');
  });
});
