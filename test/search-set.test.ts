/**
 * The search benchmark's data: the simulated web's pages and the labelled query set are committed
 * exactly as their generators write them (so the labels cannot drift from how they were made), and
 * the set is as large as the benchmark promises.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ndcgAt, recallAt } from '../bench/search';
import { querySetJsonl, readQuerySet, searchQuerySet } from '../bench/search-set';
import { webPages, webPagesJsonl } from '../src/simulator/fixtures/web-pages';

const FIXTURES = path.join(__dirname, '..', 'data', 'fixtures');

describe('the search benchmark set', () => {
  it('commits the web pages and the labelled queries exactly as their generators write them', () => {
    expect(fs.readFileSync(path.join(FIXTURES, 'web-pages.jsonl'), 'utf8')).toBe(webPagesJsonl(webPages()));
    expect(fs.readFileSync(path.join(FIXTURES, 'search-queries.jsonl'), 'utf8')).toBe(querySetJsonl(searchQuerySet()));
  });

  it('has at least 50 queries, each with a relevant passage, and distinct ids and texts', () => {
    const set = readQuerySet();
    expect(set.length).toBeGreaterThanOrEqual(50);
    expect(new Set(set.map((q) => q.id)).size).toBe(set.length);
    expect(new Set(set.map((q) => q.query)).size).toBe(set.length);
    for (const q of set) expect(Object.keys(q.relevant).length, q.id).toBeGreaterThan(0);
    // Relevance spans sources: a fused list has something to gain over any single one.
    const spanning = set.filter((q) => new Set(Object.keys(q.relevant).map((id) => id.split(':')[0])).size > 1);
    expect(spanning.length).toBeGreaterThanOrEqual(30);
  });
});

describe("the search benchmark's measures", () => {
  const relevant = { a: 2, b: 1, c: 1 } as const;
  it('recall@10: relevant passages in the top 10 over all relevant passages', () => {
    expect(recallAt(['x', 'a', 'y', 'c'], relevant)).toBeCloseTo(2 / 3, 12);
    expect(recallAt(['x', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8', 'x9', 'x10', 'a'], relevant)).toBe(0);
    expect(recallAt([], relevant)).toBe(0);
  });

  it('nDCG@10: gain 2^grade − 1, discounted by log2(rank + 1), over the ideal order', () => {
    expect(ndcgAt(['a', 'b', 'c'], relevant)).toBeCloseTo(1, 12);
    const ideal = 3 + 1 / Math.log2(3) + 1 / Math.log2(4);
    expect(ndcgAt(['b', 'x', 'a'], relevant)).toBeCloseTo((1 + 3 / Math.log2(4)) / ideal, 12);
    expect(ndcgAt(['x'], relevant)).toBe(0);
  });
});
