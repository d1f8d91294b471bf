/**
 * Braid's public API from a user's point of view, against the real Temporal server and the
 * simulator: the worker plugin on a worker of the user's own (their workflows and activities beside
 * Braid's), the client plugin and typed starters, a payload codec on both sides, Braid's map-reduce
 * tree as a child of a user workflow, and the example app's committed history replayed against
 * today's src/api/workflow.ts. (test/package.test.ts does the same through the packed tarball.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BraidClientPlugin,
  BraidKind,
  FsBlobStore,
  registerSearchAttributes,
  startAsk,
  storeCorpus,
  type SummarizeInput,
} from '../src/api/client';
import { BraidWorkerPlugin, readConfig, ToolRegistry } from '../src/api/worker';
import type { Simulator } from '../src/simulator';
import { connect, latencyTool, simulatedModel, startSimulator, type Harness } from './helpers';

/** Reverses payload bytes and marks them: what an encryption codec does, visibly. */
const MARK = 'braid-test-codec';
const codec: PayloadCodec = {
  encode: async (payloads: Payload[]) =>
    payloads.map((p) => ({ metadata: { ...p.metadata, [MARK]: new Uint8Array([1]) }, data: p.data && Uint8Array.from(p.data).reverse() })),
  decode: async (payloads: Payload[]) =>
    payloads.map((p) => {
      if (!p.metadata?.[MARK]) return p;
      const { [MARK]: _mark, ...metadata } = p.metadata;
      return { metadata, data: p.data && Uint8Array.from(p.data).reverse() };
    }),
};

let h: Harness;
let sim: Simulator;
let client: Client;
let worker: Worker;
let running: Promise<void>;
const taskQueue = `api-${Date.now()}`;
const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-api-blobs-'));
const failingStep = async () => {
  throw new Error('the second step failed');
};

beforeAll(async () => {
  h = await connect();
  sim = await startSimulator();
  const plugin = new BraidWorkerPlugin({
    config: readConfig({ BRAID_BLOB_DIR: blobDir, BRAID_STREAM_IDLE_TIMEOUT_MS: '5000' }),
    model: simulatedModel(sim),
    tools: new ToolRegistry().register(latencyTool('order_lookup', 20)),
    payloadCodecs: [codec],
  });
  worker = await Worker.create({
    connection: h.native,
    taskQueue,
    workflowsPath: path.join(__dirname, 'fixtures', 'api-workflows.ts'),
    activities: { failingStep },
    plugins: [plugin],
  });
  running = worker.run();
  client = new Client({ connection: h.client.connection, plugins: [new BraidClientPlugin({ payloadCodecs: [codec] })] });
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await sim?.close();
  await h?.close();
  fs.rmSync(blobDir, { recursive: true, force: true });
});

describe('the worker plugin on a worker of your own', () => {
  it('runs your workflows with your activities, and Braid’s workflows with your tools, on one worker', async () => {
    const undone = await client.workflow.execute('userSaga', { taskQueue, workflowId: `saga-${Date.now()}` });
    expect(undone).toEqual(['undo-second: second undone', 'undo-first: first undone']);

    const ask = await startAsk(client, { question: 'Look up the order, please.', tools: ['order_lookup'] }, { taskQueue });
    const answer = await ask.result();
    expect(answer.branches.filter((b) => b.kind === 'tool').map((b) => b.name)).toContain('order_lookup');
    expect(answer.simulated).toBe(true);
    // Started through the typed helper: labelled for the Web UI's filters.
    expect((await ask.describe()).typedSearchAttributes.get(BraidKind)).toBe('ask');
  });

  it('runs Braid’s map-reduce tree as a child of your workflow over a corpus stored from plain texts', async () => {
    const texts = ['Refunds are paid within 14 days of the return arriving.', 'Parcels ship within two working days; express costs EUR 9.'];
    const corpus = await storeCorpus(
      texts.map((text, i) => ({ path: `note-${i}.md`, text })),
      new FsBlobStore(blobDir),
    );
    expect(corpus.chunkCount).toBe(2);
    const input: SummarizeInput = { ...corpus, task: 'What must a customer know?', concurrency: 2, group: 2, tolerate: 0 };
    const workflowId = `summary-${Date.now()}`;
    const r = await client.workflow.execute<(i: SummarizeInput) => Promise<{ answer: string; chunks: number }>>('userSummary', {
      taskQueue,
      workflowId,
      args: [input],
    });
    expect(r.chunks).toBe(2);
    expect(r.answer.length).toBeGreaterThan(0);
    expect((await client.workflow.getHandle(`${workflowId}/summarize`).describe()).type).toBe('summarizeCorpus');
  });

  it('keeps a sliding window’s results in input order, each from Braid’s model activity', async () => {
    const topics = ['Solar panels on city roofs.', 'Bicycle lanes in winter.', 'Night trains across Europe.'];
    const notes = await client.workflow.execute<(t: string[]) => Promise<string[]>>('userWindow', {
      taskQueue,
      workflowId: `window-${Date.now()}`,
      args: [topics],
    });
    expect(notes).toHaveLength(3);
    notes.forEach((note, i) => expect(note).toContain(topics[i]!.split(' ')[0]));
  });

  it('encodes every payload with the codec both plugins were given', async () => {
    const handle = client.workflow.getHandle((await startAsk(client, { question: 'Say hello.', tools: [] }, { taskQueue })).workflowId);
    await handle.result();
    const history = await handle.fetchHistory();
    const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    expect(input.metadata?.[MARK]).toBeDefined();
    expect(Buffer.from(input.data!).toString()).not.toContain('Say hello.');
  });

  it('registers Braid’s search attributes, and registering them again is fine', async () => {
    await expect(registerSearchAttributes(client)).resolves.toBeUndefined();
  });

  it('refuses to start without a model endpoint, saying which settings give one', async () => {
    const bare = new BraidWorkerPlugin({ config: readConfig({}) });
    await expect(
      Worker.create({
        connection: h.native,
        taskQueue: `${taskQueue}-bare`,
        activities: {},
        plugins: [bare],
        workflowBundle: { code: '' },
      }),
    ).rejects.toThrow(/no model endpoint; set ANTHROPIC_API_KEY .* or BRAID_SIMULATOR_URL/);
  });
});

describe('a workflow written only against the public workflow API', () => {
  it('replays the example app’s committed history against today’s code', async () => {
    const example = path.join(__dirname, '..', 'examples', 'order-desk');
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: path.join(example, 'src', 'workflows.ts'),
      logger: new DefaultLogger('ERROR'),
      webpackConfigHook: (config) => ({
        ...config,
        resolve: {
          ...config.resolve,
          alias: { ...config.resolve?.alias, '@braid-agents/braid/workflow': path.join(__dirname, '..', 'src', 'api', 'workflow.ts') },
        },
      }),
    });
    const history: unknown = JSON.parse(fs.readFileSync(path.join(example, 'histories', 'order-digest.json'), 'utf8'));
    await expect(Worker.runReplayHistory({ workflowBundle, replayName: 'order-digest' }, history)).resolves.toBeUndefined();
  }, 60_000);
});
