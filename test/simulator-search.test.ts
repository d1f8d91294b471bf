// The simulator's stand-ins for `braid search`: the remote search endpoint (a corpus per tool name,
// the simulated web built in, ranked by the query's words, after the tool's latency) and the query
// planner's task (a question split into one search query per independent part), through HTTP and
// the real SDK.
import { describe, expect, it } from 'vitest';
import type { Simulator } from '../src/simulator';
import { webPages } from '../src/simulator/fixtures/web-pages';
import { FAST, MODEL, startSim, textOf } from './simulator-helpers';

// Closed after each test by simulator-helpers.
let sim: Simulator | undefined;

interface SearchReply {
  tool: string;
  query: string;
  results: { id: string; title: string; url?: string; snippet: string }[];
}

async function search(name: string, input: unknown): Promise<{ ms: number; status: number; body: SearchReply }> {
  const t0 = Date.now();
  const res = await fetch(`${sim!.url}/_sim/tools/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  return { ms: Date.now() - t0, status: res.status, body: (await res.json()) as SearchReply };
}

describe('the remote search endpoint', () => {
  it('answers web_search from the simulated web, best pages first, after the configured latency', async () => {
    ({ sim } = await startSim({ latency: { ...FAST, tools: { web_search: { fixed: 200 } } } }));
    const { ms, status, body } = await search('web_search', { query: 'Herringbone Wool Throw review', limit: 3 });
    expect(status).toBe(200);
    expect(ms).toBeGreaterThanOrEqual(195);
    expect(body.results).toHaveLength(3);
    const pages = new Map(webPages().map((p) => [p.id, p]));
    // All three reviews of that product are its best pages; nothing of their tags is served.
    for (const r of body.results) {
      expect(pages.get(r.id)!.tags).toEqual(['product:7']);
      expect(r.url).toMatch(/^https:\/\//);
      expect(r).not.toHaveProperty('tags');
    }
    // Same query, same ranking.
    expect((await search('web_search', { query: 'Herringbone Wool Throw review', limit: 3 })).body.results).toEqual(body.results);
    // Without a limit: ten; a page matching nothing is never returned.
    expect((await search('web_search', { query: 'linen' })).body.results).toHaveLength(10);
    expect((await search('web_search', { query: 'zyzzyva quokka' })).body.results).toEqual([]);
  });

  it('searches a corpus given in the options or at run time, and stays a plain tool without a query', async () => {
    ({ sim } = await startSim({
      latency: { ...FAST, tools: { intranet: 0 } },
      searchCorpora: { intranet: [{ id: 'a', title: 'Parking', text: 'Staff park behind the warehouse.' }] },
    }));
    expect((await search('intranet', { query: 'where to park' })).body.results.map((r) => r.id)).toEqual(['a']);
    sim.configure({
      searchCorpora: {
        intranet: [
          { id: 'x', title: 'Canteen', text: 'Lunch is served from noon.' },
          { id: 'y', title: 'Lunch breaks', text: 'Take a lunch break of at least thirty minutes; lunch vouchers are on the intranet.' },
        ],
      },
    });
    expect((await search('intranet', { query: 'lunch' })).body.results.map((r) => r.id)).toEqual(['y', 'x']);
    const plain = await fetch(`${sim.url}/_sim/tools/intranet`, { method: 'POST', body: JSON.stringify({ city: 'Oslo' }) });
    expect(await plain.json()).toMatchObject({ tool: 'intranet', result: expect.stringContaining('Oslo') });
  });
});

describe('the query planner task', () => {
  it('splits a question into one search query per independent part, up to the number asked for', async () => {
    const started = await startSim({ latency: FAST });
    sim = started.sim;
    const plan = async (question: string, most: number) =>
      textOf(
        await started.client.messages.create({
          model: MODEL,
          max_tokens: 200,
          system: `Split the question into independent search queries, at most ${most}: one query per line, no other text.`,
          messages: [{ role: 'user', content: `Question: ${question}` }],
        }),
      ).split('\n');
    expect(await plan('How long do refunds take to reach my card, and what is the express shipping price to Canada?', 4)).toEqual([
      'refunds take to reach my card',
      'express shipping price to Canada',
    ]);
    expect(await plan('What is the return window; who pays return shipping; how are exchanges handled?', 2)).toHaveLength(2);
    expect(await plan('charged twice for one order', 4)).toEqual(['charged twice for one order']);
  });
});
