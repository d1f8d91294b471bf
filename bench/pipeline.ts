/**
 * `npm run bench -- pipeline`: the seed's throughput table for the content pipeline — 10, 50 and
 * 100 topics × 5, 10 and 25 chains at once, three stages each — with the stage time scaled down
 * (10 s → 200 ms by default). Each stage is one model call to the simulator, which runs in a
 * process of its own as a real API does, and whose latency is the stage time (`--jitter` spreads it
 * log-normally around that median); the quality gate is set so it never sends a draft back, so
 * every chain is exactly three stages. Per cell it prints the sequential time (N·3·L), Braid's
 * makespan (client start request → result received, through a real Temporal server, median of
 * `--runs`), the ideal (⌈N/C⌉·3·L at a fixed latency; see ideal.ts with jitter), and the seed's own
 * figure scaled by L / 10 s. The CLI routes model calls as it would without a queue rate limit:
 * on the workflow's own queue.
 *
 * `--overlap` measures stage overlap (each paragraph of a draft edited as soon as it is written): the
 * simulator then also writes at `--token-ms` per token after the stage time, so a stage's length
 * grows with its text and a paragraph is complete before the draft is; every cell runs once
 * without and once with overlap, in the same run, and adds `overlapMs` (median), `overlapSamples`
 * and `overlapGain` (braidMs / overlapMs). `sequentialMs`, `idealMs` and the seed figures count the
 * stage time only, not the writing time, so with `--overlap` compare `braidMs` with `overlapMs`.
 */
import Anthropic from '@anthropic-ai/sdk';
import Table from 'cli-table3';
import { benchTemporal, latencyDist, loadAverage, median, medianExact, cpuSnapshot, cpuUsed, startSimulatorProcess } from './harness';
import { idealMs } from './ideal';
import { readConfig } from '../src/config';
import { tableStyle } from '../src/cli/render';
import { PIPELINE_WORKFLOW, type PipelineInput, type PipelineResult } from '../src/shared/pipeline';
import { ToolRegistry } from '../src/tools';
import { createBraidWorker } from '../src/worker';
import { plotFile, writePlot } from './plot';

export interface PipelineBenchOptions {
  topics: number[];
  concurrency: number[];
  stageMs: number;
  runs: number;
  jitter: number;
  json: boolean;
  /** Also run every cell with stage overlap, the simulator writing at `tokenMs` per token. */
  overlap?: boolean;
  tokenMs?: number;
  /** Also draw the figures as an SVG (`--plot [file]`). */
  plot?: string | true;
}

const SEED_STAGE_MS = 10_000;
/** The seed's table, in seconds, for 10 s stages: concurrency → topics → time. */
const SEED: Record<number, Record<number, number>> = {
  1: { 10: 300, 50: 1500, 100: 3000 },
  5: { 10: 90, 50: 330, 100: 630 },
  10: { 10: 60, 50: 180, 100: 330 },
  25: { 10: 30, 50: 90, 100: 150 },
};

export async function pipelineBench(o: PipelineBenchOptions): Promise<void> {
  const log = (l: string) => !o.json && process.stderr.write(`${l}\n`);
  const latency = latencyDist(o.stageMs, o.jitter);
  const tokenMs = o.overlap ? (o.tokenMs ?? 10) : 0;
  const sim = await startSimulatorProcess({ latency: { ttftMs: latency, perTokenMs: tokenMs } });
  const temporal = await benchTemporal(log);
  const client = temporal.client;
  const cfg = readConfig({ BRAID_TASK_QUEUE: 'bench-pipeline' });
  const claude = new Anthropic({ apiKey: 'braid-simulator', baseURL: sim.url, maxRetries: 0 });
  const worker = await createBraidWorker({
    connection: temporal.native,
    cfg,
    registry: new ToolRegistry(),
    model: { claude, simulated: true, endpoint: sim.url, close: async () => {} },
    tuning: { maxCachedWorkflows: 500 },
  });
  const running = worker.run();
  const scale = o.stageMs / SEED_STAGE_MS;
  const cpuNow = () => cpuSnapshot(temporal.serverPid, sim.pid);
  const runPipeline = async (n: number, c: number, id: string, overlap = false) => {
    const input: PipelineInput = {
      topics: Array.from({ length: n }, (_, i) => `Benchmark topic ${i + 1}`),
      concurrency: c,
      minWords: 0,
      ...(overlap ? { overlap: true } : {}),
    };
    const cpu0 = cpuNow();
    const t0 = Date.now();
    const r = await client.workflow.execute<(i: PipelineInput) => Promise<PipelineResult>>(PIPELINE_WORKFLOW, {
      taskQueue: cfg.taskQueue,
      workflowId: id,
      args: [input],
    });
    const ms = Date.now() - t0;
    const cpu = cpuNow();
    if (r.ok !== n) throw new Error(`${r.failed} chain(s) failed during the benchmark: ${r.chains.find((x) => x.error)?.error}`);
    return { ms, peak: r.peakRunning, ...cpuUsed(cpu0, cpu, ms) };
  };
  const cells: {
    n: number;
    c: number;
    stageMs: number;
    jitter: number;
    sequentialMs: number;
    idealMs: number;
    braidMs: number;
    samples: number[];
    seedMs?: number;
    seedSequentialMs?: number;
    overIdeal: number;
    peakRunning: number;
    loadAverage: number;
    tokenMs?: number;
    overlapMs?: number;
    overlapSamples?: number[];
    overlapGain?: number;
    serverCpuMsPerChain: number;
    workerCpuMsPerChain: number;
    simulatorCpuMsPerChain: number;
    cpuShare: number;
  }[] = [];
  const t0 = Date.now();
  try {
    log(
      `simulator ${sim.url} (own process): every stage (model call) takes ${o.stageMs} ms${o.jitter ? ` (median; log-normal σ ${o.jitter})` : ''}; seed figures scaled by ${o.stageMs}/${SEED_STAGE_MS}`,
    );
    await runPipeline(4, 2, `bench-warmup-${Date.now()}`);
    for (const n of o.topics) {
      for (const c of o.concurrency) {
        const samples: number[] = [];
        const overlapSamples: number[] = [];
        let peak = 0;
        const cpu: { server: number[]; worker: number[]; simulator: number[]; share: number[] } = {
          server: [],
          worker: [],
          simulator: [],
          share: [],
        };
        for (let r = 0; r < o.runs; r++) {
          const run = await runPipeline(n, c, `bench-pipeline-${n}x${c}-${r}-${Date.now()}`);
          samples.push(run.ms);
          cpu.server.push(run.serverCpuMs / n);
          cpu.worker.push(run.workerCpuMs / n);
          cpu.simulator.push(run.simulatorCpuMs / n);
          cpu.share.push(run.cpuShare);
          peak = Math.max(peak, run.peak);
          if (o.overlap) overlapSamples.push((await runPipeline(n, c, `bench-pipeline-overlap-${n}x${c}-${r}-${Date.now()}`, true)).ms);
        }
        const ms = median(samples);
        const overlapMs = o.overlap ? median(overlapSamples) : undefined;
        const ideal = idealMs([{ items: n, steps: 3, c }], latency);
        const seed = SEED[c]?.[n];
        const cell = {
          n,
          c,
          stageMs: o.stageMs,
          jitter: o.jitter,
          sequentialMs: n * 3 * o.stageMs,
          idealMs: ideal,
          braidMs: ms,
          samples,
          seedMs: seed === undefined ? undefined : Math.round(seed * 1000 * scale),
          seedSequentialMs: SEED[1]?.[n] === undefined ? undefined : Math.round(SEED[1][n] * 1000 * scale),
          overIdeal: +(ms / ideal).toFixed(3),
          peakRunning: peak,
          loadAverage: loadAverage(),
          // CPU per chain (medians over the runs) and the share of every core the three processes used.
          serverCpuMsPerChain: +medianExact(cpu.server).toFixed(1),
          workerCpuMsPerChain: +medianExact(cpu.worker).toFixed(1),
          simulatorCpuMsPerChain: +medianExact(cpu.simulator).toFixed(1),
          cpuShare: +medianExact(cpu.share).toFixed(2),
          ...(overlapMs !== undefined ? { tokenMs, overlapMs, overlapSamples, overlapGain: +(ms / overlapMs).toFixed(3) } : {}),
        };
        cells.push(cell);
        if (o.json) console.log(JSON.stringify(cell));
        else
          log(
            `N=${n} C=${c}: Braid ${ms} ms (runs ${samples.join(', ')}; ideal ${ideal} ms, seed ${cell.seedMs ?? '–'} ms)${overlapMs !== undefined ? `; with stage overlap ${overlapMs} ms (runs ${overlapSamples.join(', ')})` : ''}`,
          );
      }
    }
  } finally {
    await worker.shutdown();
    await running;
    await temporal.close();
    await sim.close();
  }
  if (o.plot)
    await writePlot(plotFile('pipeline', o.plot), 'npm run bench -- pipeline', [
      {
        title: `Content pipeline: ${o.topics.join('/')} topics × ${o.concurrency.join('/')} chains at once, three stages of ${o.stageMs} ms`,
        yTitle: 'ms to finish every topic',
        bars: cells.flatMap((c) => [
          { group: `N=${c.n} C=${c.c}`, series: 'one after another', value: c.sequentialMs },
          { group: `N=${c.n} C=${c.c}`, series: 'Braid (median)', value: c.braidMs },
          { group: `N=${c.n} C=${c.c}`, series: 'ideal', value: c.idealMs },
        ]),
      },
    ]);
  if (o.json) return;
  // With --overlap the stage time is not the whole of a stage (the text is written after it), so the
  // table compares the two runs of each cell only; the JSON keeps every field.
  const t = o.overlap
    ? new Table({ head: ['topics', 'concurrency', 'Braid (median)', 'with stage overlap (median)', 'overlap gain'], style: tableStyle() })
    : new Table({
        head: [
          'topics',
          'concurrency',
          'sequential N·3L',
          'Braid (median)',
          o.jitter ? 'ideal (jittered)' : 'ideal ⌈N/C⌉·3L',
          'Braid / ideal',
          'seed (scaled)',
          'speed-up vs sequential',
          'CPU per chain: server / worker / simulator',
          'cores busy',
        ],
        style: tableStyle(),
      });
  for (const c of cells)
    t.push(
      c.overlapMs !== undefined
        ? [c.n, c.c, `${c.braidMs} ms`, `${c.overlapMs} ms`, `${c.overlapGain!.toFixed(2)}×`]
        : [
            c.n,
            c.c,
            `${c.sequentialMs} ms`,
            `${c.braidMs} ms`,
            `${c.idealMs} ms`,
            `${c.overIdeal.toFixed(2)}×`,
            c.seedMs === undefined ? '–' : `${c.seedMs} ms`,
            `${(c.sequentialMs / c.braidMs).toFixed(1)}×`,
            `${c.serverCpuMsPerChain} / ${c.workerCpuMsPerChain} / ${c.simulatorCpuMsPerChain} ms`,
            `${Math.round(c.cpuShare * 100)} %`,
          ],
    );
  console.log(t.toString());
  console.log(
    `stage time ${o.stageMs} ms${o.jitter ? ` median, log-normal σ ${o.jitter}` : ''} (the seed's 10 s scaled by ${scale})${tokenMs ? `, then ${tokenMs} ms per token written` : ''}; each chain is 3 model calls, as child workflows in a sliding window; median of ${o.runs} runs per cell; ${Math.round((Date.now() - t0) / 1000)} s in all; load average up to ${Math.max(...cells.map((c) => c.loadAverage))}.`,
  );
}
