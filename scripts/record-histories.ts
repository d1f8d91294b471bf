/**
 * Records the workflow histories that the replay tests run (test/histories/*.json): each scenario
 * runs for real on a throwaway dev server with the simulator, and its history is saved as JSON.
 * Re-record only on purpose — after a deliberate, patched() change of workflow code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { z } from 'zod';
import { readConfig } from '../src/config';
import { agentProgressQuery, ASK_WORKFLOW, type AgentInput, type ToolApproval } from '../src/shared/ask';
import { decideUpdate } from '../src/shared/publish';
import { Simulator } from '../src/simulator';
import { resolveTemporalCli } from '../src/temporal/cli-binary';
import { createDefaultRegistry, defineTool } from '../src/tools';
import { createBraidWorker } from '../src/worker';
import { publishScenarioStores, recordPublishHistories } from '../test/fixtures/publish-histories';
import Anthropic from '@anthropic-ai/sdk';
import os from 'node:os';
import { HEALTH_WORKFLOW } from '../src/shared/health';
import { PIPELINE_WORKFLOW } from '../src/shared/pipeline';
import type { AnswerRule, FaultRule } from '../src/simulator';
import { ENSEMBLE_WORKFLOW, type EnsembleInput } from '../src/shared/ensemble';
import { SEARCH_WORKFLOW, type SearchInput } from '../src/shared/search';
import { SPECULATE_WORKFLOW, type SpeculateInput } from '../src/shared/speculate';
import type { LatencyConfig } from '../src/simulator/types';
import { FsBlobStore } from '../src/blobs/store';
import { SUMMARIZE_WORKFLOW, type SummarizeInput } from '../src/shared/summarize';
import { buildCorpus } from '../src/summarize/corpus';
import { envelope, sendMessage } from '../src/cli/actor-messages';
import { ACTOR_WORKFLOW, actorWorkflowId, stopSignal, type ActorInput } from '../src/shared/actor';
import { SqliteVersionedStore } from '../src/store/shared-state';

const scenarios: Record<string, AgentInput> = {
  'ask-showcase': {
    question:
      'What were total sales by region in 2025, what does the handbook say about refunds for damaged items, what is 26.2 miles in kilometres, and what is in notes/q3-plan.md?',
  },
  'ask-partial-failure': { question: '#sim tools=calculator,flaky_lookup\nWhat is 2+2, and look it up.' },
  // Results and the answer stored, the conversation in segments, and continue-as-new: each run is recorded.
  'ask-by-reference': {
    question: '#sim tools=long_page\n#sim rounds=3\n#sim answer_tokens=9000\nRead the long pages and write a long summary.',
    maxTurns: 5,
    maxTokens: 12_000,
    continueAsNewAfterEvents: 20,
  },
};

/** Scenarios of other workflows; `children` names child workflows whose histories are recorded too. */
const workflowScenarios: Record<
  string,
  { workflow: string; args: unknown[]; faults?: FaultRule[]; answerRules?: AnswerRule[]; latency?: LatencyConfig; children?: string[] }
> = {
  'pipeline-gate-and-retry': {
    workflow: PIPELINE_WORKFLOW,
    args: [
      {
        topics: ['Solar power in cities', 'poison-once: refused the first time', '#sim answer_tokens=2 always-short'],
        concurrency: 2,
        outDir: path.join(os.tmpdir(), 'braid-record-pipeline'),
      },
    ],
    faults: [{ kind: 'status', status: 400, times: 1, match: { contains: 'poison-once' } }],
    children: ['chain-1', 'chain-3'],
  },
  // Early tool dispatch: tools start from the stream's announcements; the first stream breaks mid-way and the retry reuses them.
  'ask-early-dispatch': {
    workflow: ASK_WORKFLOW,
    args: [
      {
        question:
          'What were total sales by region in 2025, what is 26.2 miles in kilometres, and what is in notes/q3-plan.md? (early-dispatch-reset)',
      } satisfies AgentInput,
    ],
    faults: [{ kind: 'reset', times: 1, match: { contains: 'early-dispatch-reset' } }],
    latency: { ttftMs: 20, perTokenMs: 20 },
  },
  // Stage overlap: the writer's stream breaks mid-way; the paragraphs it announced are edited once, reused by the retry.
  'pipeline-overlap': {
    workflow: PIPELINE_WORKFLOW,
    args: [{ topics: ['Wave power on windy islands'], concurrency: 1, overlap: true }],
    faults: [{ kind: 'reset', times: 1, match: { contains: 'You are a writer' } }],
    latency: { ttftMs: 20, perTokenMs: 10 },
    children: ['chain-1'],
  },
  health: { workflow: HEALTH_WORKFLOW, args: [] },
  // One prompt: haiku dissents, so the judge is asked and its verdict is in history.
  'ensemble-judge': {
    workflow: ENSEMBLE_WORKFLOW,
    args: [
      {
        prompt: 'I was charged twice for order NW-10482, USD 49.00 each time. Please refund the duplicate payment.',
        labels: ['billing', 'technical_issue', 'account', 'shipping', 'feedback'],
        members: [{ model: 'claude-haiku-4-5' }, { model: 'claude-sonnet-4-6' }, { model: 'claude-opus-4-6' }],
        aggregate: 'judge',
      } satisfies EnsembleInput,
    ],
    answerRules: [{ match: { model: 'claude-haiku-4-5', contains: 'Classify the message' }, answer: 'wrong' }],
  },
  // A batch of three items by majority vote, each item a child workflow.
  'ensemble-batch': {
    workflow: ENSEMBLE_WORKFLOW,
    args: [
      {
        items: [
          { id: 't1', text: 'The app crashes every time I open my order history on my tablet.', expected: 'technical_issue' },
          { id: 't2', text: 'My parcel for order NW-22871 has not arrived after ten days.', expected: 'shipping' },
          { id: 't3', text: 'Please change the email address on my account.', expected: 'account' },
        ],
        labels: ['billing', 'technical_issue', 'account', 'shipping', 'feedback'],
        members: [{ model: 'claude-haiku-4-5' }, { model: 'claude-sonnet-4-6' }, { model: 'claude-opus-4-6' }],
        aggregate: 'vote',
        concurrency: 2,
      } satisfies EnsembleInput,
    ],
    children: ['item-1'],
  },
  // Split into sub-queries, four sources at once, the web slower than its time (reported timed out), a cited answer.
  'search-slow-web-answered': {
    workflow: SEARCH_WORKFLOW,
    args: [
      {
        query: 'How long until a refund appears on my card, and what are the express delivery prices?',
        sources: [{ name: 'handbook' }, { name: 'database' }, { name: 'tickets' }, { name: 'web', timeoutMs: 500 }],
        decompose: true,
        depth: 5,
        topK: 8,
        answer: true,
        answerTop: 3,
      } satisfies SearchInput,
    ],
    latency: { ttftMs: 20, perTokenMs: 0, tools: { web_search: { fixed: 3_000 } } },
  },
  // A cold speculative ask: the cache misses, the fast model wins, the agent (started at +200 ms) is cancelled; the answer is cached.
  'speculate-fast-wins': {
    workflow: SPECULATE_WORKFLOW,
    args: [
      { question: 'What is our refund window for damaged items?\n#sim answer_tokens=300', tools: ['search_docs'] } satisfies SpeculateInput,
    ],
    latency: { ttftMs: 20, perTokenMs: 2 },
    children: ['agent'],
  },
  // The retrieval strategy (a handbook search, then the fast model) and the judge validator; the agent is cancelled.
  'speculate-judge-retrieval': {
    workflow: SPECULATE_WORKFLOW,
    args: [
      {
        question: 'How are damaged items refunded?',
        tools: ['search_docs'],
        strategies: [
          { name: 'cache', startAfterMs: 0 },
          { name: 'retrieval', startAfterMs: 0 },
          { name: 'agent', startAfterMs: 0 },
        ],
        validator: 'judge',
      } satisfies SpeculateInput,
    ],
    latency: { ttftMs: 20, perTokenMs: 2 },
    children: ['agent'],
  },
};

/** A run and the runs it continued as new into: <file>.json, then <file>--run-2.json, … */
async function recordChain(client: Client, dir: string, workflowId: string, firstRunId: string, file: string): Promise<void> {
  let runId: string | undefined = firstRunId;
  for (let n = 1; runId; n++) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const name = n === 1 ? `${file}.json` : `${file}--run-${n}.json`;
    fs.writeFileSync(path.join(dir, name), `${historyToJSON(history)}\n`);
    console.log(`recorded ${name}`);
    runId = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
}

/**
 * An ask run whose turn calls two destructive tools the run may ask approval for (`approveTools`):
 * one call is approved, the other rejected, while they wait side by side.
 */
async function recordApprovalHistory(client: Client, taskQueue: string, dir: string): Promise<void> {
  const name = 'ask-tool-approval';
  if (!wanted(name)) return;
  const tools = ['delete_note', 'archive_note'];
  const handle = await client.workflow.start(ASK_WORKFLOW, {
    taskQueue,
    workflowId: name,
    args: [
      { question: `#sim tools=${tools.join(',')}\nDelete note 7 and archive note 8.`, tools, approveTools: tools } satisfies AgentInput,
    ],
  });
  let waiting: ToolApproval[] = [];
  while (waiting.length < 2) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    waiting = ((await handle.query(agentProgressQuery)).approvals ?? []).filter((a) => a.state === 'waiting');
  }
  const call = (tool: string) => waiting.find((w) => w.tool === tool)!.toolUseId;
  await handle.executeUpdate(decideUpdate, { args: [{ verdict: 'approve', reviewer: 'alice', toolUseId: call('delete_note') }] });
  await handle.executeUpdate(decideUpdate, {
    args: [{ verdict: 'reject', reviewer: 'alice', reason: 'keep it', toolUseId: call('archive_note') }],
  });
  await handle.result();
  await recordChain(client, dir, name, handle.firstExecutionRunId, name);
}

/**
 * Agents (`braid actor`): a mailbox that continues as new every 3 messages (notes, prompts, a shared
 * increment, a burst of concurrent senders), then a stop; and a lead whose flaky member fails once
 * and is restarted. Messages are sent while the agents run, so these are recorded here, not above.
 */
async function recordActorHistories(client: Client, taskQueue: string, dir: string): Promise<void> {
  const start = (address: string, spec: ActorInput['spec'], extra: Partial<ActorInput> = {}) =>
    client.workflow.start(ACTOR_WORKFLOW, { taskQueue, workflowId: actorWorkflowId(address), args: [{ address, spec, ...extra }] });
  if (wanted('actor-mailbox')) {
    const a = 'actor-mailbox';
    const handle = await start(a, { role: 'returns desk' }, { runLimits: { messages: 3 } });
    await sendMessage(client, a, envelope({ kind: 'note', text: 'Refunds take 14 days.' }));
    await sendMessage(client, a, envelope({ kind: 'prompt', text: 'How long do refunds take?' }));
    await sendMessage(client, a, envelope({ kind: 'shared', key: 'tickets', op: { type: 'increment' } }));
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => sendMessage(client, a, envelope({ kind: 'prompt', text: `Question ${i + 1}` }))),
    );
    await handle.signal(stopSignal, { reason: 'recorded' });
    await handle.result();
    await recordChain(client, dir, actorWorkflowId(a), handle.firstExecutionRunId, a);
  }
  if (wanted('actor-team')) {
    const a = 'actor-team';
    const member = (name: string) => ({ name, spec: { role: `${name} specialist` } });
    const handle = await start(a, { role: 'research lead', team: { members: [member('flaky'), member('steady')] } });
    await sendMessage(client, a, envelope({ kind: 'prompt', text: 'What is the refund window?' }));
    await sendMessage(client, a, envelope({ kind: 'prompt', text: 'And the shipping time?' }));
    await handle.signal(stopSignal, { reason: 'recorded' });
    await handle.result();
    await recordChain(client, dir, actorWorkflowId(a), handle.firstExecutionRunId, a);
    for (const m of ['flaky', 'steady']) {
      const runs: string[] = [];
      for await (const x of client.workflow.list({ query: `WorkflowId = '${actorWorkflowId(`${a}/${m}`)}'` })) runs.push(x.runId);
      const history = await client.workflow.getHandle(actorWorkflowId(`${a}/${m}`), runs.at(-1)).fetchHistory();
      fs.writeFileSync(path.join(dir, `${a}--${m}.json`), `${historyToJSON(history)}\n`);
      console.log(`recorded ${a}--${m}.json`);
    }
  }
}

/** `npm run histories:record -- <name…>` records only the named scenarios. */
const only = process.argv.slice(2);
const wanted = (name: string) => only.length === 0 || only.includes(name);

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: await resolveTemporalCli() }, ip: '127.0.0.1' },
  });
  const sim = await Simulator.start({ quiet: true, latency: { ttftMs: 20, perTokenMs: 0 } });
  const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-record-blobs-'));
  const registry = createDefaultRegistry().register(
    defineTool({
      name: 'flaky_lookup',
      description: 'Always fails (for recording a failure path).',
      input: z.object({}).passthrough(),
      handler: async () => {
        throw new Error('lookup service unavailable');
      },
    }),
    ...['delete_note', 'archive_note'].map((name) =>
      defineTool({
        name,
        description: `${name === 'delete_note' ? 'Deletes' : 'Archives'} a note (destructive: for recording approvals of tool calls).`,
        input: z.object({}).passthrough(),
        annotations: { destructive: true },
        handler: async () => 'done',
      }),
    ),
    defineTool({
      name: 'long_page',
      description: 'Returns ~40 KB of text (for recording results stored by reference).',
      input: z.object({}).passthrough(),
      handler: async (_input, ctx) =>
        Array.from({ length: 800 }, (_, i) => `${ctx.toolUseId} line ${i}: figures for region ${i % 7}.`).join('\n'),
    }),
  );
  const w = await createBraidWorker({
    connection: env.nativeConnection,
    cfg: readConfig({
      BRAID_TASK_QUEUE: 'record',
      BRAID_BLOB_DIR: blobDir,
      BRAID_MAX_TOKENS: '20000',
      BRAID_ANSWER_CACHE: path.join(blobDir, 'answers.db'),
    }),
    registry,
    model: {
      claude: new Anthropic({ apiKey: 'braid-simulator', baseURL: sim.url, maxRetries: 0 }),
      simulated: true,
      endpoint: sim.url,
      close: async () => {},
    },
    publishStores: publishScenarioStores(),
    sharedState: new SqliteVersionedStore(path.join(blobDir, 'shared-state.db')),
  });
  const client: Client = env.client;
  // The summarize scenario needs its corpus in the worker's blob store before it starts.
  const corpus = await buildCorpus(
    [path.join(__dirname, '..', 'data', 'docs', 'refunds-and-returns.md'), path.join(__dirname, '..', 'data', 'docs', 'shipping.md')],
    new FsBlobStore(blobDir),
    { maxTokens: 120 },
  );
  workflowScenarios['summarize-two-docs'] = {
    workflow: SUMMARIZE_WORKFLOW,
    args: [
      {
        manifestRef: corpus.manifestRef,
        chunkCount: corpus.chunkCount,
        sourceCount: corpus.sourceCount,
        task: 'Summarise returns and shipping.',
        concurrency: 8,
        group: 4,
        tolerate: 0,
        badFiles: [],
      },
    ],
    children: ['map-0', 'reduce-1'],
  };
  // The same map through Message Batches: submitted, waited for on timers, collected by custom_id.
  workflowScenarios['summarize-batch'] = {
    workflow: SUMMARIZE_WORKFLOW,
    args: [
      {
        ...(workflowScenarios['summarize-two-docs'].args[0] as SummarizeInput),
        batch: { size: 4, pollMs: 500, maxPollMs: 1000, rounds: 2 },
      } satisfies SummarizeInput,
    ],
  };
  const dir = path.join(__dirname, '..', 'test', 'histories');
  fs.mkdirSync(dir, { recursive: true });
  await w.worker.runUntil(async () => {
    for (const [name, input] of Object.entries(scenarios)) {
      if (!wanted(name)) continue;
      const handle = await client.workflow.start(ASK_WORKFLOW, { taskQueue: 'record', workflowId: name, args: [input] });
      await handle.result();
      await recordChain(client, dir, name, handle.firstExecutionRunId, name);
    }
    for (const [name, s] of Object.entries(workflowScenarios)) {
      if (!wanted(name)) continue;
      sim.configure({ faults: s.faults ?? [], answerRules: s.answerRules ?? [], latency: s.latency ?? { ttftMs: 20, perTokenMs: 0 } });
      // The replay test replays each file with its file name as the workflow id, so a parent whose
      // child ids derive from its own id is recorded under that name.
      const handle = await client.workflow.start(s.workflow, { taskQueue: 'record', workflowId: `${name}.json`, args: s.args });
      await handle.result();
      const files = [[`${name}.json`, `${name}.json`], ...(s.children ?? []).map((c) => [`${name}.json/${c}`, `${name}--${c}.json`])];
      for (const [id, file] of files) {
        fs.writeFileSync(path.join(dir, file!), `${historyToJSON(await client.workflow.getHandle(id!).fetchHistory())}\n`);
        console.log(`recorded ${file}`);
      }
    }
    sim.configure({ faults: [{ kind: 'status', status: 400, times: 1, match: { contains: 'You are the flaky specialist' } }] });
    await recordActorHistories(client, 'record', dir);
    await recordApprovalHistory(client, 'record', dir);
    sim.configure({ faults: [], answerRules: [] });
    await recordPublishHistories(client, 'record', dir, wanted, new FsBlobStore(blobDir));
  });
  await registry.close();
  await sim.close();
  await env.teardown();
  fs.rmSync(blobDir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
