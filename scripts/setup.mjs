#!/usr/bin/env node
// Makes a fresh clone runnable, saying what it does: checks Node, installs the npm dependencies
// when they are missing or older than package-lock.json, makes sure redis-server is installed for
// the tests (`--tests`; apt-get, when root), and makes sure the Temporal CLI is
// available (building it from Go modules into a cache outside the repository on first use).
// Plain Node on purpose: it has to run before any dependency is installed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const say = (line) => process.stderr.write(`braid setup: ${line}\n`);
const fail = (line) => {
  process.stderr.write(`braid setup: ${line}\n`);
  process.exit(1);
};

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) fail(`Node ${process.versions.node} is too old; Braid needs Node 20.19 or newer`);

const marker = path.join(root, 'node_modules', '.package-lock.json');
const lock = path.join(root, 'package-lock.json');
const stale = !fs.existsSync(marker) || fs.statSync(lock).mtimeMs > fs.statSync(marker).mtimeMs;
if (stale) {
  // `npm ci`: installs exactly what package-lock.json pins and never rewrites it, so a fresh clone
  // stays clean. The committed lockfile lists every platform's optional packages (as `npm install`
  // writes it on this machine), which npm ci requires.
  const args = ['ci', '--no-audit', '--no-fund'];
  say(`installing npm dependencies (npm ${args[0]})…`);
  const r = spawnSync('npm', args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) fail(`npm ${args[0]} failed (exit ${r.status}); fix the error above and run again`);
} else if (!quiet) {
  say('npm dependencies are up to date');
}

// redis-server: the shared rate limiter's backend in tests (and for REDIS_URL deployments). A
// Debian package; installed here when missing and we are root, otherwise the user is told how.
// Only the tests need it (`--tests`): the demo and benchmarks never touch Redis.
const forTests = process.argv.includes('--tests');
if (forTests && spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
  const root_ = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!root_ || !hasApt)
    fail(
      'redis-server is missing (tests start their own); install it, e.g. `sudo apt-get install -y redis-server` or `brew install redis`, and run again',
    );
  say('installing redis-server (apt-get)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env,
  });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'], env });
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env,
    });
  }
  if (r.status !== 0) fail('apt-get install redis-server failed; install it by hand (`apt-get install -y redis-server`) and run again');
} else if (forTests && !quiet) {
  say('redis-server is available');
}

const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const r = spawnSync(tsx, [path.join(root, 'scripts', 'ensure-temporal.ts'), ...(quiet ? ['--quiet'] : [])], {
  cwd: root,
  stdio: 'inherit',
});
if (r.status !== 0) process.exit(r.status ?? 1);
