/**
 * How `braid summarize` turns a model's citations into provenance it can stand behind. The model
 * reads its material as plain-text documents with citations enabled (the Messages API's citations
 * feature), and its reply comes back as text blocks, some carrying `char_location` citations. Braid
 * trusts none of them blindly: a citation counts only when it names a document of the request, lies
 * within it, and its `cited_text` is exactly the document's text at those offsets. A checked range
 * is then widened to whole sentences of Braid's own segmentation (src/ingest/segments.ts, the one
 * the chunker cuts by), so what the answer cites is always a run of whole sentences of a file.
 *
 * Reply blocks are grouped into statements (a statement ends where a block ends a sentence or a
 * line); a statement with at least one valid citation is a claim, one without any is left out, so
 * every sentence Braid reports rests on a range it checked. Pure functions, no I/O.
 */
import { paragraphs, sentences } from '../ingest/segments';
import type { CitationChecks, Claim, SourceCitation } from '../shared/summarize';
import type { CharCitation, ContentBlock, TextBlock } from '../shared/types';

export type Range = [number, number];

/** Sentence spans of `text`, in order: paragraphs, then sentences (trimmed, non-overlapping). */
export function sentenceSpans(text: string): Range[] {
  return paragraphs(text).flatMap((p) => sentences(text, p).map((s): Range => [s.start, s.end]));
}

export const noChecks = (): CitationChecks => ({ returned: 0, aligned: 0, widened: 0, rejected: 0, uncited: 0 });

export function addChecks(into: CitationChecks, c: CitationChecks | undefined): CitationChecks {
  if (!c) return into;
  into.returned += c.returned;
  into.aligned += c.aligned;
  into.widened += c.widened;
  into.rejected += c.rejected;
  into.uncited += c.uncited;
  return into;
}

export type RangeCheck = { ok: true; range: Range; first: number; last: number; aligned: boolean } | { ok: false; reason: string };

/** Whitespace and Markdown markup a citation may leave out of a sentence and still be aligned with it. */
const MARKUP = /^[\s>*_#`|\-•+]*(?:\d{1,3}[.)]\s+)?[\s*_`]*$/;

/**
 * Checks one citation against the text of the document it names, and returns the run of units
 * (sentences, or claims in a reduce) it touches: `units[first..last]`, covering `range`. Aligned
 * when the citation starts and ends on those units' bounds (give or take whitespace and markup).
 */
export function checkCitation(c: CharCitation, text: string, units: Range[]): RangeCheck {
  const { start_char_index: s, end_char_index: e } = c;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e <= s || e > text.length)
    return { ok: false, reason: `range ${s}-${e} is not within the document's ${text.length} characters` };
  if (text.slice(s, e) !== c.cited_text) return { ok: false, reason: `cited text differs from the document's text at ${s}-${e}` };
  const first = units.findIndex(([, b]) => b > s);
  if (first < 0 || units[first]![0] >= e) return { ok: false, reason: `range ${s}-${e} covers only whitespace or markup` };
  let last = first;
  while (last + 1 < units.length && units[last + 1]![0] < e) last++;
  const range: Range = [units[first]![0], units[last]![1]];
  const markupBetween = (a: number, b: number) => MARKUP.test(text.slice(Math.min(a, b), Math.max(a, b)));
  const aligned = markupBetween(s, range[0]) && markupBetween(e, range[1]);
  return { ok: true, range, first, last, aligned };
}

/** A run of reply blocks that makes one sentence or line, with the citations its blocks carry. */
export interface Statement {
  text: string;
  citations: CharCitation[];
  /** The model ended it with a line break (a list item, a paragraph). */
  newline: boolean;
}

const ENDS_STATEMENT = /(?:[.!?:]["'”’)\]*_]*\s*|\n\s*)$/;

/** The reply's text blocks grouped into statements, in order, whitespace collapsed. */
export function statementsOf(blocks: TextBlock[]): Statement[] {
  const out: Statement[] = [];
  let text = '';
  let citations: CharCitation[] = [];
  const close = () => {
    const clean = text.replace(/\s+/g, ' ').trim();
    if (clean) out.push({ text: clean, citations, newline: /\n\s*$/.test(text) });
    text = '';
    citations = [];
  };
  for (const b of blocks) {
    text += b.text;
    citations.push(...(b.citations ?? []));
    if (ENDS_STATEMENT.test(b.text)) close();
  }
  close();
  return out;
}

/** Ranges sorted and merged where they overlap or only whitespace can lie between them. */
export function mergeRanges(ranges: Range[]): Range[] {
  const merged: Range[] = [];
  for (const [a, b] of [...ranges].sort((x, y) => x[0] - y[0] || x[1] - y[1])) {
    const last = merged.at(-1);
    if (last && a <= last[1] + 2) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged;
}

/** Union of citations per source, sources in first-seen order, ranges merged. */
export function mergeSources(all: SourceCitation[]): SourceCitation[] {
  const bySource = new Map<string, Range[]>();
  for (const s of all) bySource.set(s.source, [...(bySource.get(s.source) ?? []), ...s.ranges]);
  return [...bySource.entries()].map(([source, ranges]) => ({ source, ranges: mergeRanges(ranges) }));
}

export const rangeCount = (sources: SourceCitation[]): number => sources.reduce((n, s) => n + s.ranges.length, 0);

/** A document of the request as Braid knows it: its text, its units, and the sources behind a run of units. */
export interface CitedDocument {
  text: string;
  /** Sentences (map) or findings (reduce), in order. */
  units: Range[];
  provenance(first: number, last: number): SourceCitation[];
}

/** A chunk as the document of a map call: its sentences, cited as ranges of its file. */
export function chunkDocument(text: string, source: string, offset: number): CitedDocument {
  const units = sentenceSpans(text);
  return {
    text,
    units,
    provenance: (first, last) => [{ source, ranges: [[units[first]![0] + offset, units[last]![1] + offset]] }],
  };
}

/** Earlier claims, one per line, as the document of a reduce call: citing a line cites the claim's sources. */
export function findingsDocument(claims: Claim[]): CitedDocument {
  const units: Range[] = [];
  let at = 0;
  const lines = claims.map((c) => {
    const line = c.text.replace(/\s+/g, ' ').trim();
    units.push([at, at + line.length]);
    at += line.length + 1;
    return line;
  });
  return { text: lines.join('\n'), units, provenance: (first, last) => claims.slice(first, last + 1).flatMap((c) => c.sources) };
}

export interface Reading {
  claims: Claim[];
  checks: CitationChecks;
  /** Why citations were rejected (the first few). */
  rejections: string[];
  /** The claims as prose, each followed by [n], its number in `claims`; statements without a valid citation are left out. */
  answer: string;
}

/**
 * Reads a reply to a request whose documents were `docs` (in request order): every citation is
 * checked against the document it names, a statement keeps the provenance of its valid citations,
 * and a statement left without any is dropped (and counted, when the reply made any claim at all —
 * a reply with none is a chunk that does not bear on the task, saying so).
 */
export function readReply(content: ContentBlock[], docs: CitedDocument[]): Reading {
  const checks = noChecks();
  const rejections: string[] = [];
  const claims: Claim[] = [];
  let answer = '';
  let uncited = 0;
  for (const st of statementsOf(content.filter((b): b is TextBlock => b.type === 'text'))) {
    const sources: SourceCitation[] = [];
    for (const c of st.citations) {
      checks.returned++;
      const doc = docs[c.document_index];
      const r: RangeCheck = doc
        ? checkCitation(c, doc.text, doc.units)
        : { ok: false, reason: `document ${c.document_index} is not in the request` };
      if (!r.ok) {
        checks.rejected++;
        if (rejections.length < 5) rejections.push(r.reason);
        continue;
      }
      if (r.aligned) checks.aligned++;
      else checks.widened++;
      sources.push(...doc!.provenance(r.first, r.last));
    }
    if (!sources.length) {
      uncited++;
      continue;
    }
    claims.push({ text: st.text, sources: mergeSources(sources) });
    answer += `${st.text} [${claims.length}]${st.newline ? '\n' : ' '}`;
  }
  if (claims.length) checks.uncited = uncited;
  return { claims, checks, rejections, answer: answer.trim() };
}
