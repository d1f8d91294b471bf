// Cuts sources into chunks for the map step, at the most meaningful boundary that keeps each
// chunk within a token budget, with offsets back into the source so results can cite them.
//
// One greedy pass packs units into chunks. Units are paragraphs; a paragraph too big for a chunk
// on its own is replaced by its sentences, a sentence too big by its words, and a single word
// bigger than the whole budget (a huge URL or base64 blob — the one exception to "never
// mid-word") by pieces of at most the budget. Because every unit fits, every chunk fits. A
// Markdown heading starts a new chunk once the current one is at least a quarter full, so a
// section's heading travels with its text without leaving slivers of chunks behind; and a
// paragraph that would leave a heading alone in its chunk is cut into sentences so that it does not.
//
// Tokens are estimated as ceil(UTF-16 length / 4): close for English prose, low for CJK text and
// dense code, so leave the model headroom. Everything is linear in the text's length.
import { hardSplit, paragraphs, sentences, words, type Span } from './segments';
import type { Chunk, ChunkOptions, Source } from './types';

const DEFAULT_MAX_TOKENS = 800;
const CHARS_PER_TOKEN = 4;

/** Estimated model tokens for `text`: ceil(length / 4). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

const budgetOf = (opts: ChunkOptions | undefined): number => {
  const maxTokens = opts?.maxTokens ?? DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new RangeError(`chunk: maxTokens must be a positive integer, got ${maxTokens}`);
  }
  return maxTokens;
};

export function chunkSource(source: Pick<Source, 'path' | 'text'>, sourceIndex: number, opts?: ChunkOptions): Chunk[] {
  const maxChars = budgetOf(opts) * CHARS_PER_TOKEN;
  const headingMinChars = maxChars / 4;
  const { text } = source;
  const chunks: Chunk[] = [];
  let start = -1;
  let end = -1;

  const flush = (): void => {
    if (start < 0) return;
    const chunkText = text.slice(start, end);
    chunks.push({
      id: `${sourceIndex}:${chunks.length}`,
      source: source.path,
      start,
      end,
      text: chunkText,
      tokens: estimateTokens(chunkText),
    });
    start = -1;
  };
  let headingOnly = false; // the open chunk is nothing but a one-line heading
  const add = (unit: Span): void => {
    if (start >= 0 && (unit.end - start > maxChars || (unit.heading && end - start >= headingMinChars))) flush();
    headingOnly = start < 0 && unit.heading && !text.slice(unit.start, unit.end).includes('\n');
    if (start < 0) start = unit.start;
    end = unit.end;
  };
  const fits = (unit: Span): boolean => unit.end - unit.start <= maxChars;

  for (const paragraph of paragraphs(text)) {
    // A paragraph that fits alone but not after a lone heading is cut into sentences instead,
    // so the heading is not left as a chunk of its own.
    const orphansHeading = headingOnly && start >= 0 && paragraph.end - start > maxChars;
    if (fits(paragraph) && !orphansHeading) {
      add(paragraph);
      continue;
    }
    for (const sentence of sentences(text, paragraph)) {
      if (fits(sentence)) {
        add(sentence);
        continue;
      }
      for (const word of words(text, sentence)) {
        if (fits(word)) add(word);
        else hardSplit(text, word, maxChars).forEach(add);
      }
    }
  }
  flush();
  return chunks;
}

/** Chunks of every source; ids are `${index in sources}:${ordinal}`, unique across the corpus. */
export function chunkCorpus(sources: readonly Pick<Source, 'path' | 'text'>[], opts?: ChunkOptions): Chunk[] {
  budgetOf(opts);
  return sources.flatMap((source, i) => chunkSource(source, i, opts));
}
