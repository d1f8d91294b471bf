#!/usr/bin/env node
// Makes a fresh clone runnable, saying what it does: checks Node, installs the npm dependencies
// when they are missing or older than package-lock.json, makes sure redis-server, Java and Maven
// and Chromium are installed for the tests (`--tests`; apt-get, when root), and makes sure the Temporal CLI is
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

// Tools only the tests need (`--tests`), Debian packages installed here when missing and we are
// root, otherwise the user is told how: redis-server, the shared rate limiter's backend in the tests
// (and for REDIS_URL deployments); Chromium, to look at the Web UI; Java and Maven, to fetch and run
// Temporal's time-skipping test server (test/fixtures/test-server.ts). The demo and benchmarks need
// none of them.
const forTests = process.argv.includes('--tests');
const runs = (cmd, arg) => spawnSync(cmd, [arg], { stdio: 'ignore' }).status === 0;
// `optional`: a package whose test is skipped (loudly) without it, so failing to install it only warns.
function ensurePackages(what, present, packages, optional = false) {
  if (present()) {
    if (!quiet) say(`${what} available`);
    return;
  }
  const give = optional ? (line) => say(`${line} (its test is skipped)`) : fail;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = runs('apt-get', '--version');
  const install = `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  if (!isRoot || !hasApt) return give(`${what} missing (the tests need it); install it, e.g. \`sudo ${install}\`, and run again`);
  say(`installing ${what} (apt-get)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env }).status === 0;
  const args = ['install', '-y', '--no-install-recommends', ...packages];
  if (!apt(args) && !(apt(['update']) && apt(args))) give(`${install} failed; install ${what} by hand and run again`);
}
if (forTests) {
  ensurePackages('redis-server is', () => runs('redis-server', '--version'), ['redis-server']);
  // Headless Chromium for test/web-ui.test.ts's screenshots of the Web UI (skipped, loudly, without it).
  ensurePackages('Chromium is', () => runs('chromium', '--version'), ['chromium']);
  ensurePackages('Java and Maven are', () => runs('java', '-version') && runs('mvn', '-v'), ['default-jre-headless', 'maven']);
  // A compose tool validates docker-compose.prod.yml (test/compose.test.ts); no Docker engine is needed for that.
  ensurePackages(
    'a compose tool is',
    () => runs('docker-compose', 'version') || spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0,
    ['docker-compose'],
    true,
  );
}

const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const r = spawnSync(tsx, [path.join(root, 'scripts', 'ensure-temporal.ts'), ...(quiet ? ['--quiet'] : [])], {
  cwd: root,
  stdio: 'inherit',
});
if (r.status !== 0) process.exit(r.status ?? 1);
// The S3-compatible server the shared blob store's tests use (test/fixtures/s3-server.ts), built from Go modules like the CLI.
if (forTests) {
  const v = spawnSync(tsx, [path.join(root, 'scripts', 'ensure-versitygw.ts'), ...(quiet ? ['--quiet'] : [])], {
    cwd: root,
    stdio: 'inherit',
  });
  if (v.status !== 0) process.exit(v.status ?? 1);
}
