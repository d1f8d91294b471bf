/**
 * `npm run bench -- tool-fanout`: the seed's headline example. One model turn asks for six tool
 * calls whose latencies spread from 0.2 s to 3 s (remote calls to the simulator's tool endpoint,
 * so each is real HTTP I/O), then a synthesis turn. In one run, alternating variants each round, it
 * measures: the calls one after another, a plain Promise.all loop without Temporal, Braid's
 * workflow (client start → result, through the real server), and the ideal — the slowest tool
 * plus the model turns as measured in the baseline. The simulator runs in a process of its own, as a
 * real API does; `--jitter` spreads the model's time to first token log-normally.
 */
import Anthropic from '@anthropic-ai/sdk';
import Table from 'cli-table3';
import { benchTemporal, latencyDist, loadAverage, median, startSimulatorProcess, type SimulatorProcess } from './harness';
import { plotFile, writePlot } from './plot';
import { z } from 'zod';
import { readConfig } from '../src/config';
import { ASK_WORKFLOW, type AgentResult } from '../src/shared/ask';
import { defineTool, ToolRegistry } from '../src/tools';
import { createBraidWorker } from '../src/worker';
import { plainAgent } from './plain-agent';
import { tableStyle } from '../src/cli/render';

export interface FanoutOptions {
  runs: number;
  toolLatenciesMs: number[];
  modelTtftMs: number;
  jitter: number;
  json: boolean;
  /** Also draw the figures as an SVG (`--plot [file]`). */
  plot?: string | true;
}

function remoteTools(sim: SimulatorProcess, latencies: number[]): ToolRegistry {
  const registry = new ToolRegistry();
  latencies.forEach((_, i) => {
    const name = `source_${i + 1}`;
    registry.register(
      defineTool({
        name,
        description: `Remote data source ${i + 1} (simulated API).`,
        input: z.object({ query: z.string().optional() }),
        timeoutMs: 30_000,
        async handler(input, ctx) {
          const res = await fetch(`${sim.url}/_sim/tools/${name}`, {
            method: 'POST',
            body: JSON.stringify(input),
            headers: { 'content-type': 'application/json' },
            signal: ctx.signal,
          });
          if (!res.ok) throw new Error(`${name}: HTTP ${res.status}`);
          return (await res.json()) as Record<string, unknown>;
        },
      }),
    );
  });
  return registry;
}

export async function toolFanout(o: FanoutOptions) {
  const log = (l: string) => !o.json && process.stderr.write(`${l}\n`);
  const tools = Object.fromEntries(o.toolLatenciesMs.map((ms, i) => [`source_${i + 1}`, ms]));
  const sim = await startSimulatorProcess({ latency: { ttftMs: latencyDist(o.modelTtftMs, o.jitter), perTokenMs: 1, tools } });
  log(
    `simulator ${sim.url} (own process): model first token ${o.modelTtftMs} ms${o.jitter ? ` (median; log-normal σ ${o.jitter})` : ''} + 1 ms/token; tools ${o.toolLatenciesMs.join(', ')} ms`,
  );
  const temporal = await benchTemporal(log);
  const native = temporal.native;
  const env = { client: temporal.client };
  const registry = remoteTools(sim, o.toolLatenciesMs);
  const claude = new Anthropic({ apiKey: 'braid-simulator', baseURL: sim.url, maxRetries: 0 });
  const cfg = readConfig({ BRAID_TASK_QUEUE: 'bench-fanout' });
  const worker = await createBraidWorker({
    connection: native,
    cfg,
    registry,
    model: { claude, simulated: true, endpoint: sim.url, close: async () => {} },
  });
  const running = worker.run();
  const question = `#sim tools=${registry.names().join(',')}\nWhat do all six sources say about our Q3 numbers?`;
  const samples = { sequential: [] as number[], baseline: [] as number[], braid: [] as number[], ideal: [] as number[] };
  try {
    // One warm-up run so the workflow cache and connections are hot for every variant alike.
    await env.client.workflow.execute(ASK_WORKFLOW, { taskQueue: cfg.taskQueue, workflowId: 'fanout-warmup', args: [{ question }] });
    for (let i = 0; i < o.runs; i++) {
      const seq = await plainAgent(claude, cfg.models.capable, registry, question, 'sequential');
      samples.sequential.push(seq.ms);
      const base = await plainAgent(claude, cfg.models.capable, registry, question, 'parallel');
      samples.baseline.push(base.ms);
      samples.ideal.push(Math.max(...o.toolLatenciesMs) + base.modelMs.reduce((a, b) => a + b, 0));
      const t0 = Date.now();
      const r: AgentResult = await env.client.workflow.execute(ASK_WORKFLOW, {
        taskQueue: cfg.taskQueue,
        workflowId: `fanout-${i}-${Date.now()}`,
        args: [{ question }],
      });
      samples.braid.push(Date.now() - t0);
      if (r.branches.filter((b) => b.kind === 'tool' && b.status === 'ok').length !== o.toolLatenciesMs.length)
        throw new Error('a tool branch failed during the benchmark');
      log(`run ${i + 1}/${o.runs}: sequential ${seq.ms} ms, Promise.all ${base.ms} ms, Braid ${samples.braid.at(-1)} ms`);
    }
  } finally {
    await worker.shutdown();
    await running;
    await temporal.close();
    await sim.close();
  }
  const result = {
    scenario: 'tool-fanout',
    runs: o.runs,
    toolLatenciesMs: o.toolLatenciesMs,
    modelTtftMs: o.modelTtftMs,
    jitter: o.jitter,
    sequentialMs: median(samples.sequential),
    baselineMs: median(samples.baseline),
    braidMs: median(samples.braid),
    idealMs: median(samples.ideal),
    samples,
    loadAverage: loadAverage(),
  };
  const ratios = {
    speedupVsSequential: +(result.sequentialMs / result.braidMs).toFixed(2),
    braidOverBaseline: +(result.braidMs / result.baselineMs).toFixed(3),
    braidOverIdeal: +(result.braidMs / result.idealMs).toFixed(3),
    temporalOverheadMs: result.braidMs - result.baselineMs,
  };
  if (o.plot)
    await writePlot(plotFile('tool-fanout', o.plot), 'npm run bench -- tool-fanout', [
      {
        title: `one model turn, ${o.toolLatenciesMs.length} tool calls of ${o.toolLatenciesMs.join(', ')} ms, a synthesis turn: makespan, median of ${o.runs}`,
        yTitle: 'ms',
        bars: [
          { group: 'sequential, no Temporal', series: 'makespan', value: result.sequentialMs },
          { group: 'Promise.all, no Temporal', series: 'makespan', value: result.baselineMs },
          { group: 'Braid', series: 'makespan', value: result.braidMs },
          { group: 'ideal', series: 'makespan', value: result.idealMs },
        ],
      },
    ]);
  if (o.json) {
    console.log(JSON.stringify({ ...result, ...ratios }));
    return;
  }
  const t = new Table({ head: ['variant', 'median', 'runs (ms)', 'vs Braid'], style: tableStyle() });
  const row = (name: string, ms: number, xs: number[]) => t.push([name, `${ms} ms`, xs.join(', '), `${(ms / result.braidMs).toFixed(2)}×`]);
  row('sequential (SDK, no Temporal)', result.sequentialMs, samples.sequential);
  row('Promise.all (SDK, no Temporal)', result.baselineMs, samples.baseline);
  row('Braid workflow (Temporal)', result.braidMs, samples.braid);
  row('ideal: slowest tool + model turns', result.idealMs, samples.ideal);
  console.log(t.toString());
  console.log(
    `Braid is ${ratios.speedupVsSequential}× faster than sequential; ${ratios.temporalOverheadMs} ms (${((ratios.braidOverBaseline - 1) * 100).toFixed(1)}%) slower than an in-memory Promise.all, which is the price of durability; ${((ratios.braidOverIdeal - 1) * 100).toFixed(1)}% above ideal (load average ${result.loadAverage}).`,
  );
}
