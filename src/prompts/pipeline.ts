/**
 * What each stage of `braid pipeline`'s chain asks of the model (research → write → edit), and how
 * a draft the quality gate sent back is asked for again. Pure text, no Node APIs: the chain
 * workflow builds its requests from these.
 */
import type { StageName } from '../shared/pipeline';

export const STAGE_SYSTEM: Record<StageName, string> = {
  research: 'You are a researcher. Gather the key facts, figures, context and open questions a writer needs. Use short bullet points.',
  write: 'You are a writer. Turn research notes into a clear, well-structured short article of about 300 words.',
  edit: 'You are an editor. Tighten the draft, fix errors and unclear sentences, and return only the final article.',
};

/** A stage's request; `previous` is the output of the stage before (none for research). */
export function stagePrompt(stage: StageName, topic: string, previous: string): string {
  if (stage === 'research') return `Topic:\n${topic}\n\nResearch this topic for a short article.`;
  if (stage === 'write') return `Topic:\n${topic}\n\nResearch notes:\n${previous}\n\nWrite the article.`;
  return `Topic:\n${topic}\n\nDraft:\n${previous}\n\nEdit the draft.`;
}

/** The follow-up when the quality gate sent a draft back, with its reason. */
export function revisionPrompt(reason: string, topic: string): string {
  return `A reviewer sent this back: ${reason}.\n\nTopic:\n${topic}\n\nAnswer again, fixing that.`;
}

/** With stage overlap: the edit of one paragraph of the draft, asked for while the writer goes on. */
export function sectionEditPrompt(topic: string, section: string): string {
  return `Topic:\n${topic}\n\nDraft:\n${section}\n\nEdit this paragraph of the draft; return only the edited paragraph.`;
}
