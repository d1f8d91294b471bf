// Extended thinking, as far as a simulator can have it: a short reasoning note written from the
// request (what is asked, which tools or results are at hand, how the answer will be given),
// signed so that a thinking block sent back in a later turn can be checked the way the API checks
// its own signatures. The note says plainly that it is simulated.
import { createHash } from 'node:crypto';
import { countTokens, excerpt, messageText } from './text';
import type { MessagesRequest, PlannedReply } from './types';

const SIGNING_KEY = 'braid-simulator-thinking-v1';

/** The signature the simulator gives a thinking text; any other signature is rejected in history. */
export function thinkingSignature(thinking: string): string {
  return createHash('sha256').update(SIGNING_KEY).update('\u0000').update(thinking).digest('base64');
}

/** A reasoning note of at most `maxTokens` tokens about how `reply` answers `request`. */
export function composeThinking(request: MessagesRequest, reply: PlannedReply, maxTokens: number): string {
  const lastUser = [...request.messages].reverse().find((m) => m.role === 'user');
  const asked = lastUser ? excerpt(messageText(lastUser), 160) : '';
  const calls = reply.content.flatMap((b) => (b.type === 'tool_use' ? [b.name] : []));
  const results = Array.isArray(lastUser?.content) ? lastUser.content.filter((b) => b.type === 'tool_result').length : 0;
  const lines = [
    '(Simulated reasoning — the Braid simulator, not a model.)',
    asked ? `The request: "${asked}".` : 'The request continues from the tool results.',
    results > 0 ? `I have ${results} tool result${results === 1 ? '' : 's'} to work from.` : '',
    calls.length > 0
      ? `I need ${calls.join(', ')} before I can answer, so I will call ${calls.length === 1 ? 'it' : 'them'} now.`
      : 'I have what I need, so I will answer directly.',
  ].filter(Boolean);
  const note = lines.join(' ');
  const limit = Math.max(0, maxTokens) * 4;
  if (countTokens(note) <= maxTokens) return note;
  return note.slice(0, limit);
}
