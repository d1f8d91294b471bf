/** Runs the `braid` CLI as a separate process, as a user would, with a clean environment. */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { expect, inject } from 'vitest';

const BIN = path.join(__dirname, '..', 'bin', 'braid');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function braid(args: string[], env: Record<string, string> = {}, opts: { cwd?: string; maxBuffer?: number } = {}): Promise<Run> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('ANTHROPIC_') && !k.startsWith('TEMPORAL_') && !k.startsWith('BRAID_')),
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...clean, NO_COLOR: '1', ...env }, timeout: 120_000, cwd: opts.cwd, maxBuffer: opts.maxBuffer },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** Connection to the run's Temporal server and a task queue of the test's own. */
export const server = () => ({ TEMPORAL_ADDRESS: inject('temporalAddress'), BRAID_TASK_QUEUE: `cli-${randomUUID()}` });

export function expectOneLineError(r: Run, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^braid: /);
  expect(lines[0]).toMatch(pattern);
}
