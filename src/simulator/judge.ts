// A judge: given a question and candidates (A, B, …), name the better one and say why, with reasons
// drawn from the candidates themselves — which of the question's terms each covers, the specifics
// (numbers, names, dates) one gives and another lacks, agreement with a reference or context when
// one is supplied, and hedging. The verdict goes through the same error model as classification; on
// a registered item whose label is among the candidates (an ensemble's judge), the right verdict is
// that candidate.
import { decide, type DecideInput, type Decision } from './classify';
import { findEntities } from './entities';
import type { Candidate } from './prompt';
import { queryOf } from './rank';
import { flat, splitSentences } from './sentences';
import { contentStems, excerpt } from './text';

interface Assessment {
  c: Candidate;
  covered: string[];
  missing: string[];
  specifics: string[];
  support: number;
  hedges: number;
  score: number;
}

const HEDGE = /\b(?:maybe|perhaps|i think|not sure|might|possibly|probably|i guess|unclear|it depends)\b/gi;

/** The words of the question as the reader wrote them, for quoting (stem → first surface form). */
function surface(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const w of text.match(/[A-Za-z][\w-]*/g) ?? []) {
    const s = contentStems(w)[0];
    if (s && !out.has(s)) out.set(s, w.toLowerCase());
  }
  return out;
}

function assess(c: Candidate, question: string, reference: string): Assessment {
  const q = queryOf(question);
  const stems = new Set(contentStems(c.text));
  const covered = [...q.keys()].filter((t) => stems.has(t));
  const missing = [...q.keys()].filter((t) => !stems.has(t));
  const specifics = [
    ...new Set(
      findEntities(c.text)
        .filter((e) => e.type !== 'ticker')
        .map((e) => e.text.trim()),
    ),
  ].slice(0, 6);
  const refStems = new Set(contentStems(reference));
  const own = [...stems];
  const support = refStems.size > 0 && own.length > 0 ? own.filter((s) => refStems.has(s)).length / own.length : 0;
  const hedges = (c.text.match(HEDGE) ?? []).length;
  const words = c.text.split(/\s+/).filter(Boolean).length;
  const score = covered.length * 2 + Math.min(specifics.length, 4) + support * 6 - hedges * 1.5 - (words < 4 ? 3 : 0);
  return { c, covered, missing, specifics, support, hedges, score };
}

export interface Verdict extends Decision {
  reasons: string[];
}

/** The verdict and its reasons; `quality` (0..1) decides how many reasons are given. */
export function judge(candidates: Candidate[], question: string, reference: string, quality: number, d: DecideInput): Verdict {
  const assessed = candidates.map((c) => assess(c, question, reference));
  const best = [...assessed].sort((a, b) => b.score - a.score || candidates.indexOf(a.c) - candidates.indexOf(b.c))[0]!;
  const registered = d.mind.lookup(d.prompt);
  // Judging candidate labels of a registered item (an ensemble's judge): the right candidate is the
  // one that says the item's label.
  const label = registered?.item.label.trim().toLowerCase();
  const gold = label === undefined ? undefined : candidates.find((c) => c.text.trim().toLowerCase() === label)?.name;
  const decision = decide(
    candidates.map((c) => c.name),
    best.c.name,
    { ...d, item: candidates.map((c) => c.text).join('\n'), kind: 'verdict' },
    registered,
    gold,
  );
  const winner = assessed.find((a) => a.c.name === decision.label)!;
  const others = assessed.filter((a) => a !== winner);
  const words = surface(question);
  const say = (stems: string[]): string => stems.map((s) => `"${words.get(s) ?? s}"`).join(', ');
  const reasons: string[] = [];
  for (const o of others) {
    const gained = winner.covered.filter((t) => !o.covered.includes(t));
    if (gained.length > 0) reasons.push(`${winner.c.name} addresses ${say(gained)} from the question, which ${o.c.name} does not.`);
    const extra = winner.specifics.filter((s) => !o.c.text.includes(s));
    if (extra.length > 0)
      reasons.push(
        `${winner.c.name} is specific where ${o.c.name} is not: it gives ${extra
          .slice(0, 3)
          .map((s) => `"${s}"`)
          .join(', ')}.`,
      );
    if (reference && winner.support > o.support + 0.05)
      reasons.push(
        `${winner.c.name} agrees better with the reference (${Math.round(winner.support * 100)}% of its terms against ${Math.round(o.support * 100)}%).`,
      );
    if (o.hedges > winner.hedges)
      reasons.push(`${o.c.name} hedges ("${excerpt(flat((o.c.text.match(HEDGE) ?? ['maybe'])[0]!), 40)}") instead of answering.`);
  }
  if (reasons.length === 0 && others[0])
    reasons.push(`${winner.c.name} covers the question at least as fully as ${others[0].c.name}, and reads more clearly.`);
  // The winner's own words always close the reasons; how many reasons precede them is the model's quality.
  const lead = splitSentences(winner.c.text).find((s) => s.kind !== 'heading');
  const kept = reasons.slice(0, Math.round(quality * 3));
  if (lead) kept.push(`${winner.c.name} states it directly: "${excerpt(flat(lead.text), 140)}"`);
  return { ...decision, reasons: kept.length > 0 ? kept : reasons.slice(0, 1) };
}
