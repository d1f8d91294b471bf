/**
 * What `braid ensemble` asks of its members and its judge, and how the judge's reply is read back.
 * Pure text, no Node APIs: the ensemble workflow builds its requests from these.
 *
 * The judge is kept cheap: it sees the candidates and what they answer — the item for a label, the
 * question for a free-form answer — never the context the members read, and it is asked to pick,
 * not to write: its reply is a verdict letter and one reason.
 */
import type { ChatMessage } from '../shared/types';

/** A classifier member's system prompt: the labels first, on a line of their own. */
export function classifySystem(labels: readonly string[], own?: string): string {
  return [
    `Labels: ${labels.join(', ')}`,
    'You classify the message you are given. Answer with the one label that fits it best, exactly as written, and nothing else.',
    ...(own ? [own] : []),
  ].join('\n');
}

export function classifyMessages(text: string): ChatMessage[] {
  return [{ role: 'user', content: `Message:\n${text}\n\nClassify the message.` }];
}

/** A free-form member's request: the context (if any) before the question. */
export function answerMessages(prompt: string, context?: string): ChatMessage[] {
  return [{ role: 'user', content: context ? `Context:\n${context}\n\nQuestion: ${prompt}` : prompt }];
}

export const JUDGE_SYSTEM =
  'You are a judge. You are shown candidate answers and pick the best one; you never write a new answer. ' +
  'Reply with "Verdict: <letter>" on the first line, then one short reason.';

/** Candidate letters: A, B, … (an ensemble has at most a handful of distinct answers). */
export const letter = (i: number): string => String.fromCharCode(65 + i);

/** The judge's request: the item or question, then the candidates as Answer A, Answer B, … */
export function judgeMessages(kind: 'label' | 'answer', subject: string, candidates: readonly string[]): ChatMessage[] {
  const head = kind === 'label' ? `Message:\n${subject}` : `Question: ${subject}`;
  const answers = candidates.map((c, i) => `Answer ${letter(i)}: ${c.replace(/\s*\n\s*/g, ' ').trim()}`).join('\n\n');
  const ask = kind === 'label' ? 'Which answer labels the message correctly?' : 'Which answer is better?';
  return [{ role: 'user', content: `${head}\n\n${answers}\n\n${ask}` }];
}

/** The candidate a judge's reply picks ("Verdict: B", any case, bold allowed), and its reason; undefined when it names none. */
export function readVerdict(reply: string, candidates: number): { index: number; reason: string } | undefined {
  const m = /verdict\s*:?\s*\**\s*(?:answer\s+)?([A-Z])\b/i.exec(reply);
  if (!m) return undefined;
  const index = m[1]!.toUpperCase().charCodeAt(0) - 65;
  if (index < 0 || index >= candidates) return undefined;
  const reason = reply
    .slice(m.index + m[0].length)
    .replace(/^[\s*.:-]+/, '')
    .trim();
  return { index, reason };
}
