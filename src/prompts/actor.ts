/**
 * What an agent (`braid actor`) says to its model: its system prompt from its role, a note kept in
 * its memory, the question a lead passes to its team, and the lead's request to merge the team's
 * answers. Pure text, no Node APIs; a stored note goes in as a stored text block, which the
 * model-call activity reads back from the blob store.
 */
import type { ActorNote, ActorSpec, MemberAnswer } from '../shared/actor';
import type { ChatMessage, ContentBlock } from '../shared/types';

export function actorSystem(spec: ActorSpec): string {
  const lines = [`You are the ${spec.role}.`];
  if (spec.instructions) lines.push(spec.instructions);
  lines.push(
    spec.team
      ? 'You lead a team: each question goes to its members, and you merge their answers into one, keeping what each contributed and leaving out what none supports.'
      : 'Answer from your notes and the conversation so far. Be factual and brief; say so when your notes do not cover the question.',
  );
  return lines.join('\n');
}

/** A note as the user turn that puts it in memory, and the agent's acknowledgement (turns alternate). */
export function noteTurns(note: ActorNote): ChatMessage[] {
  const head = `Note${note.title ? ` "${note.title}"` : ''} to keep for later questions:\n`;
  const content: string | ContentBlock[] = note.stored
    ? [
        { type: 'text', text: head },
        { type: 'text', text: note.text, stored: note.stored },
      ]
    : `${head}${note.text}`;
  return [
    { role: 'user', content },
    { role: 'assistant', content: 'Noted.' },
  ];
}

/** The question as a team member receives it: the question itself, so it answers from its own notes. */
export const memberQuestion = (question: string): string => question;

/** The lead's merge request: the question, then each member's answer as a numbered source. */
export function mergePrompt(question: string, answers: MemberAnswer[]): string {
  const sources = answers
    .filter((a) => a.ok && a.text)
    .map((a, i) => `Source ${i + 1} (${a.name}):\n${a.text!.trim()}`)
    .join('\n\n');
  return `Question: ${question}\n\n${sources}\n\nTask: Merge the team's answers into one answer to the question.`;
}
