/**
 * Search sources for `braid search`, pluggable like tools: a source has a name, says what it holds,
 * and turns a query into a ranked list of passages (best first). How long it may take is the
 * caller's decision (the workflow input, src/shared/search.ts), not the source's. Scores stay inside the source —
 * fusion reads ranks only — so any engine can be one: BM25, SQLite full-text search, a vector store,
 * a remote API. A worker builds one registry at start-up (src/search/index.ts) and hands it to the
 * search activities; the workflow only ever sees source names and hits.
 *
 * The registry also keeps sources honest: a hit's id is prefixed with the source's name if the
 * source left it bare (ids must say where a passage lives), and a list is cut at the depth asked.
 */
import { SOURCE_NAME, type SourceHit } from '../shared/search';

export interface SourceContext {
  /** Hits wanted, at most. */
  limit: number;
  /** Aborted when the search is cancelled or its time is up. */
  signal: AbortSignal;
}

export interface SearchSource {
  /** Letters, digits, '_' or '-': it names the source in ids (`<name>:<key>`), on the command line and in the Web UI. */
  name: string;
  /** What the source holds, for `braid search --help` and the worker's banner. */
  description: string;
  /** The best passages for `query`, best first; an empty list when nothing matches. */
  search(query: string, ctx: SourceContext): Promise<SourceHit[]>;
  /** Full texts of passages by id (for an answer to read); ids it does not know are left out. Default: the hits' snippets. */
  passages?(ids: string[]): Promise<Map<string, string>>;
  /** Prepares what the first search would otherwise wait for (an index). */
  warm?(): Promise<void>;
  /** Releases what the source holds. */
  close?(): Promise<void>;
}

/** The source cannot run this search and retrying will not change that (not configured, a query it refuses). */
export class SourceError extends Error {
  override name = 'SourceError';
}

/** Identity function that types a source definition. */
export function defineSource(source: SearchSource): SearchSource {
  return source;
}

export class SourceRegistry {
  private readonly sources = new Map<string, SearchSource>();

  register(...sources: SearchSource[]): this {
    for (const s of sources) {
      if (typeof s.name !== 'string' || !SOURCE_NAME.test(s.name))
        throw new Error(`Invalid source name ${JSON.stringify(s.name)}: use 1-40 letters, digits, '_' or '-'.`);
      if (this.sources.has(s.name)) throw new Error(`Source "${s.name}" is already registered.`);
      this.sources.set(s.name, s);
    }
    return this;
  }

  has(name: string): boolean {
    return this.sources.has(name);
  }

  get(name: string): SearchSource | undefined {
    return this.sources.get(name);
  }

  names(): string[] {
    return [...this.sources.keys()];
  }

  /** The source's ranked hits for `query`, ids prefixed with its name, at most `ctx.limit`. Unknown names throw SourceError. */
  async search(name: string, query: string, ctx: SourceContext): Promise<SourceHit[]> {
    const source = this.sources.get(name);
    if (!source) throw new SourceError(`unknown source "${name}"; this worker has ${this.names().join(', ') || 'none'}`);
    ctx.signal.throwIfAborted();
    const hits = await source.search(query, ctx);
    const prefix = `${name}:`;
    return hits.slice(0, ctx.limit).map((h) => (h.id.startsWith(prefix) ? h : { ...h, id: `${prefix}${h.id}` }));
  }

  async warm(): Promise<void> {
    await Promise.all([...this.sources.values()].map((s) => s.warm?.()));
  }

  async close(): Promise<void> {
    await Promise.all([...this.sources.values()].map((s) => s.close?.()));
  }
}
