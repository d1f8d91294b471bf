// A stand-in web search engine behind the simulator's remote-tool endpoint: POST
// /_sim/tools/<name> with {"query": "…", "limit": n} to a tool that has a corpus answers with that
// corpus's best pages for the query, after the tool's latency. It ranks the way the simulated model
// reads relevance (rank.ts): the query's content-word stems plus a few related words, each weighted
// by how rare it is in the corpus, a title match counting more than one in the text. It knows
// nothing of how pages are labelled. The built-in corpus `web_search` is the simulated web
// (fixtures/web-pages.ts).
import { queryOf } from './rank';
import { contentStems, excerpt } from './text';

export interface SearchPage {
  id: string;
  title: string;
  url?: string;
  text: string;
}

export interface SearchResult {
  id: string;
  title: string;
  url?: string;
  snippet: string;
}

/** Results a request may ask for, and what it gets without asking. */
export const MAX_SEARCH_RESULTS = 50;
export const DEFAULT_SEARCH_RESULTS = 10;
const TITLE_WEIGHT = 1.5;

export class SearchCorpus {
  private readonly stems: { title: Set<string>; text: Set<string> }[];
  private readonly idf = new Map<string, number>();

  constructor(private readonly pages: readonly SearchPage[]) {
    this.stems = pages.map((p) => ({ title: new Set(contentStems(p.title)), text: new Set(contentStems(p.text)) }));
    const df = new Map<string, number>();
    for (const s of this.stems) for (const t of new Set([...s.title, ...s.text])) df.set(t, (df.get(t) ?? 0) + 1);
    for (const [t, n] of df) this.idf.set(t, Math.log(1 + (pages.length - n + 0.5) / (n + 0.5)));
  }

  get size(): number {
    return this.pages.length;
  }

  /** The best `limit` pages for `query`, best first; pages matching nothing are left out; ties keep corpus order. */
  search(query: string, limit = DEFAULT_SEARCH_RESULTS): SearchResult[] {
    const terms = queryOf(query);
    const scored: { i: number; score: number }[] = [];
    this.stems.forEach((s, i) => {
      let score = 0;
      for (const [term, weight] of terms) {
        const inTitle = s.title.has(term);
        if (!inTitle && !s.text.has(term)) continue;
        score += weight * (this.idf.get(term) ?? 0) * (inTitle ? TITLE_WEIGHT : 1);
      }
      if (score > 0) scored.push({ i, score });
    });
    scored.sort((a, b) => b.score - a.score || a.i - b.i);
    return scored.slice(0, Math.min(Math.max(1, limit), MAX_SEARCH_RESULTS)).map(({ i }) => {
      const p = this.pages[i]!;
      return { id: p.id, title: p.title, ...(p.url ? { url: p.url } : {}), snippet: excerpt(p.text, 300) };
    });
  }
}
