/**
 * The search benchmark's data: the simulated web's pages and the labelled query set are committed
 * exactly as their generators write them (so the labels cannot drift from how they were made), and
 * the set is as large as the benchmark promises.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
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
