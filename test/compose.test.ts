/**
 * The production-shaped compose file (docker-compose.prod.yml) is valid for a compose tool, has the
 * services issue #14 §4 names, and carries every dynamic-config setting Braid's own dev server runs
 * with (src/temporal/dev-server.ts), so the operator's cluster gets the tuning the benchmarks
 * measured; and the local compose file's dev server (docker-compose.yml) starts with the same flags
 * as `braid server start`. Needs `docker-compose` or `docker compose` (setup.mjs --tests installs Debian's
 * docker-compose); no Docker engine. Skipped, loudly, without a compose tool.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BRAID_DEV_SERVER_TUNING, devServerTuningArgs } from '../src/temporal/dev-server';

const ROOT = path.join(__dirname, '..');
const FILE = path.join(ROOT, 'docker-compose.prod.yml');

/** `docker-compose` (v1) or `docker compose` (v2), whichever answers. */
function composeTool(): string[] | undefined {
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  return undefined;
}
const tool = composeTool();
if (!tool)
  console.warn('compose.test.ts: SKIPPED — no docker-compose or `docker compose`; run `npm run setup -- --tests` as root to install it');

const compose = (...args: string[]) => composeFile(FILE, ...args);
const composeFile = (file: string, ...args: string[]) => {
  const r = spawnSync(tool![0]!, [...tool!.slice(1), '-f', file, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ANTHROPIC_API_KEY: '' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe.skipIf(!tool)('docker-compose.prod.yml', () => {
  it('is valid and runs Temporal on PostgreSQL with its Web UI, Braid workers, the simulator and Redis', () => {
    const check = compose('config', '-q');
    expect(check.err).toBe('');
    expect(check.code).toBe(0);
    const services = compose('config', '--services').out.trim().split('\n').sort();
    expect(services).toEqual(['cli', 'postgresql', 'redis', 'simulator', 'temporal', 'temporal-setup', 'ui', 'worker']);
    const config = compose('config').out;
    expect(config).toMatch(/DB: postgres12/);
    expect(config).toMatch(/REDIS_URL: redis:\/\/redis:6379/);
    expect(config).not.toMatch(/start-dev/); // a real server, not the dev server
  });

  it('carries every dynamic-config setting of Braid’s dev server, with the same values', () => {
    const yaml = fs.readFileSync(path.join(ROOT, 'compose', 'temporal', 'dynamicconfig.yaml'), 'utf8');
    const values = new Map([...yaml.matchAll(/^([\w.]+):\n\s+- value: (\S+)/gm)].map((m) => [m[1]!, m[2]!]));
    for (const [key, value] of Object.entries(BRAID_DEV_SERVER_TUNING.dynamicConfig)) expect(values.get(key), key).toBe(String(value));
    expect(compose('config').out).toContain('compose/temporal/dynamicconfig.yaml:/etc/temporal/config/dynamicconfig/braid.yaml');
  });
});

describe.skipIf(!tool)('docker-compose.yml', () => {
  it('starts its dev server with the flags Braid’s own dev servers use', () => {
    const check = composeFile(path.join(ROOT, 'docker-compose.yml'), 'config');
    expect(check.code, check.err).toBe(0);
    // The temporal service's command, as the compose tool resolved it: one `- arg` line each.
    const block = check.out.split(/\n  (?=\S)/).find((b) => b.startsWith('temporal:'))!;
    const lines = block.split('\n');
    const from = lines.indexOf('    command:') + 1;
    const end = lines.findIndex((l, i) => i >= from && !l.startsWith('    - '));
    const args = lines.slice(from, end).map((l) => l.slice('    - '.length).replace(/^'(.*)'$/, '$1'));
    const want = devServerTuningArgs({ dbFile: true });
    const at = args.indexOf(want[0]!);
    expect(at, args.join(' ')).toBeGreaterThan(-1);
    expect(args.slice(at, at + want.length)).toEqual(want);
  });
});
