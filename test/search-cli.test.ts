/**
 * `braid search` as a user runs it: every input a user can get wrong is one line and exit code 2
 * before anything starts (no server is even reached); a search with a worker inside the command
 * prints one JSON result, or the fused hits, the missing sources and a cited answer.
 */
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../src/cli/errors';
import { searchInput } from '../src/cli/search';
import { SEARCH_SOURCES, type SearchResult } from '../src/shared/search';
import { braid, expectOneLineError, server } from './cli-helpers';

const defaults = { sources: [...SEARCH_SOURCES], plannerModel: 'fast', k: 60, top: 10, depth: 10, answerTop: 5, answerModel: 'capable' };

/** The command's input checks, run in-process: what each refusal says (and that it is a usage error, exit 2). */
function refusal(words: string[], o: Record<string, unknown> = {}): string {
  try {
    searchInput(words, { ...defaults, ...o });
  } catch (err) {
    expect(exitCodeFor(err)).toBe(2);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('braid search: bad input', () => {
  // No Temporal server to reach: each of these must fail before connecting.
  const env = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
  it.each([
    [['search'], /nothing to search for/],
    [
      ['search', 'refunds', '--sources', 'handbook,intra net'],
      /"intra net" is not a source name \(letters, digits, _ and -\): use one of handbook, database, tickets, web or a source the worker registers/,
    ],
    [['search', 'refunds', '--sources', 'web=soon'], /source web: time "soon": expected a duration/],
    [['search', 'refunds', '-k', '-3'], /argument '-3' is invalid. expected a whole number from 0 to 1000/],
    [['search', 'refunds', '--answer', '--answer-model', 'gpt-9'], /unknown model "gpt-9" \(the answer\)/],
  ])('braid %j is one line and exit code 2', async (args, pattern) => {
    expectOneLineError(await braid(args, env), 2, pattern);
  });

  it('refuses every other input a user can get wrong, with what to fix', () => {
    expect(refusal(['x'], { sources: ['handbook', 'handbook'] })).toBe('source handbook is given twice');
    expect(refusal(['x'], { sources: ['web=10ms'] })).toBe('source web: timeout 10 ms is outside 50-600000 ms');
    expect(refusal(['x'], { maxQueries: 3 })).toBe('--max-queries needs --decompose');
    expect(refusal(['x'], { decompose: true, plannerModel: 'nobody' })).toMatch(/unknown model "nobody" \(the planner\)/);
    expect(refusal(['x'.repeat(1001)])).toBe('the query is 1001 characters; the limit is 1000');
  });

  it('gives each source the common time unless it names its own', () => {
    const input = searchInput(['refunds'], { ...defaults, sources: ['handbook', 'web=1500ms'], timeout: 4_000 });
    expect(input.sources).toEqual([
      { name: 'handbook', timeoutMs: 4_000 },
      { name: 'web', timeoutMs: 1_500 },
    ]);
    expect(searchInput(['refunds'], defaults).sources).toEqual(SEARCH_SOURCES.map((name) => ({ name })));
  });
});

describe('braid search: runs', () => {
  it('prints one JSON result: every source, the fused hits with the lists that ranked them, and a cited answer', async () => {
    const r = await braid(['search', 'refund for an item that arrived damaged', '--answer', '--with-worker', '--json'], server());
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as SearchResult & { workflowId: string };
    expect(out.workflowId).toMatch(/^search-/);
    expect(out.sources.map((s) => [s.source, s.status])).toEqual(SEARCH_SOURCES.map((s) => [s, 'ok']));
    expect(out.hits).toHaveLength(10);
    expect(out.hits.every((h) => h.ranks.length > 0 && h.ranks.every((x) => x.rank >= 1))).toBe(true);
    expect(out.answer?.status).toBe('answered');
    expect(out.answer!.claims.flatMap((c) => c.cites).every((n) => out.answer!.read.includes(n))).toBe(true);
    expect(out.cost.totalUsd).toBeGreaterThan(0);
  });

  it('refuses a source the worker does not have: exit code 2, the error in one line, nothing searched', async () => {
    const r = await braid(['search', 'refunds', '--sources', 'handbook,intranet', '--with-worker'], server());
    // Before it the command announced the run: its last line is the one error.
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n').at(-1), r.stderr).toMatch(
      /^braid: unknown source "intranet": the worker offers handbook, database, tickets, web \(run search-\S+\)$/,
    );
    expect(r.stdout).not.toMatch(/hits/);
  });

  it('prints the fused hits and names a source that ran out of time as missing', async () => {
    // The simulated web answers in 300-900 ms; 50 ms is not enough.
    const r = await braid(['search', 'express delivery prices', '--sources', 'handbook,web=50ms', '--with-worker'], server());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/✓ handbook \d+ hits/);
    expect(r.stdout).toMatch(/missing web: no answer within 50 ms/);
    expect(r.stdout).toContain('handbook:shipping#delivery-options-and-prices');
    expect(r.stdout).toMatch(/handbook #1/);
  });
});
