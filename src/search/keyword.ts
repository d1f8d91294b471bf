/**
 * A BM25 keyword index over passages, read the way `search_docs` reads text (src/tools/search.ts:
 * typo-tolerant, prefix matching, stopwords dropped), for sources whose passages fit in memory. Built
 * once, on the first search, from a loader; a failed build is not kept, so the next search tries again.
 */
import type MiniSearch from 'minisearch';
import type { SourceHit } from '../shared/search';
import { keywordIndex, makeSnippet, searchTerms } from '../tools/search';

export interface Passage {
  /** The full passage id (`<source>:<key>`). */
  id: string;
  title: string;
  text: string;
  /** Further fields to index, by name (a heading, a category). */
  fields?: Record<string, string>;
}

export class KeywordIndex {
  private built?: Promise<{ index: MiniSearch<Record<string, string>>; texts: Map<string, string> }>;

  /** `boost` weighs the indexed fields: `text`, `title` and the passages' own `fields`. */
  constructor(
    private readonly load: () => Promise<Passage[]>,
    private readonly boost: Record<string, number>,
  ) {}

  private index() {
    this.built ??= (async () => {
      const passages = await this.load();
      const fields = Object.keys(this.boost);
      const index = keywordIndex<Record<string, string>>(fields, ['title', 'text'], this.boost);
      index.addAll(passages.map((p) => ({ ...p.fields, id: p.id, title: p.title, text: p.text })));
      return { index, texts: new Map(passages.map((p) => [p.id, p.text])) };
    })();
    this.built.catch(() => (this.built = undefined));
    return this.built;
  }

  /** The best `limit` passages, best first; none when the query has no searchable words. */
  async search(query: string, limit: number): Promise<SourceHit[]> {
    const { index } = await this.index();
    if (searchTerms(query).length === 0) return [];
    return index
      .search(query)
      .slice(0, limit)
      .map((r) => ({ id: String(r.id), title: r.title as string, snippet: makeSnippet(r.text as string, r.terms) }));
  }

  async texts(ids: string[]): Promise<Map<string, string>> {
    const { texts } = await this.index();
    return new Map(ids.flatMap((id) => (texts.has(id) ? [[id, texts.get(id)!] as const] : [])));
  }

  async warm(): Promise<void> {
    await this.index();
  }
}
