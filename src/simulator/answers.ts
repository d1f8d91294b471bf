// The prose the simulated model writes after tool calls — one line per result, each answering its
// part of the question from the shapes Braid's tools return (rows, a calculation, passages, a
// file) — and deterministic padding to a requested length (`#sim answer_tokens=`). All choices
// derive from the text itself, never from randomness, so the same request reads the same.
import { queryOf, rankSentences, selectSentences } from './rank';
import { flat, splitSentences } from './sentences';
import { contentStems, excerpt, isStopword, words } from './text';
import { splitClauses } from './tool-plan';

export interface ToolOutcome {
  name: string;
  input: Record<string, unknown>;
  text: string;
  isError: boolean;
}

/** Words of instructions rather than subject matter; never salient. */
const INSTRUCTION_WORDS = new Set(
  'sim json respond reply return output format object extract summarise summarize summary answer question explain describe write chunk chunks chunk_id cite citation citations following below above text key point points result results merge combine intermediate analyse analyses analysis task shaped like source sources covering characters matters keep'.split(
    ' ',
  ),
);

const FILE_LABEL = /\.(?:md|markdown|txt|html?|json|pdf)(?::\d+-\d+)?\W*$/i;

/** Up to `n` salient words: non-stopwords by frequency, ties by first appearance. */
export function salientWords(text: string, n = 6): string[] {
  const counts = new Map<string, { count: number; first: number }>();
  // Chunk ids and file labels (data/docs/x.md:0-400) name where text came from, not what it says.
  // Labels are dropped token by token with an end-anchored test: a pattern scanning for them across
  // the text backtracks quadratically on long runs of word characters (a 1 MB prompt hung it).
  const plain = text
    .replace(/\[chunk:[^\]]*\]|\bchunk_id"?\s*[:=]\s*"?[\w.:-]+/g, ' ')
    .split(/\s+/)
    .filter((token) => !FILE_LABEL.test(token))
    .join(' ');
  words(plain).forEach((w, i) => {
    if (w.length < 3 || isStopword(w) || /^\d+$/.test(w) || INSTRUCTION_WORDS.has(w) || fillerWords().has(w)) return;
    const c = counts.get(w);
    if (c) c.count += 1;
    else counts.set(w, { count: 1, first: i });
  });
  return [...counts.entries()]
    .sort((a, b) => b[1].count - a[1].count || a[1].first - b[1].first)
    .slice(0, n)
    .map(([w]) => w);
}

const FILLER = [
  (a: string, b: string) => `The details around ${a} matter most where they meet ${b}.`,
  (a: string, b: string) => `A careful reading of ${a} also sheds light on ${b}.`,
  (a: string, b: string) => `In practice, ${a} and ${b} are best considered together.`,
  (a: string, b: string) => `It is worth confirming how ${a} affects ${b} before acting.`,
  (a: string, b: string) => `Taken as a whole, ${a} points to a consistent picture of ${b}.`,
];

let fillerVocabulary: Set<string> | undefined;
/** The padding sentences' own words: never salient, or padded answers would echo them level after level. */
function fillerWords(): Set<string> {
  fillerVocabulary ??= new Set(FILLER.flatMap((f) => words(f('', ''))));
  return fillerVocabulary;
}

/** Extends (or cuts) `text` to about `tokens` tokens (chars / 4) with sentences about `topics`. */
export function padToTokens(text: string, tokens: number, topics: string[]): string {
  const target = Math.max(1, tokens) * 4;
  const vocab = topics.length > 0 ? topics : ['the question', 'the answer'];
  let out = text;
  for (let i = 0; out.length < target; i++) {
    const sentence = FILLER[i % FILLER.length]!(vocab[i % vocab.length]!, vocab[(i + 1) % vocab.length]!);
    out = out.length > 0 ? `${out} ${sentence}` : sentence;
  }
  if (out.length <= target) return out;
  // End on a full stop where the cut falls mid-sentence.
  const cut = out.slice(0, target - 1);
  const space = cut.lastIndexOf(' ');
  const trimmed = (space > target - 24 && space > 0 ? cut.slice(0, space) : cut).replace(/[\s,;:.]+$/, '');
  return `${trimmed}.`;
}

const number = (v: unknown): string =>
  typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 2 }) : String(v as string | number | boolean | null);

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The sentences of `texts` that best answer `clause`, quoted. */
function bestSentences(texts: string[], clause: string, max: number): string[] {
  const sentences = texts.flatMap((t, i) => splitSentences(t, i));
  const ranked = rankSentences(sentences, queryOf(clause));
  // Sentences that share nothing with the clause are quoted only when nothing else is there.
  let picked = selectSentences(ranked, { maxSentences: max, maxChars: 420, minRelevance: 0.5 });
  if (picked.length === 0) picked = selectSentences(ranked, { maxSentences: 1, maxChars: 420 });
  return picked.map((r) => flat(r.sentence.text).replace(/\*\*|`/g, ''));
}

/** What one tool result says about its clause, read from the shapes Braid's tools return. */
function readResult(o: ToolOutcome, clause: string): string {
  const value = parse(o.text);
  if (typeof value !== 'object' || value === null) return excerpt(o.text, 200) || '(empty result)';
  const v = value as Record<string, unknown>;
  if (Array.isArray(v.columns) && Array.isArray(v.rows)) {
    const rows = v.rows as unknown[][];
    if (rows.length === 0) return 'no matching rows';
    if (rows.length === 1 && rows[0]!.length === 1) return `${number(rows[0]![0])} (${String(v.columns[0])})`;
    if (v.columns.length === 2)
      return rows
        .slice(0, 12)
        .map((r) => `${String(r[0])}: ${number(r[1])}`)
        .join('; ');
    return rows
      .slice(0, 5)
      .map((r) => (v.columns as string[]).map((c, i) => `${c} ${number(r[i])}`).join(', '))
      .join('; ');
  }
  if (v.result !== undefined && typeof v.expression === 'string') return `${v.expression} = ${number(v.result)}`;
  if (Array.isArray(v.results)) {
    const hits = v.results as Record<string, unknown>[];
    if (hits.length === 0) return 'nothing found';
    const texts = hits.map((h) => String(h.snippet ?? h.text ?? h.content ?? '').replace(/^…|…$/g, ''));
    const quotes = bestSentences(texts, clause, 2);
    const where = [...new Set(hits.slice(0, 2).map((h) => [h.doc, h.section].filter(Boolean).join(', ')))].filter(Boolean);
    return `${quotes.map((q) => `"${q}"`).join(' ') || excerpt(texts[0]!, 200)}${where.length > 0 ? ` (${where.join('; ')})` : ''}`;
  }
  if (typeof v.content === 'string') {
    // "What is in x.md" asks for what the file says overall: its title and its most central sentences.
    if (/\bwhat(?:'s| is) in\b|\bsummari[sz]e\b|\bcontents?\b|\bread\b|\bopen\b/i.test(clause)) {
      const sentences = splitSentences(v.content);
      const title = sentences.find((x) => x.kind === 'heading');
      const central = selectSentences(rankSentences(sentences), { maxSentences: 2, maxChars: 360, readingOrder: true });
      const body = central.map((r) => flat(r.sentence.text).replace(/\*\*|`/g, '')).join(' ');
      return title ? `"${flat(title.text)}": ${body}` : body || excerpt(v.content, 200);
    }
    const quotes = bestSentences([v.content], clause, 2);
    return quotes.length > 0 ? quotes.join(' ') : excerpt(v.content, 200);
  }
  return excerpt(o.text, 200);
}

/** The clause of the question a call answered: the one sharing most words with the call's input. */
function clauseFor(o: ToolOutcome, clauses: string[]): string {
  const input = new Set(contentStems(Object.values(o.input).map(String).join(' ')));
  let best = { clause: clauses[0] ?? '', score: -1 };
  for (const c of clauses) {
    const score = contentStems(c).filter((w) => input.has(w)).length;
    if (score > best.score) best = { clause: c, score };
  }
  return best.clause;
}

/** The final answer after tool calls: one line per result, in order, each answering its part of the question. */
export function synthesize(question: string, outcomes: ToolOutcome[]): string {
  const failed = outcomes.filter((o) => o.isError).length;
  const clauses = splitClauses(question);
  const head =
    failed === 0
      ? 'Here is what I found:'
      : `Here is what I found (${failed} of ${outcomes.length} lookup${outcomes.length === 1 ? '' : 's'} failed):`;
  const lines = [head];
  for (const o of outcomes) {
    const clause = clauseFor(o, clauses);
    const part = clause
      ? excerpt(
          clause.replace(/^[a-z]/, (c) => c.toUpperCase()),
          90,
        )
      : o.name;
    const detail = o.isError ? `could not get it — ${excerpt(o.text, 160) || 'the tool failed'}` : readResult(o, clause);
    lines.push(`- ${part} (${o.name}): ${detail}`);
  }
  return lines.join('\n');
}
