/**
 * `--budget` on `braid ask`, `braid pipeline` and `braid ensemble` from the command line: bad input
 * is one line and exit code 2 before anything starts; a run the budget stopped prints its result,
 * says BUDGET REACHED and exits with code 3. (`braid summarize --budget`: test/summarize-cli.test.ts.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { braid, expectOneLineError, server } from './cli-helpers';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-budget-cli-'));
const TOPICS = path.join(dir, 'topics.txt');
fs.writeFileSync(TOPICS, 'Solar panels on flat roofs\n');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('--budget on ask, pipeline and ensemble', () => {
  it.each([
    [['ask', 'x', '--budget', 'ten'], /--budget.*"ten" is not an amount of US dollars/],
    [['ask', 'x', '--budget', '1', '--speculate'], /--budget applies to the agent, not to --speculate yet/],
    [['ask', 'x', '--budget', '1', '--hedge'], /--budget and --hedge cannot be combined yet/],
    [['pipeline', TOPICS, '--budget', '1', '--overlap'], /--budget does not work with --overlap yet/],
    [['pipeline', TOPICS, '--on-budget', 'cancel'], /--on-budget needs --budget/],
    [['ensemble', 'Is it?', '--labels', 'yes,no', '--budget', '1', '--on-budget', 'maybe'], /--on-budget.*expected keep .* or cancel/],
  ])('rejects %j with one line and exit 2', async (args, pattern) => {
    expectOneLineError(await braid(args, server()), 2, pattern);
  });

  it('ask: a budget below the first turn ends "budget reached" with its result and exit code 3', async () => {
    const r = await braid(['ask', 'What is the refund window?', '--budget', '0.000001', '--with-worker', '--json'], server());
    expect(r.code, r.stderr).toBe(3);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ status: 'budget-reached', stopReason: 'budget', turns: 0 });
    expect(out.budget).toMatchObject({ usd: 0.000001, spentUsd: 0, reached: true, skippedCalls: 1, cancelledCalls: 0 });
  });

  it('pipeline: says BUDGET REACHED under its table and exits with code 3', async () => {
    const r = await braid(['pipeline', TOPICS, '--budget', '0.000001', '--with-worker'], server());
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toContain('not started: the budget of $0.000001 was reached');
    expect(r.stdout).toContain('BUDGET REACHED: $0 spent of $0.000001; 3 model call(s) not started; the 0 chain(s) done are kept.');
  });
});
