/**
 * What every benchmark starts: a throwaway Temporal dev server on free ports with Braid's settings
 * (quiet, so `--json` output stays clean), a client and a worker connection to it, the model
 * simulator in a process of its own — as a real API is, so its work does not run on the worker's
 * event loop — and one teardown for all. Also the small statistics the scenarios share.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import { simulatorModel, type ModelClient } from '../src/model-client';
import { readConfig, type BraidConfig } from '../src/config';
import { Simulator } from '../src/simulator';
import { startEphemeralServer, type EphemeralServerOptions } from '../src/temporal/dev-server';
import type { Dist, LedgerEntry, SimulatorOptions } from '../src/simulator/types';
import { ToolRegistry } from '../src/tools';
import { createBraidWorker } from '../src/worker';

export interface BenchTemporal {
  client: Client;
  native: NativeConnection;
  /** The server process, for its CPU time. */
  serverPid: number;
  close(): Promise<void>;
}

let runtimeInstalled = false;

export async function benchTemporal(
  log: (line: string) => void,
  level: LogLevel = 'WARN',
  server: EphemeralServerOptions = {},
): Promise<BenchTemporal> {
  // Core's own log lines go through the same logger (stderr) at the same level, never onto stdout, where `--json` prints.
  if (!runtimeInstalled)
    Runtime.install({
      logger: new DefaultLogger(level),
      telemetryOptions: { logging: { filter: { core: level, other: level }, forward: {} } },
    });
  runtimeInstalled = true;
  const s = await startEphemeralServer({ log }, server);
  const native = await NativeConnection.connect({ address: s.address });
  const connection = await Connection.connect({ address: s.address });
  return {
    client: new Client({ connection }),
    native,
    serverPid: s.pid,
    async close() {
      await connection.close();
      await native.close();
      await s.close();
    },
  };
}

export interface SimulatorProcess {
  url: string;
  pid: number;
  /** Every request the simulator served, in arrival order. */
  ledger(): Promise<LedgerEntry[]>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

const MAIN = path.join(__dirname, '..', 'src', 'simulator', 'main.ts');

/** `npm run simulator` on a free port with these options, as its own process. */
export async function startSimulatorProcess(opts: SimulatorOptions): Promise<SimulatorProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-bench-sim-'));
  const file = path.join(dir, 'options.json');
  fs.writeFileSync(file, JSON.stringify(opts));
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', MAIN, '--port', '0', '--quiet', '--config', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  const url = await new Promise<string>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error('the simulator did not start within 60 s')), 60_000);
    lines.on('line', (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (!m) return;
      clearTimeout(timer);
      resolve(m[1]!);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the simulator exited during start-up (code ${code})`));
    });
  }).catch((err: unknown) => {
    child.kill('SIGKILL');
    cleanup();
    throw err;
  });
  child.stdout!.resume();
  return {
    url,
    pid: child.pid!,
    async ledger() {
      const res = await fetch(`${url}/_sim/ledger`);
      return (await res.json()) as LedgerEntry[];
    },
    async reset() {
      await fetch(`${url}/_sim/reset`, { method: 'POST' });
    },
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      cleanup();
    },
  };
}

/**
 * A model latency of `ms`, fixed, or with `jitter` > 0 spread log-normally around that median
 * (σ = jitter): jitter 0.3 puts the middle 90 % of calls between 0.6× and 1.6× the median, a
 * spread like a real model's at a fixed answer length.
 */
export const latencyDist = (ms: number, jitter: number): Dist => (jitter > 0 ? { lognormal: { median: ms, sigma: jitter } } : ms);

/** The median, unrounded (per-step and per-chain figures are fractions of a millisecond apart). */
export const medianExact = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The median of whole milliseconds: the mean of the middle two is rounded. */
export const median = (xs: number[]) => (xs.length % 2 ? medianExact(xs) : Math.round(medianExact(xs)));

/** CPU time (user + system) of a process so far, in ms, from /proc (Linux); undefined elsewhere. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS = 100;

/** CPU used so far, in ms, by the server, this process (worker and client) and the simulator. */
export interface CpuSnapshot {
  server: number;
  worker: number;
  simulator: number;
}

/** A CpuSnapshot now (NaN for a process whose CPU cannot be read); subtract two for a run's share. */
export function cpuSnapshot(serverPid: number, simulatorPid: number): CpuSnapshot {
  const own = process.cpuUsage();
  return {
    server: processCpuMs(serverPid) ?? NaN,
    worker: (own.user + own.system) / 1000,
    simulator: processCpuMs(simulatorPid) ?? NaN,
  };
}

/** The CPU each process used between two snapshots, and the share of every core that was over `ms` of wall time. */
export function cpuUsed(from: CpuSnapshot, to: CpuSnapshot, ms: number) {
  const used = {
    serverCpuMs: to.server - from.server,
    workerCpuMs: to.worker - from.worker,
    simulatorCpuMs: to.simulator - from.simulator,
  };
  return { ...used, cpuShare: (used.serverCpuMs + used.workerCpuMs + used.simulatorCpuMs) / (ms * os.availableParallelism()) };
}

/** The 1-minute load average, to print beside figures measured on a shared machine. */
export const loadAverage = () => +os.loadavg()[0]!.toFixed(1);

/** A model client pointed at a simulator, as a worker without ANTHROPIC_API_KEY builds it. */
export function simulatedModel(sim: Simulator): ModelClient {
  return simulatorModel(sim.url);
}

export interface SimulatedBench {
  temporal: BenchTemporal;
  sim: Simulator;
  cfg: BraidConfig;
  /** Stops the worker, the server and the simulator. */
  close(): Promise<void>;
}

/** A simulator, a throwaway server and a running Braid worker (no tools) on `taskQueue`, the simulator its model. */
export async function simulatedBench(o: {
  log: (line: string) => void;
  taskQueue: string;
  level?: LogLevel;
  simulator?: SimulatorOptions;
}): Promise<SimulatedBench> {
  const sim = await Simulator.start({ quiet: true, ...o.simulator });
  const temporal = await benchTemporal(o.log, o.level);
  const cfg = readConfig({ BRAID_TASK_QUEUE: o.taskQueue });
  const worker = await createBraidWorker({ connection: temporal.native, cfg, registry: new ToolRegistry(), model: simulatedModel(sim) });
  const running = worker.run();
  return {
    temporal,
    sim,
    cfg,
    async close() {
      await worker.shutdown();
      await running;
      await temporal.close();
      await sim.close();
    },
  };
}
