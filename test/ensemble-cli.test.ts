/**
 * `braid ensemble` as a user runs it: every input a user can get wrong is one line and exit code 2
 * before anything starts (no worker is even asked for); a labelled batch and a prompt run with a
 * worker inside the command and print one JSON result or the tables.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensembleInput } from '../src/cli/ensemble';
import { exitCodeFor } from '../src/cli/errors';
import { DEFAULT_MEMBERS, type EnsembleResult } from '../src/shared/ensemble';
import { braid, expectOneLineError, server } from './cli-helpers';

let tmp: string;
const file = (name: string, text: string) => {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
};
const TICKETS = path.join(__dirname, '..', 'data', 'fixtures', 'support-tickets.jsonl');
const LABELS = 'billing,technical_issue,account,shipping,feedback';

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-ensemble-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The command's input checks, run in-process: what each refusal says (and that it is a usage error, exit 2). */
function refusal(words: string[], o: Record<string, unknown> = {}): string {
  try {
    ensembleInput(words, { models: DEFAULT_MEMBERS, judge: 'fast', memberTimeout: 60_000, concurrency: 10, ...o });
  } catch (err) {
    expect(exitCodeFor(err)).toBe(2);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('braid ensemble: bad input', () => {
  // No Temporal server to reach: each of these must fail before connecting.
  const env = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
  it.each([
    [['ensemble'], /nothing to ask/],
    [
      ['ensemble', 'hi', '--labels', LABELS, '--models', 'claude-haiku-4-5,gpt-9'],
      /unknown model "gpt-9" \(member 2\): use one of fast, capable, claude-haiku-4-5/,
    ],
    [['ensemble', 'hi', '--labels', LABELS, '--quorum', '4'], /the quorum must be from 1 to 3 \(the members\), got 4/],
    [['ensemble', '--items', '/nonexistent/items.jsonl'], /cannot read items file \/nonexistent\/items.jsonl: no such file/],
    [['ensemble', 'hi', '--fallback', 'claude-opus-4-6'], /expected <member model>=<fallback model>/],
  ])('braid %j is one line and exit code 2', async (args, pattern) => {
    expectOneLineError(await braid(args, env), 2, pattern);
  });

  it('refuses every other input a user can get wrong, with what to fix', () => {
    expect(refusal(['hi'], { judge: 'nobody' })).toMatch(/unknown model "nobody" \(the judge\)/);
    expect(refusal(['hi'], { labels: [] })).toMatch(/--labels is empty/);
    expect(refusal(['hi'], { labels: ['yes'] })).toBe('a label set needs at least 2 labels, got 1');
    expect(refusal(['hi'], { labels: ['yes', 'no', 'Yes'] })).toBe('label "Yes" is given twice');
    expect(refusal(['hi'], { aggregate: 'vote' })).toBe('a vote needs labels; a free-form prompt needs the judge');
    expect(refusal(['hi'], { models: ['claude-haiku-4-5'] })).toBe('an ensemble needs at least 2 members, got 1');
    expect(refusal(['hi'], { models: ['fast', 'fast'] })).toMatch(/member 2 repeats member 1/);
    expect(refusal(['hi'], { fallback: { 'claude-opus-4-5': 'claude-opus-4-7' } })).toMatch(/claude-opus-4-5 is not a member/);
    expect(refusal(['hi'], { fallback: { 'claude-opus-4-6': 'claude-haiku-4-5' } })).toMatch(/fallback claude-haiku-4-5 is a member too/);
    expect(refusal(['hi'], { fallback: { 'claude-opus-4-6': 'mystery' } })).toMatch(
      /unknown model "mystery" \(the fallback for claude-opus-4-6\)/,
    );
    expect(refusal(['hi'], { items: TICKETS })).toBe('give a prompt or --items, not both');
    expect(refusal(['hi'], { labels: LABELS.split(','), context: TICKETS })).toMatch(/--context is for a free-form prompt/);
    expect(refusal(['hi'], { context: '/nonexistent/context.md' })).toMatch(/cannot read context file/);
  });

  it('names the line of a broken items file, and an item whose label is not offered', () => {
    const broken = file('broken.jsonl', '{"text":"fine","label":"a"}\n{"text": oops}\n');
    expect(refusal([], { items: broken })).toMatch(/broken.jsonl line 2: not valid JSON/);
    const stray = file('stray.jsonl', '{"id":"x1","text":"one","label":"yes"}\n{"id":"x2","text":"two","label":"maybe"}\n');
    expect(refusal([], { items: stray, labels: ['yes', 'no'] })).toBe('item 2 (x2) is labelled "maybe", which is not one of the labels');
    expect(refusal([], { items: file('plain.txt', 'first ticket\n# a comment\nsecond ticket\n') })).toBe('a batch of items needs labels');
    expect(refusal([], { items: file('empty.jsonl', '\n\n') })).toMatch(/has no items/);
    expect(refusal([], { items: tmp })).toBe(`${tmp} is not a file`);
    expect(refusal([], { items: file('dupes.jsonl', '{"id":"a","text":"x","label":"p"}\n{"id":"a","text":"y","label":"q"}\n') })).toBe(
      'item 2 repeats the id a',
    );
  });

  it('reads a plain items file one text per line, and a labelled one with its label set', () => {
    const plain = ensembleInput([], {
      items: file('plain2.txt', 'first ticket\n# a comment\n\nsecond ticket\n'),
      labels: ['yes', 'no'],
      models: DEFAULT_MEMBERS,
      judge: 'fast',
      memberTimeout: 60_000,
      concurrency: 10,
    });
    expect(plain.items).toEqual([
      { id: 'line-1', text: 'first ticket' },
      { id: 'line-4', text: 'second ticket' },
    ]);
    expect(plain.aggregate).toBe('vote');
    const labelled = ensembleInput([], { items: TICKETS, models: DEFAULT_MEMBERS, judge: 'fast', memberTimeout: 60_000, concurrency: 10 });
    expect(labelled.items).toHaveLength(250);
    expect(labelled.labels).toEqual(['technical_issue', 'account', 'billing', 'shipping', 'feedback']);
  });
});

describe('braid ensemble: runs', () => {
  it('classifies a labelled batch with a worker inside the command: one JSON result with accuracy, votes and cost', async () => {
    const items = file('twelve.jsonl', fs.readFileSync(TICKETS, 'utf8').split('\n').slice(0, 12).join('\n'));
    const r = await braid(['ensemble', '--items', items, '--aggregate', 'judge', '-c', '4', '--with-worker', '--json'], server());
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as EnsembleResult & { workflowId: string };
    expect(out.workflowId).toMatch(/^ensemble-/);
    expect(out.labels).toEqual(['technical_issue', 'account', 'billing', 'shipping', 'feedback']);
    expect(out.items).toHaveLength(12);
    expect(out.items.every((i) => i.votes.length === 3 && i.expected !== undefined)).toBe(true);
    expect(out.summary.accuracy?.byMember.map((m) => m.model)).toEqual(['claude-opus-4-6', 'claude-sonnet-4-6', 'claude-haiku-4-5']);
    expect(out.peakRunning).toBeLessThanOrEqual(4);
    expect(out.cost.totalUsd).toBeGreaterThan(0);
    expect(out.simulated).toBe(true);
  });

  it('answers one prompt by majority vote and prints the votes', async () => {
    const r = await braid(
      ['ensemble', '--labels', LABELS, '--with-worker', 'I was charged twice for my order, please refund the payment.'],
      server(),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Answer billing/);
    for (const model of ['claude-haiku-4-5', 'claude-sonnet-4-6', 'claude-opus-4-6']) expect(r.stdout).toContain(model);
    expect(r.stdout).toMatch(/cost \$/);
  });
});
