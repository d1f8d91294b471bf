/**
 * OpenTelemetry traces (issue #13 §1) against the real Temporal server, the simulator and an
 * in-process OTLP/HTTP receiver: an ask fan-out, a summarize map-reduce (child workflows) and a
 * pipeline (its model calls on the model-call queue) each arrive as one connected trace — one root,
 * the client's start span; every workflow, child workflow and activity of the run in it, as many
 * activity spans as the run's histories have activities; Braid's model-call spans with the tokens
 * the result counts and an HTTP request under each; tool spans named after the branches; and no
 * prompt or answer text in any attribute.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BraidClientPlugin } from '../src/api/client';
import { BraidWorkerPlugin } from '../src/api/worker';
import { FsBlobStore, putJson } from '../src/blobs/store';
import { readConfig } from '../src/config';
import { ASK_WORKFLOW, type AgentInput, type AgentResult } from '../src/shared/ask';
import { PIPELINE_WORKFLOW, type PipelineInput, type PipelineResult } from '../src/shared/pipeline';
import { SUMMARIZE_WORKFLOW, type CorpusManifest, type SummarizeInput, type SummarizeResult } from '../src/shared/summarize';
import { llmTaskQueue } from '../src/shared/task-queues';
import type { Simulator } from '../src/simulator';
import { tracingFor, type ProcessTracing } from '../src/telemetry/tracing';
import { ToolRegistry } from '../src/tools';
import { connect, latencyTool, localActivities, sleep, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';
import { OtlpReceiver, type ReceivedSpan } from './otlp-receiver';

let h: Harness;
let sim: Simulator;
let worker: TestWorker;
let receiver: OtlpReceiver;
let tracing: ProcessTracing;
let client: Client;
let blobs: FsBlobStore;
const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-trace-blobs-'));
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-trace-out-'));

beforeAll(async () => {
  h = await connect();
  sim = await startSimulator();
  receiver = await OtlpReceiver.start();
  // Through the settings, as a worker started with OTEL_EXPORTER_OTLP_ENDPOINT gets it (default protocol: http/protobuf).
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, BRAID_BLOB_DIR: blobDir, BRAID_STREAM_IDLE_TIMEOUT_MS: '20000' };
  tracing = tracingFor(readConfig(env))!;
  // The workflow-side interceptors must be in the bundle: bundled with the plugin, as a library user would.
  const bundle = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, '..', 'src', 'workflows', 'index.ts'),
    plugins: [new BraidWorkerPlugin({ tracing })],
    logger: new DefaultLogger('ERROR'),
  });
  const registry = new ToolRegistry().register(...['lookup_a', 'lookup_b', 'lookup_c'].map((n) => latencyTool(n, 50)));
  worker = await startWorker(h, registry, sim, env, { workflowBundle: bundle });
  client = new Client({ connection: h.client.connection, plugins: [new BraidClientPlugin({ tracing })] });
  blobs = new FsBlobStore(blobDir);
});

afterAll(async () => {
  await worker?.shutdown();
  await tracing?.shutdown();
  await receiver?.close();
  await sim?.close();
  await h?.close();
  fs.rmSync(blobDir, { recursive: true, force: true });
  fs.rmSync(outDir, { recursive: true, force: true });
});

/** Every workflow of a run (the run and its children, recursively) with its activities' count (local ones too), from history. */
async function workflowsOf(handle: WorkflowHandle): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const visit = async (id: string) => {
    const events = (await h.client.workflow.getHandle(id).fetchHistory()).events ?? [];
    found.set(id, events.filter((e) => e.activityTaskScheduledEventAttributes).length + localActivities({ events }).length);
    for (const e of events) {
      const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId;
      if (child) await visit(child);
    }
  };
  await visit(handle.workflowId);
  return found;
}

/** The workflow a span belongs to: activity and client spans say `temporalWorkflowId`, workflow spans `workflowId`. */
const workflowIdOf = (s: ReceivedSpan) => (s.attributes.temporalWorkflowId ?? s.attributes.workflowId) as string | undefined;

/** The run's trace, once the workflow spans of all its workflows have arrived (they leave the sandbox through a sink). */
async function traceOf(handle: WorkflowHandle, workflows: Map<string, number>): Promise<ReceivedSpan[]> {
  // Through the untraced client: the test's own calls are no part of the run.
  const type = (await h.client.workflow.getHandle(handle.workflowId).describe()).type;
  for (let i = 0; i < 100; i++) {
    await tracing.flush();
    const start = receiver.spans.find((s) => s.name === `StartWorkflow:${type}` && workflowIdOf(s) === handle.workflowId);
    if (start) {
      const spans = receiver.trace(start.traceId);
      const ran = new Set(spans.filter((s) => s.name.startsWith('RunWorkflow:')).map(workflowIdOf));
      if ([...workflows.keys()].every((id) => ran.has(id))) return spans;
    }
    await sleep(100);
  }
  throw new Error(`the trace of ${handle.workflowId} did not arrive`);
}

/** One connected trace: a single root (the client's start span), every parent present, every span of the run's workflows in it. */
function expectConnected(spans: ReceivedSpan[], handle: WorkflowHandle, workflows: Map<string, number>): void {
  const ids = new Set(spans.map((s) => s.spanId));
  const roots = spans.filter((s) => !s.parentSpanId);
  expect(roots.map((s) => s.name)).toEqual([expect.stringMatching(/^StartWorkflow:/)]);
  expect(workflowIdOf(roots[0]!)).toBe(handle.workflowId);
  expect(spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId)).map((s) => s.name)).toEqual([]);
  const traceId = roots[0]!.traceId;
  // No span of the run's workflows landed in another trace.
  expect(receiver.spans.filter((s) => workflows.has(String(workflowIdOf(s))) && s.traceId !== traceId).map((s) => s.name)).toEqual([]);
  for (const [id, activities] of workflows) {
    const mine = spans.filter((s) => workflowIdOf(s) === id);
    expect(
      mine.filter((s) => s.name.startsWith('RunWorkflow:')),
      id,
    ).toHaveLength(1);
    expect(
      mine.filter((s) => s.name.startsWith('RunActivity:')),
      id,
    ).toHaveLength(activities);
  }
  // Every model call's HTTP request (the Anthropic SDK's span) is a child of Braid's model-call span.
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const chats = spans.filter((s) => s.name.startsWith('chat '));
  for (const chat of chats) {
    expect(byId.get(chat.parentSpanId!)!.name).toMatch(/^RunActivity:/);
    const http = spans.filter((s) => s.parentSpanId === chat.spanId && s.name === 'anthropic.messages.create');
    expect(http.map((s) => s.attributes['http.response.status_code'])).toEqual([200]);
  }
  // Workflow spans keep ids and counters of the workflow's info, not its memo or last result.
  for (const s of spans.filter((x) => x.attributes.workflowId !== undefined))
    expect(Object.keys(s.attributes).filter((k) => ['memo', 'lastResult', 'lastFailure', 'searchAttributes'].includes(k))).toEqual([]);
}

/** No attribute or event of the trace carries any of these texts. */
function expectNoText(spans: ReceivedSpan[], texts: string[]): void {
  const values = JSON.stringify(spans.map((s) => [s.attributes, s.events]));
  for (const text of texts.filter((t) => t.length > 12)) expect(values).not.toContain(text);
}

const sumOf = (spans: ReceivedSpan[], key: string) => spans.reduce((n, s) => n + Number(s.attributes[key] ?? 0), 0);

describe('OpenTelemetry traces', () => {
  it('an ask fan-out: one trace from the client span through the workflow, model calls and parallel tools', async () => {
    const question = 'Check all three lookup sources, please.\n#sim tools=lookup_a,lookup_b,lookup_c';
    const handle = await client.workflow.start(ASK_WORKFLOW, {
      taskQueue: worker.taskQueue,
      workflowId: `trace-ask-${Math.random().toString(36).slice(2)}`,
      args: [{ question } satisfies AgentInput],
    });
    const r = (await handle.result()) as AgentResult;
    const workflows = await workflowsOf(handle);
    const spans = await traceOf(handle, workflows);
    expectConnected(spans, handle, workflows);

    const tools = r.branches.filter((b) => b.kind === 'tool');
    expect(tools).toHaveLength(3);
    const toolSpans = spans.filter((s) => s.name.startsWith('execute_tool '));
    expect(toolSpans.map((s) => s.name).sort()).toEqual(tools.map((b) => `execute_tool ${b.name}`).sort());
    expect(toolSpans.map((s) => s.attributes['braid.tool.status'])).toEqual(['ok', 'ok', 'ok']);
    const chats = spans.filter((s) => s.name.startsWith('chat '));
    expect(chats).toHaveLength(r.branches.filter((b) => b.kind === 'llm').length);
    expect(sumOf(chats, 'gen_ai.usage.input_tokens')).toBe(r.usage.total.inputTokens);
    expect(sumOf(chats, 'gen_ai.usage.output_tokens')).toBe(r.usage.total.outputTokens);
    expect(sumOf(chats, 'braid.cost.usd')).toBeCloseTo(r.cost!.totalUsd, 6);
    expect(chats.at(-1)!.attributes['gen_ai.response.finish_reasons']).toEqual(['end_turn']);
    expect(chats.every((s) => s.attributes['braid.breaker.state'] === 'closed')).toBe(true);
    expect(spans.filter((s) => s.name === 'braid.limiter.wait')).toHaveLength(chats.length);
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['braid']));
    expectNoText(spans, [question.split('\n')[0]!, r.answer]);
  });

  it("an ask that continues as new: both segments in the one trace, the second under the first one's continue-as-new span", async () => {
    const handle = await client.workflow.start(ASK_WORKFLOW, {
      taskQueue: worker.taskQueue,
      workflowId: `trace-ask-can-${Math.random().toString(36).slice(2)}`,
      args: [{ question: 'Look it up.\n#sim tools=lookup_a,lookup_b', continueAsNewAfterEvents: 5 } satisfies AgentInput],
    });
    const r = (await handle.result()) as AgentResult;
    expect(r.runs).toBe(2);
    let runs: ReceivedSpan[] = [];
    for (let i = 0; i < 100 && runs.length < 2; i++) {
      await tracing.flush();
      runs = receiver.spans.filter((s) => s.name === 'RunWorkflow:toolAgent' && workflowIdOf(s) === handle.workflowId);
      if (runs.length < 2) await sleep(100);
    }
    expect(runs).toHaveLength(2);
    const start = receiver.spans.find((s) => s.name === 'StartWorkflow:toolAgent' && workflowIdOf(s) === handle.workflowId)!;
    expect(runs.map((s) => s.traceId)).toEqual([start.traceId, start.traceId]);
    const byId = new Map(receiver.trace(start.traceId).map((s) => [s.spanId, s]));
    const [first, second] = runs[0]!.attributes.continuedFromExecutionRunId ? [runs[1]!, runs[0]!] : [runs[0]!, runs[1]!];
    expect(first.parentSpanId).toBe(start.spanId);
    expect(second.attributes.continuedFromExecutionRunId).toBe(first.attributes.runId);
    const handover = byId.get(second.parentSpanId!)!;
    expect(handover.name).toBe('ContinueAsNew:toolAgent');
    expect(handover.parentSpanId).toBe(first.spanId);
  });

  it('a summarize run: the map-reduce tree of child workflows in one trace', async () => {
    const chunks: CorpusManifest['chunks'] = [];
    for (let i = 0; i < 12; i++) {
      const text = `Section ${i}: revenue in region ${i % 4} grew by ${i + 3} percent after the spring launch.`;
      chunks.push({ id: `0:${i}`, source: 'doc-0.md', start: i * 100, end: i * 100 + text.length, tokens: 20, ref: await blobs.put(text) });
    }
    const manifest: CorpusManifest = { version: 1, chunks, sources: [{ path: 'doc-0.md', sha256: 'x', chars: 1200 }] };
    const input: SummarizeInput = {
      task: 'Summarise the growth story.',
      concurrency: 8,
      group: 4,
      tolerate: 0,
      badFiles: [],
      manifestRef: await putJson(blobs, manifest),
      chunkCount: chunks.length,
      sourceCount: 1,
    };
    const handle = await client.workflow.start(SUMMARIZE_WORKFLOW, {
      taskQueue: worker.taskQueue,
      workflowId: `trace-summarize-${Math.random().toString(36).slice(2)}`,
      args: [input],
    });
    const r = (await handle.result()) as SummarizeResult;
    expect(r.complete).toBe(true);
    const workflows = await workflowsOf(handle);
    expect(workflows.size).toBeGreaterThan(1); // the map fans out through child workflows
    const spans = await traceOf(handle, workflows);
    expectConnected(spans, handle, workflows);
    // Each child's run hangs under the parent's start-child span.
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    for (const id of [...workflows.keys()].slice(1)) {
      const run = spans.find((s) => s.name.startsWith('RunWorkflow:') && workflowIdOf(s) === id)!;
      expect(byId.get(run.parentSpanId!)!.name).toMatch(/^StartChildWorkflow:/);
    }
    const chats = spans.filter((s) => s.name.startsWith('chat '));
    expect(chats.length).toBeGreaterThanOrEqual(chunks.length);
    expectNoText(spans, [r.answer]);
  });

  it('a pipeline run: chains and their stages, model calls on the model-call queue, in one trace', async () => {
    const handle = await client.workflow.start(PIPELINE_WORKFLOW, {
      taskQueue: worker.taskQueue,
      workflowId: `trace-pipeline-${Math.random().toString(36).slice(2)}`,
      args: [
        {
          topics: ['Tidal energy', 'Heat pumps'],
          concurrency: 2,
          outDir,
          llmTaskQueue: llmTaskQueue(worker.taskQueue),
        } satisfies PipelineInput,
      ],
    });
    const r = (await handle.result()) as PipelineResult;
    expect(r.ok).toBe(2);
    const workflows = await workflowsOf(handle);
    const spans = await traceOf(handle, workflows);
    expectConnected(spans, handle, workflows);
    const chats = spans.filter((s) => s.name.startsWith('chat '));
    expect(chats.length).toBe(r.chains.reduce((n, c) => n + (c.stages?.length ?? 0), 0));
    expect(sumOf(chats, 'gen_ai.usage.output_tokens')).toBe(r.usage.outputTokens);
  });
});
