/**
 * What `braid search` asks of the model: to split a query into search queries (`--decompose`),
 * and to answer from the fused top hits (`--answer`). The hits go in as plain-text documents with
 * citations enabled, titled with their number in the fused list, so the reply's statements come
 * back with character ranges of the hits they rest on; the answer activity checks those ranges
 * (src/activities/search.ts) and keeps only statements that cite a hit.
 */
import type { ChatMessage, ContentBlock, DocumentBlock } from '../shared/types';

export function plannerSystem(maxQueries: number): string {
  return (
    `Split the question into independent search queries, at most ${maxQueries}: one query per line, no other text. ` +
    'A question with one part is one query.'
  );
}

export function plannerMessages(query: string): ChatMessage[] {
  return [{ role: 'user', content: `Question: ${query}` }];
}

/** The sub-queries of a planner's reply: one per line, list marks and quotes stripped, blanks and repeats dropped. */
export function readQueries(reply: string, max: number): string[] {
  const queries = reply
    .split('\n')
    .map((l) =>
      l
        .replace(/^\s*(?:[-*•]|\d{1,2}[.)])\s*/, '')
        .replace(/^["'“]|["'”]$/g, '')
        .trim(),
    )
    .filter((l) => l.length > 0 && l.length <= 300);
  return [...new Set(queries)].slice(0, max);
}

export const ANSWER_SYSTEM =
  'You answer a question from search results. Use only the results, and cite the results each statement rests on.';

/** A search result as a cited document. */
export interface ResultDocument {
  /** Its rank in the fused list. */
  rank: number;
  title: string;
  text: string;
}

const document = (r: ResultDocument): DocumentBlock => ({
  type: 'document',
  source: { type: 'text', media_type: 'text/plain', data: r.text },
  title: `[${r.rank}] ${r.title}`.slice(0, 200),
  citations: { enabled: true },
});

export function answerMessages(question: string, results: ResultDocument[]): ChatMessage[] {
  const content: (ContentBlock | DocumentBlock)[] = [
    ...results.map(document),
    {
      type: 'text',
      text: `Question: ${question}\n\nAnswer the question from the search results above, citing the text each statement is based on. If none of them answers it, say so.`,
    },
  ];
  return [{ role: 'user', content }];
}
