// Conversation memory: facts the user stated in earlier turns ("my name is Ada", "I live in
// Lisbon", "my order number is A-1234") and questions that ask for them back ("what's my name?",
// "where do I live?"). Without a matching fact the most relevant earlier user sentence is quoted;
// with nothing at all the model says it was not told. The simulator keeps no state between
// requests: like the real API, it only knows what the request's `messages` carry.
import { queryOf, rankSentences } from './rank';
import { flat, splitSentences } from './sentences';
import { contentStems } from './text';

interface Fact {
  /** Stems of what the fact is about ("name", "order number", "live"). */
  about: Set<string>;
  /** How to say it back. */
  say: string;
}

const NAME = /\b(?:[Mm]y name is|[Mm]y name's|I am|I'm|[Cc]all me|[Tt]his is)\s+([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+){0,2})/g;
const MY = /\bmy ([a-z][a-z -]{1,30}?) (?:is|are|was|=|:)\s+([^.,;!?\n]{1,80})/gi;
const VERBS: [RegExp, string, string][] = [
  [/\b[Ii] (?:live|am based|am located|reside) in ([A-Z][^.,;!?\n]{1,60})/g, 'live', 'You live in $1.'],
  [/\b[Ii] work (?:at|for) ([A-Z][^.,;!?\n]{1,60})/g, 'work', 'You work at $1.'],
  [/\b[Ii](?:'m| am) from ([A-Z][^.,;!?\n]{1,60})/g, 'from', 'You are from $1.'],
  [/\bi (?:like|love|enjoy|prefer) ([^.,;!?\n]{1,60})/gi, 'like', 'You like $1.'],
  [/\bi have (?:a |an |\d+ )?([^.,;!?\n]{1,60})/gi, 'have', 'You have $1.'],
];

const NOT_NAMES = new Set(['sorry', 'not', 'here', 'happy', 'glad', 'sure', 'looking', 'trying', 'working', 'going', 'the', 'a']);

function factsOf(turns: string[]): Fact[] {
  const facts: Fact[] = [];
  for (const text of turns) {
    for (const m of text.matchAll(NAME)) {
      if (NOT_NAMES.has(m[1]!.split(/\s+/)[0]!.toLowerCase())) continue;
      facts.push({ about: new Set(['name', 'who', 'call']), say: `Your name is ${m[1]}.` });
    }
    for (const m of text.matchAll(MY)) {
      const what = m[1]!.trim();
      if (/^name$/i.test(what)) continue;
      const value = m[2]!.split(/\s+(?:and|but)\s+/)[0]!.trim();
      facts.push({
        about: new Set(contentStems(what)),
        say: `Your ${what} ${/s$/.test(what) && !/ss$/.test(what) ? 'are' : 'is'} ${value}.`,
      });
    }
    for (const [re, about, template] of VERBS)
      for (const m of text.matchAll(re)) facts.push({ about: new Set([about]), say: template.replace('$1', m[1]!.trim()) });
  }
  return facts;
}

/** What the question asks about, as stems ("what's my name" → name, "where do I live" → live). */
function askedAbout(question: string): Set<string> {
  const q = question.toLowerCase();
  const out = new Set(
    contentStems(q.replace(/\b(?:what|whats|what's|who|where|when|which|remember|remind|tell|do you|did i|again)\b/g, ' ')),
  );
  if (/\bwho am i\b|\bmy name\b|\bcall me\b/.test(q)) out.add('name');
  if (/\bwhere do i live\b|\bwhere am i based\b/.test(q)) out.add('live');
  if (/\bwhere do i work\b|\bwho do i work for\b/.test(q)) out.add('work');
  if (/\bwhere am i from\b/.test(q)) out.add('from');
  if (/\bwhat do i (?:like|love|enjoy|prefer)\b/.test(q)) out.add('like');
  return out;
}

/** The answer to a question about earlier turns, or undefined when the turns do not hold it. */
export function recall(question: string, history: { role: 'user' | 'assistant'; text: string }[]): string | undefined {
  const userTurns = history.filter((t) => t.role === 'user').map((t) => t.text);
  const asked = askedAbout(question);
  // The latest statement of a fact wins ("my name is Ada … actually, call me Augusta").
  const facts = factsOf(userTurns).reverse();
  const said = new Map<string, string>();
  for (const f of facts) {
    const key = [...f.about].sort().join(' ');
    if ([...f.about].some((s) => asked.has(s)) && !said.has(key)) said.set(key, f.say);
  }
  // Several things asked at once ("my name, and where do I live?") get several answers, latest facts first.
  if (said.size > 0) return [...said.values()].reverse().join(' ');
  const sentences = userTurns.flatMap((t, i) => splitSentences(t, i));
  const ranked = rankSentences(sentences, queryOf(question))
    .filter((r) => r.relevance > 0)
    .sort((a, b) => b.score - a.score);
  if (ranked[0]) return `Earlier you said: "${flat(ranked[0].sentence.text)}"`;
  return undefined;
}
