// The boundaries the chunker may cut at, from coarsest to finest: paragraphs (blank lines, and
// before every Markdown heading), sentences, and words. Every span returned here is trimmed, so
// it starts and ends on non-whitespace, and the spans of one level cover every non-whitespace
// character of their parent exactly once — which is what lets the chunker promise the same.
//
// The segmenters use the fixed locale 'en' rather than the machine's: chunk ids and offsets must
// come out the same on every worker. ICU's rules still segment CJK and Thai text by dictionary.

export interface Span {
  start: number;
  end: number;
  /** The span begins with a Markdown heading line. */
  heading: boolean;
}

const sentenceSegmenter = new Intl.Segmenter('en', { granularity: 'sentence' });
const wordSegmenter = new Intl.Segmenter('en', { granularity: 'word' });

const SPACE = /\s/;
const HEADING = /^ {0,3}#{1,6}(?:[ \t]|$)/;
const FENCE = /^ {0,3}(?:```|~~~)/;
const ALL_SPACE = /^\s+$/;

/** [start, end) of `text` within [from, to) with whitespace trimmed off both ends, or undefined. */
function trimSpan(text: string, from: number, to: number): [number, number] | undefined {
  let start = from;
  while (start < to && SPACE.test(text[start]!)) start++;
  if (start === to) return undefined;
  let end = to;
  while (end > start && SPACE.test(text[end - 1]!)) end--;
  return [start, end];
}

/**
 * Paragraphs: runs of non-blank lines. A heading line (outside fenced code) always opens a new
 * paragraph, so a heading directly followed by text still starts its own unit.
 */
export function paragraphs(text: string): Span[] {
  const out: Span[] = [];
  let paraStart = -1;
  let paraEnd = -1;
  let paraHeading = false;
  let inFence = false;
  const close = (): void => {
    if (paraStart >= 0) out.push({ start: paraStart, end: paraEnd, heading: paraHeading });
    paraStart = -1;
  };
  let lineStart = 0;
  while (lineStart <= text.length) {
    const nl = text.indexOf('\n', lineStart);
    const lineEnd = nl === -1 ? text.length : nl;
    const trimmed = trimSpan(text, lineStart, lineEnd);
    if (trimmed === undefined) {
      close();
    } else {
      const line = text.slice(lineStart, Math.min(lineEnd, lineStart + 16)); // enough for both tests
      const fence = FENCE.test(line);
      const heading = !inFence && !fence && HEADING.test(line);
      if (fence) inFence = !inFence;
      if (heading) close();
      if (paraStart < 0) {
        paraStart = trimmed[0];
        paraHeading = heading;
      }
      paraEnd = trimmed[1];
    }
    if (nl === -1) break;
    lineStart = nl + 1;
  }
  close();
  return out;
}

/** Sentences of the span (Intl.Segmenter); a line break also ends a sentence, so list items split. */
export function sentences(text: string, span: Span): Span[] {
  const out: Span[] = [];
  const slice = text.slice(span.start, span.end);
  for (const seg of sentenceSegmenter.segment(slice)) {
    const trimmed = trimSpan(text, span.start + seg.index, span.start + seg.index + seg.segment.length);
    if (trimmed !== undefined) out.push({ start: trimmed[0], end: trimmed[1], heading: false });
  }
  if (out[0] !== undefined) out[0].heading = span.heading;
  return out;
}

/**
 * Words of the span. A cut is allowed at whitespace, or between two word-like segments that touch
 * (CJK words have no spaces between them) — never between a word and the punctuation stuck to it,
 * so "end." and "https://example.com/x" stay whole.
 */
export function words(text: string, span: Span): Span[] {
  const out: Span[] = [];
  const slice = text.slice(span.start, span.end);
  let start = -1;
  let end = -1;
  let lastWordLike = false;
  const close = (): void => {
    if (start >= 0) out.push({ start, end, heading: false });
    start = -1;
  };
  for (const seg of wordSegmenter.segment(slice)) {
    const segStart = span.start + seg.index;
    if (ALL_SPACE.test(seg.segment)) {
      close();
      lastWordLike = false;
      continue;
    }
    const wordLike = seg.isWordLike === true;
    if (start >= 0 && wordLike && lastWordLike) close();
    if (start < 0) start = segStart;
    end = segStart + seg.segment.length;
    lastWordLike = wordLike;
  }
  close();
  if (out[0] !== undefined) out[0].heading = span.heading;
  return out;
}

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;
const BREAK_AFTER = /[/?&=#\-_.,;:|\\]/;

/**
 * The one place a cut lands inside a "word": a single token longer than the whole budget (a huge
 * URL, a base64 blob). Pieces are at most `maxChars`; a cut prefers to fall just after URL-ish
 * punctuation in the second half of the piece, and never splits a surrogate pair.
 */
export function hardSplit(text: string, span: Span, maxChars: number): Span[] {
  const out: Span[] = [];
  let start = span.start;
  while (span.end - start > maxChars) {
    let cut = start + maxChars;
    for (let i = cut; i > start + maxChars / 2; i--) {
      if (BREAK_AFTER.test(text[i - 1]!)) {
        cut = i;
        break;
      }
    }
    if (isHighSurrogate(text.charCodeAt(cut - 1)) && cut - 1 > start) cut--;
    out.push({ start, end: cut, heading: out.length === 0 && span.heading });
    start = cut;
  }
  out.push({ start, end: span.end, heading: out.length === 0 && span.heading });
  return out;
}
