// Salience and relevance for an extractive model. TextRank (Mihalcea & Tarau, 2004) ranks
// sentences by how much of the rest of the text they share words with: sentences are nodes, edges
// weigh the overlap of their content-word stems normalised by the sentences' lengths, and a
// PageRank walk finds the central ones. With a query the walk is personalised: it restarts at the
// sentences that match the query, so salience is measured around what was asked. Relevance itself
// is a weighted term overlap with the query (focus terms weigh more than the rest of the question).
import { flat, type Sentence } from './sentences';
import { contentStems } from './text';

/** Query terms by stem, with weights: 1 for what the question is about, less for the rest. */
export type Query = Map<string, number>;

export interface Ranked {
  sentence: Sentence;
  /** Position among the input sentences. */
  index: number;
  /** Weighted query terms the sentence contains (0 without a query): what "bears on the task" means. */
  relevance: number;
  /** Final score used for selection. */
  score: number;
}

const MAX_GRAPH = 400;
const RELATED_WEIGHT = 0.45;
/** Document bookkeeping ("Owner: …", "Last reviewed: …"): never quoted. */
const METADATA =
  /^(?:owner|owners|last (?:reviewed|updated|modified)|reviewed|updated|status|author|authors|version|approved by|maintainer|audience|effective)\b[^:\n]{0,20}:/i;

/**
 * Everyday groups of related words: a question about "shipping" is also about carriers, parcels
 * and tracking. Query expansion with these is how the simulator stands in for the semantics a
 * neural model has; related words weigh less than the question's own.
 */
const RELATED = [
  'return returns refund refunds exchange exchanges',
  'shipping ship delivery deliver parcel parcels package carrier carriers courier tracking dispatch warehouse',
  'support help helpdesk agent agents ticket tickets contact escalate escalation',
  'price prices pricing cost costs fee fees charge charges payment pay discount',
  'damage damaged faulty broken defect defects',
  'security password passwords access login phishing',
  'privacy data retention delete deletion personal',
  'employee employees staff hire hires onboarding',
  'remote office hybrid home',
  'sale sales revenue order orders',
  'weather temperature forecast rain',
].map((g) => new Set(contentStems(g)));

function stemSet(s: Sentence): Set<string> {
  return new Set(contentStems(s.text).filter((w) => w.length > 2 && !/^\d+$/.test(w)));
}

/** How much of `query` a sentence (and a little of its heading) covers. */
export function relevanceOf(s: Sentence, query: Query, stems = stemSet(s)): number {
  if (query.size === 0) return 0;
  const around = [s.heading, s.context].filter(Boolean).join(' ');
  const headingStems = around ? new Set(contentStems(around)) : undefined;
  let direct = 0;
  let related = 0;
  for (const [term, weight] of query) {
    const w = stems.has(term) ? weight : headingStems?.has(term) ? weight * 0.4 : 0;
    if (weight >= RELATED_WEIGHT + 0.01 || !stems.has(term)) direct += w;
    else related += w;
  }
  // Related words add up slowly, and long sentences do not win by sheer length.
  const score = direct + Math.min(related, RELATED_WEIGHT * 1.5);
  const words = s.text.split(/\s+/).length;
  return score / (1 + Math.max(0, words - 25) / 50);
}

function pageRank(sets: Set<string>[], restart: number[]): number[] {
  const postings = new Map<string, number[]>();
  sets.forEach((set, i) => {
    for (const t of set) postings.set(t, [...(postings.get(t) ?? []), i]);
  });
  // Edge weights from shared stems, accumulated through the postings so disjoint pairs cost nothing.
  const edges: Map<number, number>[] = sets.map(() => new Map());
  for (const ids of postings.values()) {
    if (ids.length > 60) continue; // a term in most sentences says nothing about centrality
    for (let a = 0; a < ids.length; a++)
      for (let b = a + 1; b < ids.length; b++) {
        const i = ids[a]!;
        const j = ids[b]!;
        edges[i]!.set(j, (edges[i]!.get(j) ?? 0) + 1);
        edges[j]!.set(i, (edges[j]!.get(i) ?? 0) + 1);
      }
  }
  const norm = sets.map((s) => Math.log(s.size + 1));
  const weights = edges.map((m, i) => new Map([...m].map(([j, shared]) => [j, shared / (norm[i]! + norm[j]! || 1)])));
  const out = weights.map((m) => [...m.values()].reduce((a, b) => a + b, 0));
  const total = restart.reduce((a, b) => a + b, 0) || 1;
  const teleport = restart.map((r) => r / total);
  let score = teleport.slice();
  for (let iter = 0; iter < 30; iter++) {
    const next = teleport.map((t) => 0.15 * t);
    weights.forEach((m, i) => {
      if (out[i] === 0) {
        // A sentence sharing nothing hands its rank back to the restart distribution.
        teleport.forEach((t, j) => (next[j]! += 0.85 * score[i]! * t));
        return;
      }
      for (const [j, w] of m) next[j]! += (0.85 * score[i]! * w) / out[i]!;
    });
    score = next;
  }
  return score;
}

/**
 * Scores every quotable sentence (headings are context, never quoted). Without a query the score is
 * TextRank centrality; with one it is mostly relevance, with centrality breaking ties and lifting
 * the sentences that explain the relevant ones.
 */
export function rankSentences(sentences: Sentence[], query: Query = new Map(), boost?: (s: Sentence) => number): Ranked[] {
  const quotable = sentences
    .map((s, index) => ({ s, index }))
    .filter(({ s }) => s.kind !== 'heading' && flat(s.text).length >= 12 && !METADATA.test(s.text) && !/:\s*$/.test(s.text));
  const sets = quotable.map(({ s }) => stemSet(s));
  const relevance = quotable.map(({ s }, i) => relevanceOf(s, query, sets[i]) + (boost && query.size > 0 ? boost(s) : 0));
  // Large inputs: keep the graph to the most relevant (then earliest) sentences.
  let keep = quotable.map((_, i) => i);
  if (keep.length > MAX_GRAPH)
    keep = keep
      .sort((a, b) => relevance[b]! - relevance[a]! || a - b)
      .slice(0, MAX_GRAPH)
      .sort((a, b) => a - b);
  const restart = keep.map((i) => (query.size > 0 ? relevance[i]! + 0.05 : 1));
  const pr = pageRank(
    keep.map((i) => sets[i]!),
    restart,
  );
  const maxPr = Math.max(...pr, Number.MIN_VALUE);
  const maxRel = Math.max(...relevance, 0);
  return keep.map((i, k) => {
    const centrality = pr[k]! / maxPr;
    const rel = maxRel > 0 ? relevance[i]! / maxRel : 0;
    // Without a query, a mild lead bias: documents tend to say what matters first.
    const lead = 1.2 - (0.4 * k) / Math.max(1, keep.length - 1);
    const score = query.size > 0 && maxRel > 0 ? 0.75 * rel + 0.25 * centrality : centrality * lead;
    return { sentence: quotable[i]!.s, index: quotable[i]!.index, relevance: relevance[i]!, score };
  });
}

const jaccard = (a: Set<string>, b: Set<string>): number => {
  let shared = 0;
  for (const x of a) if (b.has(x)) shared += 1;
  return shared / (a.size + b.size - shared || 1);
};

export interface SelectOptions {
  maxSentences: number;
  /** Character budget for the selected sentences together (whitespace collapsed). */
  maxChars: number;
  /** Only sentences at least this relevant (with a query). */
  minRelevance?: number;
  /** Return in reading order (summaries) rather than by score (answers). */
  readingOrder?: boolean;
  /** Stems to cover first: the best sentence for each, in order, before the rest by score. */
  cover?: string[];
  /** Take the best sentence of each source first (merging several results). */
  eachSource?: boolean;
}

/** The best sentences within the budget, skipping near-duplicates of ones already chosen. */
export function selectSentences(ranked: Ranked[], opts: SelectOptions): Ranked[] {
  const chosen: { r: Ranked; set: Set<string> }[] = [];
  let used = 0;
  const byScore = [...ranked].sort((a, b) => b.score - a.score || a.index - b.index);
  const sets = new Map(byScore.map((r) => [r, stemSet(r.sentence)]));
  const take = (r: Ranked): boolean => {
    if (chosen.length >= opts.maxSentences || chosen.some((c) => c.r === r)) return false;
    if (opts.minRelevance !== undefined && r.relevance < opts.minRelevance) return false;
    const length = flat(r.sentence.text).length + 1;
    if (used + length > opts.maxChars && chosen.length > 0) return false;
    const set = sets.get(r)!;
    if (chosen.some((c) => jaccard(c.set, set) > 0.6)) return false;
    chosen.push({ r, set });
    used += length;
    return true;
  };
  for (const term of opts.cover ?? []) {
    if (chosen.some((c) => c.set.has(term))) continue;
    for (const r of byScore) if (sets.get(r)!.has(term) && take(r)) break;
  }
  if (opts.eachSource) {
    const seen = new Set(chosen.map((c) => c.r.sentence.source));
    // Only a source's clearly relevant best sentence earns it a place.
    const floor = (opts.minRelevance ?? 0) * 2;
    for (const r of byScore) if (!seen.has(r.sentence.source) && r.relevance >= floor && take(r)) seen.add(r.sentence.source);
  }
  for (const r of byScore) {
    if (chosen.length >= opts.maxSentences) break;
    take(r);
  }
  const picked = chosen.map((c) => c.r);
  return opts.readingOrder ? picked.sort((a, b) => a.sentence.source - b.sentence.source || a.index - b.index) : picked;
}

/** Words that say what to do rather than what about; never query terms. */
const TASK_WORDS = new Set(
  contentStems(
    'summarise summarize summary summaries cite citing citation sources source handbook document documents text texts passage passages ' +
      'context answer answers question questions task explain describe know must need needs tell give list key point points main ' +
      'information info brief briefly short write article provided following above below chunk chunks json respond reply return ' +
      'based using include including mention mentions relevant important detail details overview say says said should would ' +
      'customer customers user users thing things way ways',
  ),
);

/** Secondary words that, without a focus phrase, still count fully (the subject of "what must a customer know"). */
const WEAK = new Set(contentStems('customer customers user users people person company team thing things'));

/**
 * Query terms of a question or task. Words of an "about …" phrase are the focus (weight 1);
 * the question's other content words weigh 0.5 when such a phrase exists, 1 otherwise.
 */
export function queryOf(question: string): Query {
  const q: Query = new Map();
  const focus = /\b(?:about|regarding|concerning|on the (?:subject|topic) of|related to)\s+([^?.!\n]+)/i.exec(question)?.[1];
  const focusStems = new Set(focus ? contentStems(focus) : []);
  for (const s of contentStems(question)) {
    if (s.length < 3 || /^\d+$/.test(s)) continue;
    const generic = TASK_WORDS.has(s);
    if (generic && !focusStems.has(s)) {
      if (WEAK.has(s)) q.set(s, Math.max(q.get(s) ?? 0, 0.3));
      continue;
    }
    const w = focusStems.size === 0 || focusStems.has(s) ? 1 : 0.5;
    q.set(s, Math.max(q.get(s) ?? 0, w));
  }
  for (const [term, weight] of [...q]) {
    if (weight < 1) continue;
    for (const group of RELATED) if (group.has(term)) for (const r of group) if (!q.has(r)) q.set(r, RELATED_WEIGHT);
  }
  return q;
}

const SHAPES: [RegExp, RegExp][] = [
  [
    /\bhow (?:much|expensive)\b|\bcosts?\b|\bprices?\b|\bbudget\b|\bfees?\b/i,
    /(?:USD|EUR|GBP|\$|€|£)\s?\d|\d\s?(?:dollars|euros|pounds|million|billion|%)|\b(?:budget|cost|price|fee)s?\b/i,
  ],
  [
    /\bhow (?:long|soon|fast|quickly)\b|\bwithin how\b/i,
    /\b\d+(?:\s?[–-]\s?\d+)?\s*(?:business |working |calendar )?(?:days?|weeks?|months?|years?|hours?|minutes?)\b/i,
  ],
  [/\bhow many\b|\bnumber of\b/i, /\b\d[\d,]*\b/],
  [
    /\bwhen\b/i,
    /\b(?:1[89]\d\d|20\d\d|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|july|august|september|october|november|december|spring|summer|autumn|winter|tomorrow|today|yesterday)\b/i,
  ],
  [/\bwhere\b/i, /\b(?:in|at|near|from)\s+(?:the\s+)?[A-Z]/],
  [/\bwho\b/i, /\b[A-Z][a-z]+\s+[A-Z][a-z]+\b|\b(?:team|department|manager|agent|lead)\b/],
];

/** Credit for sentences shaped like the answer a question wants (an amount for "how much", a duration for "how long"). */
export function answerShape(question: string): ((s: Sentence) => number) | undefined {
  const shapes = SHAPES.filter(([asks]) => asks.test(question)).map(([, looks]) => looks);
  if (shapes.length === 0) return undefined;
  return (s) => (shapes.some((re) => re.test(s.text)) ? 0.9 : 0);
}
