/**
 * Prometheus metrics (issue #13 §2): a `braid worker` with BRAID_METRICS_PORT serves one endpoint
 * with Temporal's worker metrics and Braid's own. Scraped after an ask run, and after a summarize and
 * a pipeline run, against the real server with the simulator as the model.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { noopMetricMeter, type MetricMeter, type MetricTags } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createToolActivities } from '../src/activities/tools';
import { Breakers, RateLimiter, type FlowControl } from '../src/flow';
import { MemoryBackend } from '../src/flow/buckets';
import { freePort } from '../src/temporal/dev-server';
import { defineTool, ToolRegistry } from '../src/tools';
import { braid, server } from './cli-helpers';
import { sleep } from './helpers';

const BIN = path.join(__dirname, '..', 'bin', 'braid');

/** Starts `braid worker` and resolves once it says it polls. */
function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ANTHROPIC_|TEMPORAL_|BRAID_)/.test(k)));
  const child = spawn(process.execPath, [BIN, 'worker'], { env: { ...clean, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`the worker did not start: ${err}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (/Prometheus metrics on/.test(err)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the worker exited with ${code}: ${err}`));
    });
  });
}

/** The value of every sample of `name` whose labels include `labels`, from Prometheus text. */
function samples(text: string, name: string, labels: Record<string, string> = {}): number[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)))
    .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
}

let worker: ChildProcess | undefined;
afterEach(async () => {
  if (!worker || worker.exitCode !== null) return;
  const exited = new Promise((r) => worker!.once('exit', r));
  worker.kill('SIGINT');
  await exited;
});

describe('metrics endpoint', () => {
  it("serves Temporal's worker metrics and Braid's on BRAID_METRICS_PORT after an ask run", async () => {
    const port = await freePort();
    const env = server();
    worker = await startWorker({ ...env, BRAID_METRICS_PORT: String(port) });

    const q = 'What is 26.2 miles in kilometres, and what does the handbook say about refunds for damaged items?';
    const run = await braid(['ask', '--json', q], env);
    expect(run.code, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout);
    const model = Object.keys(r.usage.byModel)[0]!;

    // Workflow metrics leave the sandbox through a sink after the task completes: poll briefly.
    let text = '';
    for (let i = 0; i < 50; i++) {
      text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      if (samples(text, 'braid_branch_duration_count', { kind: 'tool' }).length && samples(text, 'braid_fanin_wait_count').length) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    console.log(
      text
        .split('\n')
        .filter((l) => l.startsWith('braid_'))
        .join('\n'),
    );
    // Temporal's own worker metrics …
    expect(text).toMatch(/^temporal_workflow_completed\{/m);
    expect(text).toMatch(/^temporal_activity_execution_latency_count\{/m);
    // … and Braid's, in the same scrape: tokens and dollars by model that match the run's result.
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(samples(text, 'braid_model_tokens', { model, kind: 'input' }))).toBe(r.usage.byModel[model].inputTokens);
    expect(sum(samples(text, 'braid_model_tokens', { model, kind: 'output' }))).toBe(r.usage.byModel[model].outputTokens);
    expect(sum(samples(text, 'braid_model_call_cost_usd_sum', { model }))).toBeCloseTo(r.cost.byModel[model].usd, 6);
    expect(sum(samples(text, 'braid_limiter_wait_count', { model }))).toBe(r.turns);
    // Branch durations by pattern and kind, and the width of the turn's tool fan-out.
    const tools = r.branches.filter((b: { kind: string }) => b.kind === 'tool').length;
    expect(sum(samples(text, 'braid_branch_duration_count', { pattern: 'toolAgent', kind: 'tool' }))).toBe(tools);
    expect(sum(samples(text, 'braid_branch_duration_count', { pattern: 'toolAgent', kind: 'llm' }))).toBe(r.turns);
    expect(sum(samples(text, 'braid_fanout_width_sum', { pattern: 'toolAgent' }))).toBe(tools);
    // Fan-in wait: one sample per turn whose tools ran two or more at once, never longer than the run.
    const perTurn = new Map<number, number>();
    for (const b of r.branches as { kind: string; turn: number }[])
      if (b.kind === 'tool') perTurn.set(b.turn, (perTurn.get(b.turn) ?? 0) + 1);
    const fanIns = [...perTurn.values()].filter((n) => n > 1).length;
    expect(fanIns).toBeGreaterThan(0); // the question asks for two tools at once
    expect(sum(samples(text, 'braid_fanin_wait_count', { pattern: 'toolAgent' }))).toBe(fanIns);
    const waited = sum(samples(text, 'braid_fanin_wait_sum', { pattern: 'toolAgent' }));
    expect(waited).toBeGreaterThanOrEqual(0);
    expect(waited).toBeLessThanOrEqual(r.timing.totalMs);
  });
});

describe('metrics endpoint for summarize and pipeline', () => {
  it('counts the tokens and dollars of a summarize and a pipeline run by model, as their results report them', async () => {
    const port = await freePort();
    const blobs = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-metrics-'));
    try {
      const env = { ...server(), BRAID_BLOB_DIR: blobs };
      worker = await startWorker({ ...env, BRAID_METRICS_PORT: String(port) });
      const topics = path.join(blobs, 'topics.txt');
      fs.writeFileSync(topics, 'Tide pools\nWhy bread rises\n');
      const runs = await Promise.all([
        braid(['summarize', 'data/docs', '--task', 'What does the handbook say about refunds?', '--json', '--fresh'], env),
        braid(['pipeline', topics, '--concurrency', '2', '--json'], env),
      ]);
      const want: Record<string, { inputTokens: number; outputTokens: number; usd: number }> = {};
      for (const run of runs) {
        expect(run.code, run.stderr).toBe(0);
        const r = JSON.parse(run.stdout) as {
          cost: { byModel: Record<string, { inputTokens: number; outputTokens: number; usd: number }> };
        };
        for (const [model, c] of Object.entries(r.cost.byModel)) {
          const w = (want[model] ??= { inputTokens: 0, outputTokens: 0, usd: 0 });
          w.inputTokens += c.inputTokens;
          w.outputTokens += c.outputTokens;
          w.usd += c.usd;
        }
      }
      expect(Object.keys(want).length).toBeGreaterThan(0);
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toMatch(/^temporal_workflow_completed\{/m);
      for (const [model, w] of Object.entries(want)) {
        expect(sum(samples(text, 'braid_model_tokens', { model, kind: 'input' })), model).toBe(w.inputTokens);
        expect(sum(samples(text, 'braid_model_tokens', { model, kind: 'output' })), model).toBe(w.outputTokens);
        expect(sum(samples(text, 'braid_model_call_cost_usd_sum', { model }))).toBeCloseTo(w.usd, 6);
      }
    } finally {
      fs.rmSync(blobs, { recursive: true, force: true });
    }
  });
});

/** A meter that keeps every counter addition as "name{tag=value,…} value" (tags sorted). */
function recordingMeter(): { meter: MetricMeter; lines: string[] } {
  const lines: string[] = [];
  const key = (name: string, tags: MetricTags) =>
    `${name}{${Object.entries(tags)
      .filter(([k]) => !['activityType', 'namespace', 'taskQueue'].includes(k))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(',')}}`;
  const meter: MetricMeter = {
    ...noopMetricMeter,
    createCounter: (name) => ({
      ...noopMetricMeter.createCounter(name),
      add: (v, tags = {}) => void lines.push(`${key(name, tags)} ${v}`),
    }),
    createHistogram: (name, t) => noopMetricMeter.createHistogram(name, t),
    createGauge: (name, t) => noopMetricMeter.createGauge(name, t),
    withTags: () => meter,
  };
  return { meter, lines };
}

describe('flow metrics', () => {
  it('count breaker state changes and tool error results by tool and reason', async () => {
    const { meter, lines } = recordingMeter();
    const flow: FlowControl = {
      limiter: new RateLimiter({ backend: new MemoryBackend(), defaults: {}, burstMs: 1000, maxWaitMs: 5000 }),
      breakers: new Breakers({ failures: 2, windowMs: 10_000, cooldownMs: 200 }),
      llmBackoff: { baseMs: 1000, maxMs: 30_000 },
      toolBackoff: { baseMs: 200, maxMs: 5000 },
      attempts: { maxAttempts: 6, outageBudgetMs: 60_000 },
      ready: async () => {},
      close: async () => {},
    };
    let healthy = false;
    const registry = new ToolRegistry().register(
      defineTool({
        name: 'flaky',
        description: 'Crashes until healthy.',
        input: z.object({ n: z.number() }),
        handler: async () => {
          if (!healthy) throw new Error('backend down');
          return 'fine';
        },
      }),
    );
    const tools = createToolActivities({ registry, flow });
    const env = () =>
      new MockActivityEnvironment(
        { attempt: 1, retryPolicy: { maximumAttempts: 5 } },
        { logger: new DefaultLogger('ERROR', () => {}), metricMeter: meter },
      );
    const call = (input: unknown) =>
      env()
        .run(tools.runTool, { toolUseId: 'toolu_1', name: 'flaky', input })
        .catch((e: unknown) => e);

    await call({ n: 1 }); // crash 1
    await call({ n: 1 }); // crash 2: the breaker opens
    await call({ n: 1 }); // refused while open
    await call({ n: 'x' }); // refused while open (the breaker comes first)
    await sleep(250);
    healthy = true;
    await call({ n: 1 }); // the probe: half-open, then closed
    await call({ n: 'x' }); // a bad input: an error result, the breaker stays closed
    expect(lines).toEqual([
      'braid_tool_errors{reason=error,tool=flaky} 1',
      'braid_breaker_transitions{breaker=tool:flaky,to=open} 1',
      'braid_tool_errors{reason=error,tool=flaky} 1',
      'braid_tool_errors{reason=circuit-open,tool=flaky} 1',
      'braid_tool_errors{reason=circuit-open,tool=flaky} 1',
      'braid_breaker_transitions{breaker=tool:flaky,to=half-open} 1',
      'braid_breaker_transitions{breaker=tool:flaky,to=closed} 1',
      'braid_tool_errors{reason=error,tool=flaky} 1',
    ]);
  });
});
