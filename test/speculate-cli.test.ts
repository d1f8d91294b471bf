/**
 * `braid ask --speculate` as a user runs it: bad strategy lists are one line and exit code 2 before
 * any server is reached; a run with a worker inside the command prints one JSON result with the
 * winner and every strategy.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SpeculateResult } from '../src/shared/speculate';
import { braid, expectOneLineError, server } from './cli-helpers';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-speculate-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('braid ask --speculate', () => {
  const env = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
  it.each([
    [
      ['ask', '--speculate', 'cache=0,slow=10', 'hi'],
      /--speculate: "slow=10" is not name\[=ms\] with name one of cache, fast, retrieval, agent/,
    ],
    [['ask', '--speculate', 'cache', 'hi'], /the cache alone cannot answer a question it has not seen: add fast or agent/],
    [['ask', '--speculate', 'fast,fast=5', 'hi'], /strategy "fast" is given twice/],
    [['ask', '--speculate', 'fast=70000', 'hi'], /strategy "fast" starts after 70000 ms; give 0-60000/],
    [['ask', '--speculate', '--validator', 'vibes', 'hi'], /unknown validator "vibes" \(known: non-empty, judge\)/],
    [['ask', '--validator', 'judge', 'hi'], /--validator applies to --speculate only/],
  ])('braid %j is one line and exit code 2', async (args, pattern) => {
    expectOneLineError(await braid(args, env), 2, pattern);
  });

  it('prints one JSON result: the winner, the answer and every strategy', async () => {
    const r = await braid(['ask', '--speculate', '--with-worker', '--json', 'How long do refunds take?'], {
      ...server(),
      BRAID_ANSWER_CACHE: path.join(dir, 'answers.db'),
    });
    expect(r.code, r.stderr).toBe(0);
    // The in-command worker's SDK core may log a warning to stdout when the cancelled agent's
    // activity reports back after its child ended; the result is the line that is JSON.
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    const out = JSON.parse(line!) as SpeculateResult & { workflowId: string };
    expect(out.workflowId).toMatch(/^ask-/);
    expect(out.strategies.map((s) => s.name)).toEqual(['cache', 'fast', 'agent']);
    expect(out.strategies.find((s) => s.name === 'cache')).toMatchObject({ status: 'failed', reason: 'no cached answer' });
    expect(out.strategies.find((s) => s.name === out.winner)!.status).toBe('won');
    expect(out.answer.trim()).not.toBe('');
    expect(out.cached).toBe(true);
  });
});
