/**
 * The `web` source: a remote search API over HTTP — POST `<url>` with {"query", "limit"}, answered
 * by {"results": [{"id", "title", "url"?, "snippet"}]} best first. Without an API key Braid points it
 * at the model simulator's search endpoint (`<simulator>/_sim/tools/web_search`, the simulated web,
 * 300–900 ms a search unless configured); `BRAID_SEARCH_WEB_URL` points it elsewhere. It stands for
 * the slow, remote kind of source: its time is its own, and a search that runs out of it is
 * aborted (the request is dropped) and reported missing while the other sources count.
 */
import { passageId, type SourceHit } from '../shared/search';
import { defineSource, SourceError } from './source';

interface Reply {
  results?: { id?: unknown; title?: unknown; url?: unknown; snippet?: unknown }[];
}

export function createWebSource(opts: { url?: string }) {
  return defineSource({
    name: 'web',
    description: 'a web search API (the simulated web unless BRAID_SEARCH_WEB_URL is set)',
    async search(query, ctx): Promise<SourceHit[]> {
      if (!opts.url) throw new SourceError('the web source has no endpoint: set BRAID_SEARCH_WEB_URL');
      const res = await fetch(opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, limit: ctx.limit }),
        signal: ctx.signal,
      });
      if (res.status >= 400 && res.status < 500 && res.status !== 429)
        throw new SourceError(`the web search API refused the query: HTTP ${res.status}`);
      if (!res.ok) throw new Error(`the web search API answered HTTP ${res.status}`);
      const body = (await res.json()) as Reply;
      if (!Array.isArray(body.results)) throw new Error('the web search API answered without a results list');
      return body.results.flatMap((r) =>
        typeof r.id === 'string' && r.id
          ? [
              {
                id: passageId('web', r.id),
                title: typeof r.title === 'string' ? r.title : r.id,
                snippet: typeof r.snippet === 'string' ? r.snippet : '',
                ...(typeof r.url === 'string' ? { url: r.url } : {}),
              },
            ]
          : [],
      );
    },
  });
}
