/**
 * Runs the local Temporal dev server (`temporal server start-dev`) for `braid server start|stop|status`
 * and for the demo: a detached process with a persistent SQLite store under the data directory,
 * gRPC on 7233 and the Web UI on 8233 by default. A server already answering on the port is reused,
 * whoever started it. State lives in `<dataDir>/temporal/` (db, pid file, log).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { resolveTemporalCli, type ResolveOptions } from './cli-binary';
import { SEARCH_ATTRIBUTES } from '../shared/search-attributes';

/** What a dev server is started with beyond its defaults: dynamic config, and SQLite pragmas when it uses a file. */
export interface DevServerTuning {
  dynamicConfig: Readonly<Record<string, number | boolean | string>>;
  sqlitePragmas: Readonly<Record<string, string>>;
}

/**
 * Braid's dev servers (`braid server start`, the tests' server, benchmarks, docker-compose.yml's) are
 * tuned for latency.
 *
 * Dynamic config: a dev server has one history shard, and its queue processors read new tasks at
 * most 20 times a second by default, so every push from the server to a worker (a workflow task
 * after an activity completes, a child's start and its result, a timer firing) waited up to 50 ms
 * for the next read. At up to 1,000 reads a second that wait is gone; the processors read when new
 * tasks are written, so an idle server does not read more often. Eager activity dispatch hands
 * activities scheduled by a workflow task straight back to the worker that completed it, skipping
 * a dispatch and a poll.
 *
 * Timers: the timer queue never fires a timer earlier than `history.timerProcessorMaxTimeShift`
 * after the moment it was created (default 1 s: a new timer's fire time is floored to the queue's
 * read level, now + the shift), so every timer shorter than a second fired at about a second — a
 * race's 50 ms and 200 ms staggers both started at ~0.9–1 s. 10 ms keeps short timers within a few
 * milliseconds of their time. The shift is the queue's margin for tasks written concurrently with a
 * read; a single-shard dev server has little such concurrency, and the cost is more frequent timer
 * queue reads, which the poll-rate ceiling above bounds.
 *
 * Buffered events: events that arrive while a workflow task is open (activity completions, signals,
 * child results) wait in the run's state until the task completes. Past 100 of them by default
 * (`history.maximumBufferedEventsBatch`) the server force-closes the open task; the worker's
 * completion is refused, the run leaves the worker's cache and its next task replays the whole
 * history, which takes longer, so more events pile up and the next task can be closed too. A fan-out
 * wider than ~50 activities whose results land together (each completion buffers a started and a
 * completed event) hits it: 500 one-second model calls lost 2–4 tasks in every run. Braid raises the
 * count to 10,000 so that the size limit (`history.maximumBufferedEventsSizeInBytes`, 2 MiB, left as
 * it is) is the bound; past that the server still force-closes the task rather than growing without
 * limit. The cost is memory for the buffered events of one run, at most those 2 MiB.
 *
 * SQLite, for a server that keeps its data in a file: write-ahead logging commits by appending to
 * the log instead of rewriting pages through a rollback journal, and `synchronous=NORMAL` syncs the
 * log at checkpoints rather than at every commit. A crash of the server process loses nothing
 * committed (the log is already the OS's); a power cut or OS crash can lose the last commits since
 * a checkpoint but does not corrupt the file. `synchronous=OFF` would risk a corrupt file on power
 * loss for little more speed, so Braid does not use it.
 *
 * What each setting buys is measured by `npm run bench -- overhead --compare` (README, Benchmarks).
 * A self-hosted cluster has many shards and its operator's settings, which Braid leaves alone.
 */
export const BRAID_DEV_SERVER_TUNING: DevServerTuning = {
  dynamicConfig: {
    'system.enableActivityEagerExecution': true,
    'history.transferProcessorMaxPollRPS': 1000,
    'history.timerProcessorMaxPollRPS': 1000,
    'history.visibilityProcessorMaxPollRPS': 1000,
    'history.outboundProcessorMaxPollRPS': 1000,
    'history.timerProcessorMaxTimeShift': '10ms',
    'history.maximumBufferedEventsBatch': 10_000,
  },
  sqlitePragmas: { journal_mode: 'wal', synchronous: 'normal' },
};

/** `temporal server start-dev` flags for a tuning; the pragmas only when the server keeps its data in a file. */
export function devServerTuningArgs(o: { dbFile: boolean }, tuning: DevServerTuning = BRAID_DEV_SERVER_TUNING): string[] {
  const args: string[] = [];
  for (const [k, v] of Object.entries(tuning.dynamicConfig)) args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`);
  if (o.dbFile) for (const [k, v] of Object.entries(tuning.sqlitePragmas)) args.push('--sqlite-pragma', `${k}=${v}`);
  return args;
}

function serverArgs(o: { dbFile: boolean }, tuning?: DevServerTuning): string[] {
  const args: string[] = [];
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  args.push(...devServerTuningArgs(o, tuning));
  return args;
}

export interface DevServerOptions {
  dataDir: string;
  port: number;
  uiPort: number;
  ip?: string;
  namespace?: string;
  /** Where the Web UI decodes payloads (`--ui-codec-endpoint`): a `braid codec-server`, when encryption is on. */
  codecEndpoint?: string;
}

export interface DevServerStatus {
  running: boolean;
  /** True when the pid file names a live process started by Braid. */
  ownedByBraid: boolean;
  pid?: number;
  address: string;
  uiUrl: string;
  dbFile: string;
  logFile: string;
}

const paths = (o: DevServerOptions) => {
  const dir = path.join(o.dataDir, 'temporal');
  return { dir, db: path.join(dir, 'temporal.db'), pid: path.join(dir, 'server.pid'), log: path.join(dir, 'server.log') };
};

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True when something accepts TCP connections on the port. */
function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** True when a Temporal frontend answers a health check at the address. */
async function temporalHealthy(address: string, timeoutMs = 2000): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    const res = await connection.healthService.check({});
    return res.status === 1; // SERVING
  } catch {
    return false;
  } finally {
    await connection?.close();
  }
}

export async function devServerStatus(o: DevServerOptions): Promise<DevServerStatus> {
  const p = paths(o);
  const ip = o.ip ?? '127.0.0.1';
  const pid = readPid(p.pid);
  const address = `${ip}:${o.port}`;
  const running = await temporalHealthy(address);
  return { running, ownedByBraid: pid !== undefined, pid, address, uiUrl: `http://localhost:${o.uiPort}`, dbFile: p.db, logFile: p.log };
}

export interface StartResult extends DevServerStatus {
  reused: boolean;
}

export async function startDevServer(o: DevServerOptions, resolve: ResolveOptions = {}): Promise<StartResult> {
  const before = await devServerStatus(o);
  if (before.running) return { ...before, reused: true };
  const ip = o.ip ?? '127.0.0.1';
  if (await portOpen(o.port, ip)) {
    throw new Error(`port ${o.port} is in use by something that is not a Temporal server; set BRAID_TEMPORAL_PORT to another port`);
  }
  const binary = await resolveTemporalCli(resolve);
  const p = paths(o);
  fs.mkdirSync(p.dir, { recursive: true });
  const log = fs.openSync(p.log, 'a');
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    p.db,
    '--ip',
    ip,
    '--port',
    String(o.port),
    '--ui-port',
    String(o.uiPort),
    '--namespace',
    o.namespace ?? 'default',
    '--log-level',
    'warn',
    ...(o.codecEndpoint ? ['--ui-codec-endpoint', o.codecEndpoint] : []),
    ...serverArgs({ dbFile: true }),
  ];
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${binary}`);
  fs.writeFileSync(p.pid, String(child.pid));
  child.unref();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (!pidAlive(child.pid)) {
      throw new Error(`the Temporal dev server exited during start-up; see ${p.log}`);
    }
    if (await temporalHealthy(`${ip}:${o.port}`, 1000)) return { ...(await devServerStatus(o)), reused: false };
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the Temporal dev server did not become ready within 60 s; see ${p.log}`);
}

export async function stopDevServer(o: DevServerOptions): Promise<{ stopped: boolean; pid?: number; reason?: string }> {
  const p = paths(o);
  const pid = readPid(p.pid);
  if (pid === undefined) {
    const running = await temporalHealthy(`${o.ip ?? '127.0.0.1'}:${o.port}`);
    return {
      stopped: false,
      reason: running
        ? `a Temporal server on port ${o.port} was not started by Braid; stop it where it was started`
        : 'no Braid-started Temporal server is running',
    };
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  fs.rmSync(p.pid, { force: true });
  return { stopped: true, pid };
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface EphemeralServer {
  address: string;
  /** The server's process id (benchmarks read its CPU time). */
  pid: number;
  close(): Promise<void>;
}

export interface EphemeralServerOptions {
  /** Keep the data in this SQLite file (with Braid's pragmas) instead of in memory. */
  dbFile?: string;
  /** Default Braid's; benchmarks compare others (the Temporal CLI's defaults are `{ dynamicConfig: {}, sqlitePragmas: {} }`). */
  tuning?: DevServerTuning;
}

/**
 * A throwaway dev server on free ports, in memory unless `dbFile` is given, with its output kept
 * off stdout (benchmarks print JSON there). Tests start theirs through the SDK's
 * TestWorkflowEnvironment.createLocal with `devServerTuningArgs`.
 */
export async function startEphemeralServer(resolve: ResolveOptions = {}, o: EphemeralServerOptions = {}): Promise<EphemeralServer> {
  const binary = await resolveTemporalCli(resolve);
  const port = await freePort();
  const args = [
    'server',
    'start-dev',
    '--headless',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--log-level',
    'error',
    ...(o.dbFile ? ['--db-filename', o.dbFile] : []),
    ...serverArgs({ dbFile: o.dbFile !== undefined }, o.tuning),
  ];
  const child = spawn(binary, args, { stdio: 'ignore' });
  if (child.pid === undefined) throw new Error(`could not start ${binary}`);
  const pid = child.pid;
  const address = `127.0.0.1:${port}`;
  const close = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the Temporal dev server exited during start-up (code ${child.exitCode})`);
    if (await temporalHealthy(address, 1000)) return { address, pid, close };
    await new Promise((r) => setTimeout(r, 200));
  }
  await close();
  throw new Error('the Temporal dev server did not become ready within 60 s');
}
