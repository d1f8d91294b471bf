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

/**
 * Server settings Braid's dev servers run with. Eager activity dispatch hands activities scheduled
 * by a workflow task straight back to the worker that completed it, skipping a dispatch and a poll:
 * with hundreds of short-lived slots refilling at once (a map phase), that round trip is most of the
 * gap between one call ending and the next starting.
 */
const DEV_SERVER_DYNAMIC_CONFIG = ['system.enableActivityEagerExecution=true'];

function serverArgs(): string[] {
  const args: string[] = [];
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  for (const kv of DEV_SERVER_DYNAMIC_CONFIG) args.push('--dynamic-config-value', kv);
  return args;
}

export interface DevServerOptions {
  dataDir: string;
  port: number;
  uiPort: number;
  ip?: string;
  namespace?: string;
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
    ...serverArgs(),
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
  close(): Promise<void>;
}

/**
 * A throwaway in-memory dev server on free ports, with its output kept off stdout (benchmarks
 * print JSON there). Tests use the SDK's TestWorkflowEnvironment.createLocal instead.
 */
export async function startEphemeralServer(resolve: ResolveOptions = {}): Promise<EphemeralServer> {
  const binary = await resolveTemporalCli(resolve);
  const port = await freePort();
  const args = ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error', ...serverArgs()];
  const child = spawn(binary, args, { stdio: 'ignore' });
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
    if (await temporalHealthy(address, 1000)) return { address, close };
    await new Promise((r) => setTimeout(r, 200));
  }
  await close();
  throw new Error('the Temporal dev server did not become ready within 60 s');
}
