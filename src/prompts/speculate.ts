/**
 * What `braid ask --speculate` asks of the model besides the agent's own prompts: the fast
 * strategy's system prompt (one turn, no tools, a short answer), and the judge validator's request.
 *
 * The judge approves or rejects one candidate by choosing between it and a refusal to answer: a
 * choice between two answers is what a cheap model judges reliably, and the refusal is what the
 * person would get if every strategy failed. It sees the question and the candidate, not the
 * context the strategy read, and never writes an answer of its own.
 */
import type { ChatMessage } from '../shared/types';
import { judgeMessages, readVerdict } from './ensemble';
export const FAST_SYSTEM =
  'Answer the question directly and briefly from what you know, in a few sentences. If you cannot answer it without looking something up, say so in one sentence.';

/** The retrieval strategy's system prompt: answer from the hits, briefly. */
export const RETRIEVAL_SYSTEM =
  'Answer the question briefly from the search results you are given, in a few sentences. If they do not answer it, say so in one sentence.';

/** The retrieval strategy's request: the top hits as numbered results (`Result 1 (title):`), then the question. */
export function retrievalRequest(question: string, hits: readonly { title: string; snippet: string }[]): ChatMessage[] {
  const results = hits.map((h, i) => `Result ${i + 1} (${h.title.replace(/[()\n]/g, ' ').trim()}):\n${h.snippet}`).join('\n\n');
  return [{ role: 'user', content: `${results || 'The search found nothing.'}\n\nQuestion: ${question}` }];
}

export const JUDGE_SYSTEM =
  'You check an answer before it is shown to the person who asked. You are shown the question and two candidates: ' +
  'one declines to answer, the other is the answer to check. Pick the answer to check only when it answers the question directly and plausibly; ' +
  'pick the one that declines when it is wrong, evasive, off the subject or empty. You never write a new answer. ' +
  'Reply with "Verdict: <letter>" on the first line, then one short reason.';

/** The refusal the candidate is weighed against (Answer A: a tie keeps it, so a candidate must do better). */
export const DECLINE = 'I cannot answer this question.';

/** The judge's reply is a letter and a reason. */
export const JUDGE_MAX_TOKENS = 200;

/** The judge's request: the question, the refusal as Answer A, the candidate as Answer B. */
export function judgeRequest(question: string, candidate: string): ChatMessage[] {
  return judgeMessages('answer', question, [DECLINE, candidate]);
}

/** True when the judge's reply approves the candidate; else the reason it gives (or that it named none). */
export function readJudgement(reply: string): true | string {
  const v = readVerdict(reply, 2);
  if (!v) return 'the judge named no verdict';
  if (v.index === 1) return true;
  return `the judge rejected it${v.reason ? `: ${v.reason.replace(/\s+/g, ' ').slice(0, 200)}` : ''}`;
}
