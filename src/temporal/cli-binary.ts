/**
 * Finds (or builds) the Temporal CLI, whose `temporal server start-dev` is Braid's embedded server.
 *
 * The SDK's own dev-server download needs the open internet, which many build machines lack, so
 * Braid resolves the binary itself, in this order: TEMPORAL_CLI_PATH, `temporal` on PATH, a cached
 * build, and finally a build from Go modules into the cache. v1.5.1 is pinned because it is the
 * newest tag `go install` accepts (later tags carry a replace directive in go.mod).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const TEMPORAL_CLI_VERSION = 'v1.5.1';
const MODULE = 'github.com/temporalio/cli/cmd/temporal';

class TemporalCliNotFound extends Error {
  override name = 'TemporalCliNotFound';
}

function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'braid', 'temporal-cli', TEMPORAL_CLI_VERSION);
}

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

export interface ResolveOptions {
  /** Build from Go modules when nothing else is found (default true). */
  build?: boolean;
  /** Progress lines ("building the Temporal CLI…"). */
  log?: (line: string) => void;
  /** Overrides TEMPORAL_CLI_PATH. */
  explicitPath?: string;
}

/** Where the binary is without building anything, or undefined. */
function findTemporalCli(explicitPath = process.env.TEMPORAL_CLI_PATH): string | undefined {
  if (explicitPath) {
    if (!isExecutable(explicitPath)) throw new TemporalCliNotFound(`TEMPORAL_CLI_PATH=${explicitPath} is not an executable file`);
    return explicitPath;
  }
  const cached = path.join(cacheDir(), 'temporal');
  return onPath('temporal') ?? (isExecutable(cached) ? cached : undefined);
}

export async function resolveTemporalCli(opts: ResolveOptions = {}): Promise<string> {
  const found = findTemporalCli(opts.explicitPath ?? process.env.TEMPORAL_CLI_PATH);
  if (found) return found;
  const go = onPath('go');
  if (opts.build === false || !go) {
    throw new TemporalCliNotFound(
      'the Temporal CLI was not found: install it (https://docs.temporal.io/cli), put `temporal` on PATH or set TEMPORAL_CLI_PATH' +
        (go ? '' : `, or install Go so Braid can build it with \`go install ${MODULE}@${TEMPORAL_CLI_VERSION}\``),
    );
  }
  return buildTemporalCli(go, opts.log ?? (() => {}));
}

async function buildTemporalCli(go: string, log: (line: string) => void): Promise<string> {
  try {
    return await goInstall(go, {
      module: MODULE,
      version: TEMPORAL_CLI_VERSION,
      binary: 'temporal',
      dir: cacheDir(),
      what: 'the Temporal CLI',
      log,
    });
  } catch {
    throw new TemporalCliNotFound(
      `building the Temporal CLI failed (see go install's output above); install it by hand (https://docs.temporal.io/cli) and set TEMPORAL_CLI_PATH`,
    );
  }
}

/** A Go module's command to build into `dir` (a cache outside the repository). */
export interface GoBuild {
  module: string;
  version: string;
  /** The executable's name, e.g. `temporal`. */
  binary: string;
  dir: string;
  /** For progress lines: "the Temporal CLI". */
  what: string;
  log: (line: string) => void;
}

/** Builds `module@version` with `go install` (no cgo) into `dir` and returns the executable's path; throws when the build fails. */
export async function goInstall(go: string, b: GoBuild): Promise<string> {
  fs.mkdirSync(b.dir, { recursive: true });
  // Build into a scratch dir and rename, so an interrupted build never leaves a half-written binary.
  const scratch = fs.mkdtempSync(path.join(b.dir, '.build-'));
  b.log(`building ${b.what} ${b.version} from Go modules into ${b.dir} (first run only; takes a few minutes)…`);
  const started = Date.now();
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(go, ['install', `${b.module}@${b.version}`], {
      env: { ...process.env, CGO_ENABLED: '0', GOBIN: scratch, GOFLAGS: process.env.GOFLAGS ?? '' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (c) => resolve(c ?? 1));
  });
  const built = path.join(scratch, b.binary);
  if (code !== 0 || !isExecutable(built)) {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw new Error(`building ${b.what} failed (go install exited ${code})`);
  }
  const target = path.join(b.dir, b.binary);
  fs.renameSync(built, target);
  fs.rmSync(scratch, { recursive: true, force: true });
  b.log(`built ${b.what} in ${((Date.now() - started) / 1000).toFixed(0)} s: ${target}`);
  return target;
}

export function temporalCliVersion(binary: string): string {
  return execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
}
