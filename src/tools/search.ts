// `search_docs`: full-text search over Northwind Loom's handbook (data/docs/*.md).
//
// Documents are indexed by section, split at markdown headings, rather than whole files: a hit
// then points the model at the paragraph that answers the question, and BM25 is not diluted by
// a long file's unrelated sections. The index is built once, lazily, per docs directory and
// shared by every registry in the process. Snippets are cut around the densest cluster of
// matched terms, so the model sees why a section matched.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import MiniSearch from 'minisearch';
import { z } from 'zod';
import { defineTool, ToolError } from './registry';
import { directoryVersion } from './data-version';

export const SEARCH_DESCRIPTION =
  "Search Northwind Loom's internal handbook and get the best-matching sections with a snippet of each. " +
  'The handbook covers refunds and returns, shipping, security policy, onboarding, pricing and discounts, ' +
  'customer support SLAs, data retention and remote work. Use it whenever an answer depends on company policy, ' +
  'process, deadlines or limits, and cite the doc and section you relied on. ' +
  "Keyword search with typo tolerance: pass the key terms (e.g. 'refund damaged item'), not a whole sentence.";

const SNIPPET_CHARS = 300;
/** A word as both the index and the snippet cutter see it: letters/digits, with an optional 's-style suffix. */
const WORD = /[\p{L}\p{N}]+(?:['’]\p{L}+)?/gu;

const STOPWORDS = new Set(
  (
    'a an and are as at be by can do does for from has have how i if in is it its may of on or our should ' +
    'that the their them there these this to us was we what when where which who will with you your'
  ).split(' '),
);

export interface Section {
  doc: string;
  title: string;
  section: string;
  /** Character offset of the section (its heading line) in the file. */
  offset: number;
  text: string;
}

export interface SearchHit {
  doc: string;
  section: string;
  score: number;
  snippet: string;
  offset: number;
}

/** Splits markdown into sections at ATX headings (# … ######), ignoring headings inside code fences. */
export function splitSections(doc: string, markdown: string): Section[] {
  const headingAt: { offset: number; heading: string }[] = [];
  let inFence = false;
  let offset = 0;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    const m = inFence ? null : /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (m) headingAt.push({ offset, heading: m[1] as string });
    offset += line.length + 1;
  }
  const title = headingAt[0]?.heading ?? doc;
  const starts = headingAt[0]?.offset === 0 ? headingAt : [{ offset: 0, heading: title }, ...headingAt];
  const sections: Section[] = [];
  starts.forEach((start, i) => {
    const end = starts[i + 1]?.offset ?? markdown.length;
    const body = markdown
      .slice(start.offset, end)
      .replace(/^#{1,6}\s+.*\n?/, '')
      .trim();
    if (body) sections.push({ doc, title, section: start.heading, offset: start.offset, text: body });
  });
  return sections;
}

/** Words of a text as the index sees them (lower-cased, stopwords dropped). */
export function searchTerms(text: string): string[] {
  return (text.toLowerCase().match(WORD) ?? []).filter((t) => !STOPWORDS.has(t));
}

/** ~SNIPPET_CHARS of `text` around the window holding the most distinct matched terms. */
export function makeSnippet(text: string, matched: string[]): string {
  const flat = text.replace(/\s+/g, ' ');
  if (flat.length <= SNIPPET_CHARS) return flat;
  const wanted = new Set(matched.map((t) => t.toLowerCase()));
  const hits: { at: number; term: string }[] = [];
  for (const m of flat.matchAll(WORD)) {
    const word = m[0].toLowerCase();
    if (wanted.has(word)) hits.push({ at: m.index, term: word });
  }
  let bestStart = 0;
  let bestScore = -1;
  for (const hit of hits) {
    const start = Math.max(0, hit.at - 60);
    const inWindow = hits.filter((h) => h.at >= start && h.at < start + SNIPPET_CHARS - 20);
    const score = new Set(inWindow.map((h) => h.term)).size * 1000 + inWindow.length;
    if (score > bestScore) {
      bestScore = score;
      bestStart = start;
    }
  }
  let start = Math.min(bestStart, flat.length - SNIPPET_CHARS);
  if (start > 0) start = flat.indexOf(' ', start) + 1 || start;
  let end = Math.min(flat.length, start + SNIPPET_CHARS);
  if (end < flat.length) end = flat.lastIndexOf(' ', end) > start ? flat.lastIndexOf(' ', end) : end;
  return `${start > 0 ? '…' : ''}${flat.slice(start, end)}${end < flat.length ? '…' : ''}`;
}

async function buildIndex(docsDir: string): Promise<MiniSearch<Section>> {
  let files: string[];
  try {
    files = (await readdir(docsDir)).filter((f) => f.endsWith('.md')).sort();
  } catch (err) {
    throw new Error(`Cannot read the handbook directory ${docsDir}: ${(err as Error).message}`);
  }
  const sections: (Section & { id: number })[] = [];
  for (const file of files) {
    for (const s of splitSections(file, await readFile(join(docsDir, file), 'utf8'))) sections.push({ id: sections.length, ...s });
  }
  const index = keywordIndex<Section>(['title', 'section', 'text'], ['doc', 'section', 'offset', 'text'], { section: 2, title: 1.5 });
  index.addAll(sections);
  return index;
}

/**
 * An empty BM25 index (MiniSearch) that reads text as search_docs does: words with an optional
 * 's-style suffix, lower-cased, stopwords dropped, typo-tolerant and prefix matching, any term may
 * match (OR). `boost` weighs fields against each other.
 */
export function keywordIndex<T>(fields: string[], storeFields: string[], boost: Record<string, number>): MiniSearch<T> {
  return new MiniSearch<T>({
    fields,
    storeFields,
    tokenize: (text) => text.match(WORD) ?? [],
    processTerm: (term) => {
      const t = term.toLowerCase();
      return STOPWORDS.has(t) ? null : t;
    },
    searchOptions: { boost, fuzzy: 0.2, prefix: true, combineWith: 'OR' },
  });
}

const indexes = new Map<string, Promise<MiniSearch<Section>>>();

function indexFor(docsDir: string): Promise<MiniSearch<Section>> {
  let index = indexes.get(docsDir);
  if (!index) {
    index = buildIndex(docsDir);
    indexes.set(docsDir, index);
    // A failed build is not cached, so a fixed directory works on the next call.
    index.catch(() => indexes.delete(docsDir));
  }
  return index;
}

export async function searchDocs(docsDir: string, query: string, limit: number): Promise<SearchHit[]> {
  const index = await indexFor(docsDir);
  if (searchTerms(query).length === 0)
    throw new ToolError('The query has no searchable words; use key terms such as "refund damaged item".');
  return index
    .search(query)
    .slice(0, limit)
    .map((r) => ({
      doc: r.doc as string,
      section: r.section as string,
      score: Math.round(r.score * 1000) / 1000,
      snippet: makeSnippet(r.text as string, r.terms),
      offset: r.offset as number,
    }));
}

export function createSearchTool(opts: { docsDir: string }) {
  return defineTool({
    name: 'search_docs',
    description: SEARCH_DESCRIPTION,
    input: z.object({
      query: z.string().min(1).max(500).describe('Key terms to look for, e.g. "refund damaged item" or "laptop encryption"'),
      limit: z.number().int().min(1).max(10).default(3).describe('How many sections to return (1-10, default 3)'),
    }),
    timeoutMs: 15_000,
    dataVersion: () => directoryVersion(opts.docsDir),
    async handler({ query, limit }) {
      return { results: await searchDocs(opts.docsDir, query, limit) };
    },
  });
}
