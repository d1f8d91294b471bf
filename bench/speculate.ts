/**
 * `npm run bench -- speculate`: the same questions with and without hedged model calls, measured in
 * one run, under a heavy-tailed (log-normal) time to first token from the simulator (its own
 * process). `without`: one call per question. `with`: each call through a Hedger — a call past the
 * model's recent p95 (from this run's own earlier calls) is sent again, the first answer wins, the
 * other is cancelled (its streamed spend charged as estimated), at most 10% of calls hedged. Both
 * variants run at once on one worker, so they see the same load. Reported: p50/p95/p99 latency per
 * question (workflow clock), tokens and dollars; `--json` prints `{ without, with, … }`.
 *
 * Not measured here: the strategy race of `braid ask --speculate` (cache, fast model, agent) —
 * its gain depends on the cache hit rate and the agent's turns, which a synthetic set would decide.
 */
import { simulatorModel } from '../src/model-client';
import Table from 'cli-table3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { tableStyle } from '../src/cli/render';
import { readConfig } from '../src/config';
import { formatUsd } from '../src/shared/pricing';
import { ToolRegistry } from '../src/tools';
import { quantileOf } from '../src/workflows/hedge';
import { createBraidWorker } from '../src/worker';
import { benchTemporal, loadAverage, startSimulatorProcess } from './harness';
import { benchBundle } from './overhead';
import type { SpeculateBenchRun } from './workflows';

export interface SpeculateBenchOptions {
  calls: number;
  concurrency: number;
  medianMs: number;
  sigma: number;
  json: boolean;
}

interface Figures {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  tokens: number;
  costUsd: number;
}

const figures = (r: SpeculateBenchRun): Figures => ({
  p50Ms: quantileOf(r.latenciesMs, 0.5)!,
  p95Ms: quantileOf(r.latenciesMs, 0.95)!,
  p99Ms: quantileOf(r.latenciesMs, 0.99)!,
  tokens: r.tokens,
  costUsd: r.costUsd,
});

export async function speculateBench(o: SpeculateBenchOptions): Promise<void> {
  const log = (l: string) => !o.json && process.stderr.write(`${l}\n`);
  const sim = await startSimulatorProcess({ latency: { ttftMs: { lognormal: { median: o.medianMs, sigma: o.sigma } }, perTokenMs: 1 } });
  const temporal = await benchTemporal(log);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-bench-speculate-'));
  const cfg = readConfig({
    BRAID_TASK_QUEUE: `bench-speculate-${randomUUID()}`,
    BRAID_BLOB_DIR: path.join(dir, 'blobs'),
    BRAID_ANSWER_CACHE: path.join(dir, 'answers.db'),
  });
  const model = simulatorModel(sim.url, 120_000);
  const worker = await createBraidWorker({
    connection: temporal.native,
    cfg,
    registry: new ToolRegistry(),
    model,
    workflowBundle: await benchBundle(),
    tuning: { maxConcurrentActivityTaskExecutions: Math.max(4 * o.concurrency, 50) },
  });
  const running = worker.run();
  const start = (mode: 'without' | 'with') =>
    temporal.client.workflow.execute('benchSpeculate', {
      taskQueue: cfg.taskQueue,
      workflowId: `bench-speculate-${mode}-${randomUUID()}`,
      args: [mode, o.calls, o.concurrency],
    }) as Promise<SpeculateBenchRun>;
  let runs: [SpeculateBenchRun, SpeculateBenchRun];
  const load = [loadAverage()];
  try {
    log(`simulator ${sim.url} (own process): time to first token log-normal, median ${o.medianMs} ms, σ ${o.sigma}`);
    runs = await Promise.all([start('without'), start('with')]);
    load.push(loadAverage());
  } finally {
    await worker.shutdown();
    await running;
    await temporal.close();
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const [without, withHedging] = runs;
  const out = {
    scenario: 'speculate',
    calls: o.calls,
    concurrency: o.concurrency,
    latency: { lognormal: { medianMs: o.medianMs, sigma: o.sigma } },
    without: figures(without),
    with: figures(withHedging),
    hedges: withHedging.hedges,
    hedgeWins: withHedging.hedgeWins,
    hedgeRate: +(withHedging.hedges / o.calls).toFixed(3),
    estimatedUsd: withHedging.estimatedUsd,
    loadAverage: Math.max(...load),
  };
  if (o.json) return void console.log(JSON.stringify(out));
  const t = new Table({ head: ['variant', 'p50', 'p95', 'p99', 'tokens', 'cost'], style: tableStyle() });
  for (const [name, f] of [
    ['without', out.without],
    ['with hedging', out.with],
  ] as const)
    t.push([name, `${f.p50Ms} ms`, `${f.p95Ms} ms`, `${f.p99Ms} ms`, String(f.tokens), formatUsd(f.costUsd)]);
  console.log(t.toString());
  console.log(
    `${o.calls} calls each, ${o.concurrency} at a time; ${out.hedges} hedged (${(out.hedgeRate * 100).toFixed(1)}%), ${out.hedgeWins} won by the hedge; load average up to ${out.loadAverage}`,
  );
}
