// Open-ended writing, where there is nothing to extract from or little: research notes for a
// topic (an outline of what to find out — the simulated model knows no facts), an article written
// from notes, an edit of a draft, a structured report from supplied material, and the honest
// answer to a question it has no material for. Choices of wording come from hashes of the input,
// never from randomness, so the same request reads the same.
import { queryOf, rankSentences, selectSentences } from './rank';
import { flat, splitSentences, type Sentence } from './sentences';
import type { Source } from './prompt';
import { contentStems, hashHex } from './text';

const pickIndex = (n: number, ...parts: string[]): number => parseInt(hashHex(...parts).slice(0, 8), 16) % n;

/** A topic as a phrase to use mid-sentence. */
export function topicPhrase(text: string): string {
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0 && !/^#sim\b/.test(l));
  const t = (line ?? 'the topic').replace(/[.?!:]+$/, '');
  return /^[A-Z][a-z]/.test(t) && !/^[A-Z]{2}/.test(t) ? t[0]!.toLowerCase() + t.slice(1) : t;
}

const capital = (s: string): string => (s ? s[0]!.toUpperCase() + s.slice(1) : s);

const RESEARCH = [
  (t: string) => `Scope: define ${t} precisely and say where it applies today, and where it does not.`,
  (t: string) => `Key figures to verify: current costs, adoption and growth of ${t}, each with a dated source.`,
  (t: string) => `Benefits: what ${t} does better than the alternatives, and for whom.`,
  (t: string) => `Drawbacks and risks: the costs, failure modes and trade-offs of ${t}.`,
  (t: string) => `Who is involved: the organisations, suppliers and public bodies that shape ${t}.`,
  (t: string) => `Examples to cite: one case where ${t} worked well and one where it did not.`,
  (t: string) => `Context: how ${t} developed, and what is driving interest in it now.`,
  (t: string) => `Open questions: what is still uncertain or disputed about ${t}, and what would settle it.`,
];

/** Research notes: an outline of what a writer needs to find out, as bullets. */
export function researchNotes(topic: string, quality: number): string {
  const t = topicPhrase(topic);
  // Scope first and open questions last; which of the middle ones a weaker model leaves out depends on the topic.
  const keep = Math.min(RESEARCH.length, 5 + Math.round(quality * 3));
  const middle = RESEARCH.slice(1, -1)
    .map((f, i) => ({ f, i, h: pickIndex(1000, topic, 'research', String(i)) }))
    .sort((a, b) => a.h - b.h)
    .slice(0, keep - 2)
    .sort((a, b) => a.i - b.i)
    .map((x) => x.f);
  const lines = [RESEARCH[0]!, ...middle, RESEARCH.at(-1)!].map((f) => f(t));
  return [`Research notes on ${t}:`, ...lines.map((l) => `- ${l}`)].join('\n');
}

/** A note line as a sentence: marker and "Label:" prefix dropped, capitalised, full stop. */
function asSentence(line: string): string {
  const body = line
    .replace(/^[\s\-*•\d.)]+/, '')
    .replace(/^[A-Z][\w ]{0,30}:\s+/, '')
    .trim();
  const s = capital(body);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** An article built from notes: an opening, the notes as prose in three paragraphs, a close. */
export function articleFrom(topic: string, notes: string): string {
  const t = topicPhrase(topic);
  const lines = notes
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 12 && !/:$/.test(l));
  const sentences = lines.length > 0 ? lines.map(asSentence) : splitSentences(notes).map((s) => flat(s.text));
  const third = Math.ceil(sentences.length / 3);
  const openings = [
    `${capital(t)} comes up more and more, and it is worth looking at closely.`,
    `What does ${t} really involve, and why does it matter now?`,
    `${capital(t)} is easy to talk about and harder to get right.`,
  ];
  const closings = [
    `Taken together, these points give a fair picture of ${t} and of what to check before acting on it.`,
    `None of this settles every question about ${t}, but it shows where the real decisions lie.`,
  ];
  const paragraphs = [0, 1, 2].map((i) => sentences.slice(i * third, (i + 1) * third).join(' ')).filter(Boolean);
  return [
    `${openings[pickIndex(openings.length, topic, 'open')]!} ${paragraphs[0] ?? ''}`.trim(),
    ...paragraphs.slice(1),
    closings[pickIndex(closings.length, topic, 'close')]!,
  ].join('\n\n');
}

/** An edited draft: whitespace tidied, repeated and near-repeated sentences dropped, paragraphs kept. */
export function editDraft(draft: string): string {
  const seen: Set<string>[] = [];
  const paragraphs: string[] = [];
  for (const block of draft.split(/\n\s*\n/)) {
    const kept: string[] = [];
    for (const s of splitSentences(block)) {
      if (s.kind === 'heading') {
        kept.push(`## ${flat(s.text)}`);
        continue;
      }
      const stems = new Set(contentStems(s.text));
      if (seen.some((o) => [...stems].filter((x) => o.has(x)).length / (stems.size || 1) > 0.8)) continue;
      seen.push(stems);
      kept.push(s.kind === 'item' ? `- ${flat(s.text)}` : flat(s.text));
    }
    const joined = kept.some((k) => k.startsWith('- ') || k.startsWith('## ')) ? kept.join('\n') : kept.join(' ');
    if (joined) paragraphs.push(joined);
  }
  return paragraphs.join('\n\n');
}

/**
 * A report over material: an overview of its most central sentences, then one section per heading
 * or titled source with that part's most central sentences.
 */
export function reportFrom(sources: Source[], quality: number): string {
  const sentences: Sentence[] = sources.flatMap((s) => splitSentences(s.text, s.index));
  const per = 1 + Math.round(quality * 2);
  const overview = selectSentences(rankSentences(sentences), {
    maxSentences: 2 + Math.round(quality * 2),
    maxChars: 900,
    readingOrder: true,
  });
  const groups = new Map<string, Sentence[]>();
  for (const s of sentences) {
    const title = s.heading ?? sources.find((src) => src.index === s.source)?.title;
    if (!title || s.kind === 'heading') continue;
    groups.set(title, [...(groups.get(title) ?? []), s]);
  }
  const parts = [`## Overview\n\n${overview.map((r) => flat(r.sentence.text)).join(' ')}`];
  for (const [title, group] of groups) {
    const picked = selectSentences(rankSentences(group), { maxSentences: per, maxChars: 600, readingOrder: true });
    if (picked.length > 0) parts.push(`## ${title}\n\n${picked.map((r) => flat(r.sentence.text)).join(' ')}`);
  }
  return parts.join('\n\n');
}

/** What the model says to a question it has no material for: it is simulated and says so. */
export function noMaterialAnswer(question: string): string {
  const terms = [...queryOf(question).keys()];
  if (terms.length === 0 || /^\s*(?:hi|hello|hey|good (?:morning|afternoon|evening))\b/i.test(question))
    return "Hello! I'm Braid's simulated model. I answer from what a request gives me — text, documents, tool results and earlier turns — so send me something to work on.";
  const about = topicPhrase(
    question.replace(/^(?:please\s+)?(?:explain|describe|tell me about|what is|what are|how do(?:es)?|why do(?:es)?)\s+/i, ''),
  );
  return (
    `I'm Braid's simulated model, so I have no knowledge of my own: I answer from the text, documents, tool results and earlier turns a request gives me, ` +
    `and this one gives me nothing to go on about ${about}. Send the relevant material, or let me use a tool, and I will answer from it.`
  );
}
