/**
 * `npm run bench -- overhead` and `ceiling`: what Temporal adds per step, with nothing else in the
 * way. `overhead` runs serial chains of k zero-work steps — activities, local activities, child
 * workflows — and reports the milliseconds each step adds ((T(k) − T(0)) / k, client start to
 * result, median of the runs). `ceiling` runs many such chains at once and reports the most
 * zero-work activities per second one worker and the dev server sustain, and where the CPU went
 * (server process vs worker process). Both run on Braid's worker settings and dev-server settings;
 * `--compare` repeats the measurement in the same invocation on a dev server started as the
 * Temporal CLI starts it, so the ratio between the two comes from one run on one machine state.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Table from 'cli-table3';
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { tableStyle } from '../src/cli/render';
import { BRAID_DEV_SERVER_TUNING, type DevServerTuning } from '../src/temporal/dev-server';
import { WORKER_DEFAULTS } from '../src/worker';
import { benchTemporal, loadAverage, medianExact, processCpuMs } from './harness';
import { plotFile, writePlot } from './plot';
import type { BenchActivities, ChainKind } from './workflows';

/** A dev-server configuration to measure; `braid` marks Braid's own. */
interface ServerVariant {
  name: string;
  tuning: DevServerTuning;
  braid?: true;
}

/**
 * With `--compare`, the settings one at a time from the Temporal CLI's defaults to Braid's, and one
 * step past them that Braid does not take, each measured in the same invocation.
 */
function variantsOf(compare: boolean, db: 'memory' | 'file'): ServerVariant[] {
  const braid: ServerVariant = { name: "Braid's settings", tuning: BRAID_DEV_SERVER_TUNING, braid: true };
  if (!compare) return [braid];
  const none = { dynamicConfig: {}, sqlitePragmas: {} };
  const eager = { 'system.enableActivityEagerExecution': true };
  const ladder: ServerVariant[] = [
    { name: 'Temporal CLI defaults', tuning: none },
    { name: '+ eager activity dispatch', tuning: { ...none, dynamicConfig: eager } },
  ];
  if (db === 'memory') return [...ladder, { ...braid, name: "+ queue reads up to 1,000/s = Braid's" }];
  return [
    ...ladder,
    { name: '+ queue reads up to 1,000/s', tuning: { ...none, dynamicConfig: BRAID_DEV_SERVER_TUNING.dynamicConfig } },
    { ...braid, name: "+ WAL, synchronous=NORMAL = Braid's" },
    {
      name: '+ synchronous=OFF (not used: a power cut can corrupt the file)',
      tuning: { ...BRAID_DEV_SERVER_TUNING, sqlitePragmas: { ...BRAID_DEV_SERVER_TUNING.sqlitePragmas, synchronous: 'off' } },
    },
  ];
}

export interface OverheadOptions {
  steps: number;
  runs: number;
  db: 'memory' | 'file';
  compare: boolean;
  json: boolean;
  /** Also draw the figures as an SVG (`--plot [file]`). */
  plot?: string | true;
}

export interface CeilingOptions {
  chains: number[];
  activities: number;
  db: 'memory' | 'file';
  compare: boolean;
  json: boolean;
  /** Also draw the figures as an SVG (`--plot [file]`). */
  plot?: string | true;
}

const WORKFLOWS = path.join(__dirname, 'workflows.ts');
const activities: BenchActivities = { benchStep: async (i: number) => i };

export function benchBundle(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS, logger: new DefaultLogger('ERROR') });
}

interface Rig {
  client: Client;
  taskQueue: string;
  serverPid: number;
  close(): Promise<void>;
}

/** A dev server (Braid's settings or the CLI's) and one worker with Braid's worker settings. */
async function startRig(variant: ServerVariant, db: 'memory' | 'file', bundle: WorkflowBundleWithSourceMap, log: (l: string) => void) {
  const dir = db === 'file' ? fs.mkdtempSync(path.join(os.tmpdir(), 'braid-bench-db-')) : undefined;
  const temporal = await benchTemporal(log, 'WARN', { tuning: variant.tuning, dbFile: dir && path.join(dir, 'temporal.db') });
  const taskQueue = `bench-overhead-${randomUUID()}`;
  const worker = await Worker.create({
    ...WORKER_DEFAULTS,
    connection: temporal.native,
    taskQueue,
    workflowBundle: bundle,
    activities,
  });
  const running = worker.run();
  return {
    client: temporal.client,
    taskQueue,
    serverPid: temporal.serverPid,
    async close() {
      worker.shutdown();
      await running;
      await temporal.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    },
  } satisfies Rig;
}

const chain = async (rig: Rig, kind: ChainKind, k: number, workflowId = `chain-${kind}-${randomUUID()}`): Promise<number> => {
  const t0 = performance.now();
  await rig.client.workflow.execute('benchChain', { taskQueue: rig.taskQueue, workflowId, args: [kind, k] });
  return performance.now() - t0;
};

/**
 * Where an activity step's time goes, from the server's event times in one chain's history
 * (medians over its steps): the workflow task that follows an activity's completion waits to be
 * dispatched to the worker, the worker runs it (and the server commits its completion), then the
 * eagerly dispatched activity runs and its completion is committed. The client's share — the start
 * request and the result — is in T(0) and cancels out of the per-step figure.
 */
export interface StepHops {
  /** ActivityTaskCompleted → WorkflowTaskScheduled → WorkflowTaskStarted. */
  workflowTaskWaitMs: number;
  /** WorkflowTaskStarted → WorkflowTaskCompleted: the worker's activation plus the server's commit. */
  workflowTaskMs: number;
  /** WorkflowTaskCompleted → ActivityTaskStarted (0 when dispatched eagerly). */
  activityWaitMs: number;
  /** ActivityTaskStarted → ActivityTaskCompleted: the worker runs it and reports the result. */
  activityMs: number;
}

const HOPS: [keyof StepHops, string][] = [
  ['workflowTaskWaitMs', 'workflow task wait'],
  ['workflowTaskMs', 'workflow task'],
  ['activityWaitMs', 'activity wait'],
  ['activityMs', 'activity'],
];

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const eventMs = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;

async function activityStepHops(rig: Rig, steps: number): Promise<StepHops> {
  const workflowId = `chain-hops-${randomUUID()}`;
  await chain(rig, 'activity', steps, workflowId);
  const events = (await rig.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const at = (e: HistoryEvent | undefined, attr: keyof HistoryEvent) => (e?.[attr] ? eventMs(e) : undefined);
  const hops: Record<keyof StepHops, number[]> = { workflowTaskWaitMs: [], workflowTaskMs: [], activityWaitMs: [], activityMs: [] };
  // Each step after the first reads: ActivityTaskCompleted, WorkflowTaskScheduled, WorkflowTaskStarted,
  // WorkflowTaskCompleted, ActivityTaskScheduled, ActivityTaskStarted, ActivityTaskCompleted.
  for (let i = 0; i + 6 < events.length; i++) {
    const done = at(events[i], 'activityTaskCompletedEventAttributes');
    const wftStarted = at(events[i + 2], 'workflowTaskStartedEventAttributes');
    const wftDone = at(events[i + 3], 'workflowTaskCompletedEventAttributes');
    const actStarted = at(events[i + 5], 'activityTaskStartedEventAttributes');
    const actDone = at(events[i + 6], 'activityTaskCompletedEventAttributes');
    if (done === undefined || wftStarted === undefined || wftDone === undefined || actStarted === undefined || actDone === undefined)
      continue;
    hops.workflowTaskWaitMs.push(wftStarted - done);
    hops.workflowTaskMs.push(wftDone - wftStarted);
    hops.activityWaitMs.push(actStarted - wftDone);
    hops.activityMs.push(actDone - actStarted);
  }
  if (hops.activityMs.length === 0) throw new Error(`the chain ${workflowId} has no activity steps to read in its history`);
  return Object.fromEntries(Object.entries(hops).map(([k, v]) => [k, +medianExact(v).toFixed(1)])) as unknown as StepHops;
}

const KINDS: { kind: ChainKind; field: 'activityMsPerStep' | 'localActivityMsPerStep' | 'childWorkflowMsPerStep' }[] = [
  { kind: 'activity', field: 'activityMsPerStep' },
  { kind: 'local', field: 'localActivityMsPerStep' },
  { kind: 'child', field: 'childWorkflowMsPerStep' },
];

type PerStep = Record<(typeof KINDS)[number]['field'], number>;

async function measureOverhead(rig: Rig, o: OverheadOptions, log: (l: string) => void): Promise<PerStep> {
  for (const { kind } of KINDS) await chain(rig, kind, 5); // warm the caches and the pollers
  const samples = Object.fromEntries(KINDS.map((k) => [k.field, [] as number[]])) as Record<keyof PerStep, number[]>;
  for (let r = 0; r < o.runs; r++) {
    for (const { kind, field } of KINDS) {
      const empty = await chain(rig, kind, 0);
      const full = await chain(rig, kind, o.steps);
      samples[field].push((full - empty) / o.steps);
    }
    log(`  run ${r + 1}/${o.runs}: ${KINDS.map((k) => `${k.kind} ${samples[k.field].at(-1)!.toFixed(1)} ms`).join(', ')}`);
  }
  return Object.fromEntries(KINDS.map((k) => [k.field, +medianExact(samples[k.field]).toFixed(1)])) as PerStep;
}

export async function overheadBench(o: OverheadOptions): Promise<void> {
  const log = (l: string) => !o.json && process.stderr.write(`${l}\n`);
  const bundle = await benchBundle();
  const results: { variant: ServerVariant; perStep: PerStep; hops: StepHops }[] = [];
  const load = [loadAverage()];
  for (const variant of variantsOf(o.compare, o.db)) {
    log(`dev server: ${variant.name} (${o.db} database)`);
    const rig = await startRig(variant, o.db, bundle, log);
    try {
      const perStep = await measureOverhead(rig, o, log);
      results.push({ variant, perStep, hops: await activityStepHops(rig, o.steps) });
    } finally {
      await rig.close();
    }
    load.push(loadAverage());
  }
  const braid = results.find((r) => r.variant.braid)!;
  const out = {
    ...braid.perStep,
    activityStepHops: braid.hops,
    steps: o.steps,
    runs: o.runs,
    db: o.db,
    ...(o.compare ? { variants: results.map((r) => ({ name: r.variant.name, ...r.perStep, activityStepHops: r.hops })) } : {}),
    loadAverage: Math.max(...load),
  };
  if (o.plot)
    await writePlot(plotFile('overhead', o.plot), 'npm run bench -- overhead', [
      {
        title: `ms per step of a serial chain of ${o.steps} zero-work steps (${o.db} database, median of ${o.runs})`,
        yTitle: 'ms per step',
        bars: results.flatMap((r) => KINDS.map((k) => ({ group: r.variant.name, series: k.kind, value: r.perStep[k.field] }))),
      },
      {
        title: "where an activity step goes (server's event times)",
        yTitle: 'ms',
        bars: results.flatMap((r) => HOPS.map(([key, label]) => ({ group: r.variant.name, series: label, value: r.hops[key] }))),
      },
    ]);
  if (o.json) return void console.log(JSON.stringify(out));
  const t = new Table({ head: ['dev server', 'activity', 'local activity', 'child workflow'], style: tableStyle() });
  for (const r of results) t.push([r.variant.name, ...KINDS.map((k) => `${r.perStep[k.field]} ms`)]);
  console.log(t.toString());
  const hops = new Table({ head: ['one activity step, server event times', ...HOPS.map(([, label]) => label)], style: tableStyle() });
  for (const r of results) hops.push([r.variant.name, ...HOPS.map(([k]) => `${r.hops[k]} ms`)]);
  console.log(hops.toString());
  console.log(
    `ms per step of a serial chain of ${o.steps} zero-work steps ((T(k) − T(0)) / k, median of ${o.runs}); ${o.db} database; load average up to ${out.loadAverage}`,
  );
}

interface CeilingRow {
  chains: number;
  activities: number;
  ms: number;
  activitiesPerSecond: number;
  /** CPU ms per activity in the server's and the worker's process, and both as a share of the machine. */
  serverCpuMsPerActivity?: number;
  workerCpuMsPerActivity: number;
  cpuShare?: number;
}

async function measureCeiling(rig: Rig, chains: number, total: number): Promise<CeilingRow> {
  const steps = Math.max(1, Math.round(total / chains));
  const run = () =>
    Promise.all(
      Array.from({ length: chains }, () =>
        rig.client.workflow.execute('benchChain', {
          taskQueue: rig.taskQueue,
          workflowId: `ceiling-${randomUUID()}`,
          args: ['activity', steps],
        }),
      ),
    );
  const server0 = processCpuMs(rig.serverPid);
  const worker0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const ms = performance.now() - t0;
  const server1 = processCpuMs(rig.serverPid);
  const worker = process.cpuUsage(worker0);
  const n = steps * chains;
  const workerCpu = (worker.user + worker.system) / 1000;
  const serverCpu = server0 !== undefined && server1 !== undefined ? server1 - server0 : undefined;
  return {
    chains,
    activities: n,
    ms: Math.round(ms),
    activitiesPerSecond: Math.round((n * 1000) / ms),
    ...(serverCpu !== undefined ? { serverCpuMsPerActivity: +(serverCpu / n).toFixed(2) } : {}),
    workerCpuMsPerActivity: +(workerCpu / n).toFixed(2),
    ...(serverCpu !== undefined ? { cpuShare: +((serverCpu + workerCpu) / ms / os.availableParallelism()).toFixed(2) } : {}),
  };
}

export async function ceilingBench(o: CeilingOptions): Promise<void> {
  const log = (l: string) => !o.json && process.stderr.write(`${l}\n`);
  const bundle = await benchBundle();
  const results: { variant: ServerVariant; rows: CeilingRow[] }[] = [];
  const load = [loadAverage()];
  for (const variant of variantsOf(o.compare, o.db)) {
    log(`dev server: ${variant.name} (${o.db} database)`);
    const rig = await startRig(variant, o.db, bundle, log);
    try {
      await measureCeiling(rig, 10, 200); // warm-up
      const rows: CeilingRow[] = [];
      for (const c of o.chains) {
        const row = await measureCeiling(rig, c, o.activities);
        rows.push(row);
        log(`  ${c} chains: ${row.activities} activities in ${row.ms} ms = ${row.activitiesPerSecond}/s`);
      }
      results.push({ variant, rows });
    } finally {
      await rig.close();
    }
    load.push(loadAverage());
  }
  const best = (rs: CeilingRow[]) => Math.max(...rs.map((r) => r.activitiesPerSecond));
  const braid = results.find((r) => r.variant.braid)!;
  const out = {
    activitiesPerSecond: best(braid.rows),
    rows: braid.rows,
    ...(o.compare ? { variants: results.map((r) => ({ name: r.variant.name, activitiesPerSecond: best(r.rows), rows: r.rows })) } : {}),
    db: o.db,
    cores: os.availableParallelism(),
    loadAverage: Math.max(...load),
  };
  if (o.plot)
    await writePlot(plotFile('ceiling', o.plot), 'npm run bench -- ceiling', [
      {
        title: `zero-work activities per second, chains of them running at once (${o.db} database, ${out.cores} cores)`,
        yTitle: 'activities/s',
        bars: results.flatMap((r) =>
          r.rows.map((row) => ({ group: `${row.chains} chains`, series: r.variant.name, value: row.activitiesPerSecond })),
        ),
      },
      {
        title: "CPU per activity, Braid's settings",
        yTitle: 'CPU ms per activity',
        bars: braid.rows.flatMap((row) => [
          ...(row.serverCpuMsPerActivity !== undefined
            ? [{ group: `${row.chains} chains`, series: 'server', value: row.serverCpuMsPerActivity }]
            : []),
          { group: `${row.chains} chains`, series: 'worker', value: row.workerCpuMsPerActivity },
        ]),
      },
    ]);
  if (o.json) return void console.log(JSON.stringify(out));
  const t = new Table({
    head: ['dev server', 'chains at once', 'activities', 'activities/s', 'server CPU ms/activity', 'worker CPU ms/activity', 'CPU used'],
    style: tableStyle(),
  });
  for (const { variant, rows } of results) {
    for (const r of rows)
      t.push([
        variant.name,
        r.chains,
        r.activities,
        r.activitiesPerSecond,
        r.serverCpuMsPerActivity ?? '–',
        r.workerCpuMsPerActivity,
        r.cpuShare === undefined ? '–' : `${Math.round(r.cpuShare * 100)} %`,
      ]);
  }
  console.log(t.toString());
  console.log(
    `zero-work activities, each chain a workflow calling them one after another; best ${out.activitiesPerSecond}/s on ${out.cores} cores (${o.db} database); load average up to ${out.loadAverage}`,
  );
}
