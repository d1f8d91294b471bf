/**
 * The library package as a user gets it: built (tsc), packed (`npm pack packages/braid`), installed
 * with its dependencies into a fresh copy of examples/order-desk, type-checked there, and run
 * against the real Temporal server and the simulator — the example's worker (its own workflow and
 * tools, Braid's plugin) and client (its own workflow, then Braid's ask agent). The example's
 * committed history replays against the installed package, and the public API must match the
 * committed reports in etc/ (API Extractor): a changed signature fails here until `npm run api:report`
 * records it on purpose.
 *
 * Re-record the example's history (after a deliberate, patched() change of its workflow) with
 * `npm run histories:record:example`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Simulator } from '../src/simulator';
import { EXPORTER_PACKAGES, TRACING_PACKAGES } from '../src/telemetry/tracing';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..');
const PKG = path.join(ROOT, 'packages', 'braid');
const EXAMPLE = path.join(ROOT, 'examples', 'order-desk');
const HISTORY = path.join(EXAMPLE, 'histories', 'order-digest.json');
const RECORD = process.env.BRAID_RECORD_EXAMPLE_HISTORY === '1';

/** Packages only the CLI, the simulator or the example tools use: a user's worker must not get them. */
const CLI_ONLY = [
  'commander',
  'cli-progress',
  'cli-table3',
  'picocolors',
  'pdf-parse',
  'html-to-text',
  'fast-glob',
  'mathjs',
  'sql.js',
  'minisearch',
  'compromise',
  'chrono-node',
  'better-sqlite3',
  'tsx',
];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-package-'));
const app = path.join(tmp, 'order-desk');
let tarball = '';
const children: ChildProcess[] = [];

const npm = (args: string[], cwd: string) => run('npm', args, { cwd, maxBuffer: 16 * 1024 * 1024 });

beforeAll(async () => {
  await npm(['run', '-s', 'build'], ROOT);
  const { stdout } = await npm(['pack', PKG, '--pack-destination', tmp, '--silent'], ROOT);
  tarball = path.join(tmp, stdout.trim().split('\n').pop()!);
  fs.cpSync(EXAMPLE, app, { recursive: true, filter: (src) => !/[\\/](node_modules|dist)$/.test(src) });
  await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], app);
}, 300_000);

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Every package a compiled module of the library requires (bare specifiers, Node built-ins left out). */
function requiredPackages(dir: string): Set<string> {
  const found = new Set<string>();
  for (const entry of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith('.js')) continue;
    for (const m of fs.readFileSync(path.join(dir, entry), 'utf8').matchAll(/require\(["']([^"'.][^"']*)["']\)/g)) {
      const spec = m[1]!;
      if (spec.startsWith('node:')) continue;
      found.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  return found;
}

/** The installed directories of `name` and of everything it depends on (dependencies, not peers). */
function installedClosure(appDir: string, name: string): Map<string, string> {
  const found = new Map<string, string>();
  const visit = (pkg: string, from: string) => {
    let dir = from;
    for (;;) {
      const candidate = path.join(dir, 'node_modules', pkg);
      if (fs.existsSync(path.join(candidate, 'package.json'))) break;
      if (dir === appDir) return; // not installed: an optional dependency left out
      dir = path.dirname(dir);
    }
    const at = path.join(dir, 'node_modules', pkg);
    if (found.has(pkg)) return;
    found.set(pkg, at);
    const manifest = JSON.parse(fs.readFileSync(path.join(at, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, at);
  };
  visit(name, appDir);
  return found;
}

/** Bytes of the files under `dir` (symbolic links not followed). */
function diskBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return total;
}

describe('the library package', () => {
  it('requires only its declared dependencies and peers, at the versions the repository tests', () => {
    const lib = JSON.parse(fs.readFileSync(path.join(PKG, 'package.json'), 'utf8'));
    const root = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const declared = { ...lib.dependencies, ...lib.peerDependencies } as Record<string, string>;
    const required = requiredPackages(path.join(PKG, 'dist'));
    expect([...required].filter((p) => !(p in declared))).toEqual([]);
    expect(required.has('better-sqlite3') && lib.peerDependenciesMeta['better-sqlite3'].optional).toBe(true);
    // Tracing's SDK packages are optional peers, loaded only when tracing starts, at the ranges it names.
    const tracing = { ...TRACING_PACKAGES, ...Object.fromEntries(Object.values(EXPORTER_PACKAGES)) };
    for (const [name, range] of Object.entries(tracing)) {
      expect(lib.peerDependencies[name], name).toBe(range);
      expect(lib.peerDependenciesMeta[name]?.optional, name).toBe(true);
    }
    for (const [name, range] of Object.entries(declared)) {
      const pinned = root.dependencies[name] ?? root.devDependencies[name];
      expect(range, name).toBe(`^${pinned}`);
    }
  });

  it('installs without the CLI-only packages', () => {
    const closure = installedClosure(app, '@braid-agents/braid');
    expect(CLI_ONLY.filter((p) => closure.has(p))).toEqual([]);
    // Nor the OpenTelemetry SDK: optional peers, not installed unless the app asks for them.
    const tracing = [...Object.keys(TRACING_PACKAGES), ...Object.values(EXPORTER_PACKAGES).map(([name]) => name)];
    expect(tracing.filter((p) => fs.existsSync(path.join(app, 'node_modules', p)))).toEqual([]);
    const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
    const own = [...closure.values()].reduce((n, dir) => n + diskBytes(dir), 0);
    console.log(
      `installed: @braid-agents/braid and its dependencies ${mb(own)} (${closure.size} packages); the whole app ${mb(diskBytes(path.join(app, 'node_modules')))}`,
    );
  });

  it('starts tracing without its optional peers installed only to say, in one line, what to install', async () => {
    const script = `require('@braid-agents/braid/worker').startTracing({ otlp: { url: 'http://127.0.0.1:4317', protocol: 'grpc' } })`;
    const r = await run(process.execPath, ['-e', script], { cwd: app }).catch((err: { stderr: string }) => err);
    const line = r.stderr.split('\n').find((l) => l.startsWith('Error: ')) ?? r.stderr;
    expect(line).toMatch(
      /^Error: tracing needs @opentelemetry\/resources, .*@opentelemetry\/exporter-trace-otlp-grpc \(optional peers of @braid-agents\/braid\): npm install /,
    );
    expect(line).toContain(`'@opentelemetry/exporter-trace-otlp-grpc@${EXPORTER_PACKAGES.grpc[1]}'`);
  });

  it('matches the committed API reports (etc/*.api.md)', async () => {
    for (const entry of ['workflow', 'worker', 'client']) {
      const r = await run(
        process.execPath,
        [path.join(ROOT, 'node_modules', '.bin', 'api-extractor'), 'run', '-c', `etc/api-extractor.${entry}.json`],
        {
          cwd: ROOT,
        },
      ).catch((err: { stdout: string; stderr: string }) => ({ ...err, failed: true }));
      expect(
        'failed' in r
          ? `${entry}: the public API changed; run \`npm run api:report\` and commit etc/ if that is intended\n${r.stdout}`
          : '',
      ).toBe('');
    }
  }, 120_000);
});

describe('examples/order-desk against the installed package', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await Simulator.start({ quiet: true, latency: { ttftMs: 20, perTokenMs: 0 } });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('type-checks and builds', async () => {
    await npm(['run', '-s', 'build'], app);
    expect(fs.existsSync(path.join(app, 'dist', 'worker.js'))).toBe(true);
  }, 120_000);

  it('runs its worker and client to completion: its own workflow over its own tools, then Braid’s agent on the same worker', async () => {
    const env = { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), BRAID_SIMULATOR_URL: sim.url, ANTHROPIC_API_KEY: '' };
    const worker = spawn(process.execPath, ['dist/worker.js'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(worker);
    let out = '';
    worker.stdout.on('data', (d: Buffer) => (out += d.toString()));
    worker.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (out.includes('order-desk worker: polling')) resolve();
        else if (worker.exitCode !== null) reject(new Error(`the example worker exited: ${out}`));
      }, 100);
      void exited.finally(() => clearInterval(t));
      setTimeout(() => clearInterval(t), 60_000);
    });

    const { stdout } = await run(process.execPath, ['dist/client.js', 'A-1001', 'A-1009'], { cwd: app, env, timeout: 60_000 });
    const result = JSON.parse(stdout);
    if (RECORD) {
      const connection = await Connection.connect({ address: inject('temporalAddress') });
      const client = new Client({ connection });
      for await (const digest of client.workflow.list({ query: 'WorkflowType = "orderDigest"' })) {
        fs.mkdirSync(path.dirname(HISTORY), { recursive: true });
        fs.writeFileSync(HISTORY, `${historyToJSON(await client.workflow.getHandle(digest.workflowId).fetchHistory())}\n`);
        break;
      }
      await connection.close();
    }

    const checks = result.digest.checks.map((c: { orderId: string; tool: string; ok: boolean }) => `${c.orderId} ${c.tool} ${c.ok}`);
    expect(checks).toEqual([
      'A-1001 order_lookup true',
      'A-1001 shipment_tracking true',
      'A-1009 order_lookup false',
      'A-1009 shipment_tracking false',
    ]);
    expect(result.digest.checks[2].content).toMatch(/no order A-1009/);
    expect(result.digest.note.length).toBeGreaterThan(0);
    expect(result.digest.model).toBe('claude-haiku-4-5'); // the worker's fast model, through Braid's model activity
    expect(result.digest.simulated).toBe(true);
    expect(result.ask.turns).toBeGreaterThanOrEqual(2);
    expect(result.ask.tools.length).toBeGreaterThan(0);
    expect(result.ask.tools.every((t: string) => ['order_lookup', 'shipment_tracking'].includes(t))).toBe(true);

    worker.kill('SIGINT');
    expect(await exited, out).toBe(0);
  }, 120_000);

  it('replays its committed history against the installed package', async () => {
    const { stdout } = await run(process.execPath, ['dist/replay.js', HISTORY], { cwd: app, timeout: 60_000 });
    expect(stdout).toContain(`replayed ${HISTORY}`);
  }, 60_000);
});
