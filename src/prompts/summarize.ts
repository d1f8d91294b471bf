/**
 * What `braid summarize`'s map and reduce calls ask of the model. The instructions use few words
 * besides the task's own: what a model matches against the task should be the task. The material goes in as plain-text
 * documents with citations enabled (the Messages API's citations feature), so the reply's statements
 * come back with character ranges of what they rest on; the activities (src/activities/summarize.ts)
 * check those ranges and turn them into provenance (src/summarize/citations.ts). No file path goes
 * to the model as content: a map document is titled with the file's base name, a reduce document
 * not at all, and nothing is asked of the model in JSON.
 */
import type { ContentBlock, DocumentBlock } from '../shared/types';

export const MAP_SYSTEM =
  'You read one excerpt of a larger corpus for a task. Use only the excerpt, and cite the sentences each statement rests on.';
export const REDUCE_SYSTEM =
  'You combine findings drawn from parts of a corpus into one answer to a task. Use only the findings, and cite the findings each statement rests on.';

/** The reply a map call is told to give when its chunk does not bear on the task. */
export const NOT_RELEVANT = 'Not relevant to the task.';

const document = (data: string, title?: string): DocumentBlock => ({
  type: 'document',
  source: { type: 'text', media_type: 'text/plain', data },
  ...(title ? { title } : {}),
  citations: { enabled: true },
});

/** File name without its directories: the model may know which file an excerpt is from, but not the directories around it. */
export const baseName = (source: string): string => source.split(/[/\\]/).pop() || source;

/**
 * The task and the instructions, then one chunk as a cited document. The task comes first because
 * it is what every map call of a job shares: marked as the shared prefix, it is cached once it is
 * long enough (src/shared/prompt-cache.ts), and each call pays only for its chunk.
 */
export function mapContent(task: string, source: string, text: string): (ContentBlock | DocumentBlock)[] {
  return [
    {
      type: 'text',
      text: [
        `Task: ${task}`,
        '',
        'Give the key points of this document that are relevant to the task, citing the text each is based on.',
        `Write no point that does not cite the document. If it is not relevant to the task, reply: ${NOT_RELEVANT}`,
      ].join('\n'),
      cachePrefix: true,
    },
    document(text, baseName(source)),
  ];
}

/** The claims of each input result as one cited document (one claim per line), and the task. */
export function reduceContent(task: string, findings: string[], final: boolean): (ContentBlock | DocumentBlock)[] {
  const what = final ? 'Write the answer to the task from the relevant points' : 'Give the key points that are relevant to the task';
  return [
    ...findings.map((f) => document(f)),
    {
      type: 'text',
      text: [
        `Task: ${task}`,
        '',
        `Each document above is a list of key points from the source documents. ${what}, citing the points each is based on.`,
        'Write no point that does not cite a document, and do not include points that are not relevant.',
      ].join('\n'),
    },
  ];
}
