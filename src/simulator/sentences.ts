// Sentence segmentation that keeps character offsets, because an extractive model has to be able
// to say exactly where each quoted sentence came from (citations, chunk-relative ranges). Markdown
// structure is respected: a heading is its own unit and never quoted as a sentence, a list item
// starts a new unit (its marker is not part of the text), and a blank line ends a paragraph. Within
// a paragraph, a sentence ends at . ! or ? followed by a space and a capital, digit or quote,
// except after common abbreviations and initials. Linear in the length of the text.

export interface Sentence {
  /** The sentence exactly as it appears in the source (line breaks included). */
  text: string;
  /** Offsets into the source text: `source.slice(start, end) === text`. */
  start: number;
  end: number;
  /** Which source (document, section, turn) it came from; the caller's numbering. */
  source: number;
  kind: 'sentence' | 'heading' | 'item';
  /** The nearest heading above it, if any (its words count a little towards relevance). */
  heading?: string;
  /** What its source is about, from metadata such as a file name (counts like the heading; never quoted). */
  context?: string;
}

const ABBREVIATION =
  /(?:^|[\s(])(?:e\.g|i\.e|etc|vs|cf|approx|mr|mrs|ms|dr|prof|sr|jr|st|no|nos|inc|ltd|co|corp|dept|est|fig|vol|u\.s|u\.k|a\.m|p\.m|[A-Z])$/i;
const HEADING = /^(#{1,6})[ \t]+/;
const LIST_MARKER = /^[ \t]*(?:[-*•+]|\d{1,3}[.)])[ \t]+/;
const BOUNDARY = /[.!?]+["'”’)\]*_]*(?=\s|$)/g;

/** Whitespace collapsed to single spaces: how a sentence reads when quoted in prose. */
export const flat = (text: string): string => text.replace(/\s+/g, ' ').trim();

function pushUnit(
  text: string,
  from: number,
  to: number,
  kind: Sentence['kind'],
  source: number,
  heading: string | undefined,
  out: Sentence[],
) {
  const slice = text.slice(from, to);
  let cursor = 0;
  const emit = (a: number, b: number): void => {
    const raw = slice.slice(a, b);
    const lead = raw.length - raw.trimStart().length;
    const body = raw.trim();
    if (!/[A-Za-z\u00C0-\u024F]{2}/.test(body)) return;
    out.push({ text: body, start: from + a + lead, end: from + a + lead + body.length, source, kind, heading });
  };
  BOUNDARY.lastIndex = 0;
  for (let m = BOUNDARY.exec(slice); m; m = BOUNDARY.exec(slice)) {
    const end = m.index + m[0].length;
    const before = slice.slice(Math.max(cursor, m.index - 12), m.index);
    if (m[0].startsWith('.') && ABBREVIATION.test(before)) continue;
    const next = /\S/.exec(slice.slice(end));
    if (next && !/[A-Z0-9"'“‘([*_\u00C0-\u00DE]/.test(next[0])) continue;
    emit(cursor, end);
    cursor = end;
  }
  if (cursor < slice.length) emit(cursor, slice.length);
}

/** Sentences, list items and headings of `text`, with offsets into it. */
export function splitSentences(text: string, source = 0): Sentence[] {
  const out: Sentence[] = [];
  let unitStart = -1;
  let unitEnd = -1;
  let kind: Sentence['kind'] = 'sentence';
  let heading: string | undefined;
  const flush = (): void => {
    if (unitStart >= 0) pushUnit(text, unitStart, unitEnd, kind, source, heading, out);
    unitStart = -1;
  };
  let lineStart = 0;
  while (lineStart <= text.length) {
    const nl = text.indexOf('\n', lineStart);
    const lineEnd = nl === -1 ? text.length : nl;
    const line = text.slice(lineStart, lineEnd);
    const h = HEADING.exec(line);
    const marker = LIST_MARKER.exec(line);
    // Blank lines, rules, fences and table rows end a unit; table rows are not sentences and are skipped.
    if (line.trim() === '' || /^\s*(?:-{3,}|\*{3,}|={3,}|```.*)\s*$/.test(line) || /^\s*\|/.test(line)) flush();
    else if (h) {
      flush();
      const title = line.slice(h[0].length).trim();
      if (title)
        out.push({ text: title, start: lineStart + h[0].length, end: lineStart + h[0].length + title.length, source, kind: 'heading' });
      heading = title || heading;
    } else if (marker) {
      flush();
      unitStart = lineStart + marker[0].length;
      unitEnd = lineEnd;
      kind = 'item';
    } else if (unitStart < 0) {
      unitStart = lineStart;
      unitEnd = lineEnd;
      kind = 'sentence';
    } else unitEnd = lineEnd;
    if (nl === -1) break;
    lineStart = nl + 1;
  }
  flush();
  return out;
}
