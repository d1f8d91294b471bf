/**
 * `npm run bench -- fanout-wide`: one workflow fans out N model calls (Braid's `llmTurn`, through
 * the sliding window at C in flight) to the simulator, which runs in a process of its own and
 * answers each after L (`--jitter` spreads L log-normally). The worker gets C activity slots, as an
 * operator running such a load would give it. Reported: Braid's makespan (client start request →
 * result received, median of `--runs`) against the ideal ⌈N/C⌉·L (ideal.ts with jitter), and the
 * same calls made by a plain Promise.all + p-limit(C) loop over the SDK without Temporal, and how
 * many of Braid's workflow tasks failed or timed out (each costs the run a full replay).
 */
import { simulatorModel } from '../src/model-client';
import Table from 'cli-table3';
import pLimit from 'p-limit';
import { randomUUID } from 'node:crypto';
import { tableStyle } from '../src/cli/render';
import { readConfig } from '../src/config';
import { ToolRegistry } from '../src/tools';
import { createBraidWorker } from '../src/worker';
import { treeStats } from '../src/summarize/tree-stats';
import { benchTemporal, latencyDist, loadAverage, median, startSimulatorProcess } from './harness';
import { idealMs } from './ideal';
import { benchBundle } from './overhead';
import { plotFile, writePlot } from './plot';

export interface FanoutWideOptions {
  n: number;
  concurrency: number;
  latencyMs: number;
  runs: number;
  jitter: number;
  json: boolean;
  /** Also draw the figures as an SVG (`--plot [file]`). */
  plot?: string | true;
}

export async function fanoutWideBench(o: FanoutWideOptions): Promise<void> {
  const log = (l: string) => !o.json && process.stderr.write(`${l}\n`);
  const latency = latencyDist(o.latencyMs, o.jitter);
  const sim = await startSimulatorProcess({ latency: { ttftMs: latency, perTokenMs: 0 } });
  const temporal = await benchTemporal(log);
  const cfg = readConfig({ BRAID_TASK_QUEUE: `bench-fanout-wide-${randomUUID()}` });
  const model = simulatorModel(sim.url, 120_000);
  const { claude } = model;
  const worker = await createBraidWorker({
    connection: temporal.native,
    cfg,
    registry: new ToolRegistry(),
    model,
    workflowBundle: await benchBundle(),
    tuning: { maxConcurrentActivityTaskExecutions: Math.max(o.concurrency, 200) },
  });
  const running = worker.run();
  /** Workflow tasks the server force-closed or the worker failed, per measured run (from each run's history). */
  const taskFailures: number[] = [];
  const braid = async () => {
    const t0 = Date.now();
    const workflowId = `fanout-wide-${randomUUID()}`;
    const ok = await temporal.client.workflow.execute('benchWideFanout', {
      taskQueue: cfg.taskQueue,
      workflowId,
      args: [o.n, o.concurrency, 'fast'],
    });
    const ms = Date.now() - t0;
    if (ok !== o.n) throw new Error(`${o.n - Number(ok)} of ${o.n} model calls failed during the benchmark`);
    taskFailures.push((await treeStats(temporal.client, workflowId)).workflowTaskFailures);
    return ms;
  };
  const plain = async () => {
    const limit = pLimit(o.concurrency);
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: o.n }, (_, i) =>
        limit(() =>
          claude.messages
            .stream({
              model: cfg.models.fast,
              max_tokens: 16,
              messages: [{ role: 'user', content: `Say one word about the number ${i}.` }],
            })
            .finalMessage(),
        ),
      ),
    );
    return Date.now() - t0;
  };
  const samples = { braid: [] as number[], baseline: [] as number[] };
  const load = [loadAverage()];
  try {
    log(
      `simulator ${sim.url} (own process): every model call takes ${o.latencyMs} ms${o.jitter ? ` (median; log-normal σ ${o.jitter})` : ''}`,
    );
    await braid(); // warm-up: workflow cache, connections, JIT
    taskFailures.length = 0;
    for (let r = 0; r < o.runs; r++) {
      samples.braid.push(await braid());
      samples.baseline.push(await plain());
      load.push(loadAverage());
      log(
        `run ${r + 1}/${o.runs}: Braid ${samples.braid.at(-1)} ms (${taskFailures.at(-1)} workflow tasks failed), Promise.all + p-limit ${samples.baseline.at(-1)} ms`,
      );
    }
  } finally {
    await worker.shutdown();
    await running;
    await temporal.close();
    await sim.close();
  }
  const out = {
    scenario: 'fanout-wide',
    n: o.n,
    c: o.concurrency,
    latencyMs: o.latencyMs,
    jitter: o.jitter,
    braidMs: median(samples.braid),
    idealMs: idealMs([{ items: o.n, steps: 1, c: o.concurrency }], latency),
    baselineMs: median(samples.baseline),
    workflowTaskFailures: taskFailures.reduce((a, b) => a + b, 0),
    samples,
    loadAverage: Math.max(...load),
  };
  if (o.plot)
    await writePlot(plotFile('fanout-wide', o.plot), 'npm run bench -- fanout-wide', [
      {
        title: `${o.n} model calls of ${o.latencyMs} ms${o.jitter ? ` (σ ${o.jitter})` : ''}, ${o.concurrency} at once: makespan, median of ${o.runs}`,
        yTitle: 'ms',
        bars: [
          { group: 'ideal', series: 'makespan', value: out.idealMs },
          { group: 'Braid', series: 'makespan', value: out.braidMs },
          { group: 'Promise.all + p-limit, no Temporal', series: 'makespan', value: out.baselineMs },
        ],
      },
    ]);
  if (o.json) return void console.log(JSON.stringify(out));
  const t = new Table({ head: ['variant', 'median', 'runs (ms)', '/ ideal'], style: tableStyle() });
  t.push(['Braid: one workflow, N branches', `${out.braidMs} ms`, samples.braid.join(', '), (out.braidMs / out.idealMs).toFixed(2)]);
  t.push([
    'Promise.all + p-limit, no Temporal',
    `${out.baselineMs} ms`,
    samples.baseline.join(', '),
    (out.baselineMs / out.idealMs).toFixed(2),
  ]);
  t.push([o.jitter ? 'ideal (jittered)' : 'ideal ⌈N/C⌉·L', `${out.idealMs} ms`, '', '1.00']);
  console.log(t.toString());
  console.log(
    `N = ${o.n} model calls, C = ${o.concurrency}, L = ${o.latencyMs} ms; ${out.workflowTaskFailures} workflow tasks failed or timed out in ${o.runs} Braid runs; load average up to ${out.loadAverage}`,
  );
}
