/**
 * What `braid summarize`'s map and reduce calls ask of the model, and how their JSON answers are
 * read back. The activities (src/activities/summarize.ts) build their requests from these, since
 * the chunk texts they quote live in the blob store; provenance is added there, not asked of the
 * model.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { ManifestChunk, PartialResult, SourceCitation } from '../shared/summarize';

const MAP_TEMPLATE = '{"summary": "…", "points": ["…"], "citations": ["chunk id"]}';
const FINAL_TEMPLATE = '{"answer": "…", "points": ["…"], "citations": ["source:start-end"]}';

export const MAP_SYSTEM = 'You analyse one chunk of a larger corpus for a task. Reply with a single JSON object and nothing else.';
export const REDUCE_SYSTEM = 'You combine intermediate analyses of a corpus into one. Reply with a single JSON object and nothing else.';

export function mapPrompt(task: string, chunk: ManifestChunk, text: string): string {
  return [
    `Respond with JSON only, shaped like ${MAP_TEMPLATE}.`,
    `Task: ${task}`,
    `Chunk [chunk:${chunk.id}] of ${chunk.source}, characters ${chunk.start}-${chunk.end}:`,
    '---',
    text,
    '---',
  ].join('\n');
}

const label = (s: SourceCitation) => s.ranges.map(([a, b]) => `${s.source}:${a}-${b}`).join(', ');

export function reducePrompt(task: string, inputs: PartialResult[], final: boolean): string {
  const head = final
    ? `Respond with JSON only, shaped like ${FINAL_TEMPLATE}. Write the final answer to the task, citing sources as source:start-end.`
    : `Respond with JSON only, shaped like ${MAP_TEMPLATE}. Merge these ${inputs.length} results; keep what matters for the task.`;
  const body = inputs.map((r, i) => {
    const cites = r.chunkIds.length ? r.chunkIds.map((id) => `[chunk:${id}]`).join(' ') : `${r.chunks} chunks`;
    return `Result ${i + 1} (${cites}; ${r.sources.map(label).join('; ').slice(0, 400)}):\n${r.summary}\n${r.points.map((p) => `- ${p}`).join('\n')}`;
  });
  return [head, `Task: ${task}`, ...body].join('\n\n');
}

const Reply = z.object({
  summary: z.string().optional(),
  answer: z.string().optional(),
  points: z.array(z.string()).optional(),
});

/** The first JSON object in the model's text; an unreadable reply is retryable (models vary). */
export function parseReply(text: string, model: string): { summary: string; points: string[] } {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  let parsed: unknown;
  try {
    parsed = start >= 0 && end > start ? JSON.parse(text.slice(start, end + 1)) : undefined;
  } catch {
    parsed = undefined;
  }
  const reply = Reply.safeParse(parsed);
  const summary = reply.success ? (reply.data.answer ?? reply.data.summary) : undefined;
  if (!reply.success || summary === undefined) {
    throw ApplicationFailure.retryable(
      `${model} did not reply with the JSON object asked for: ${text.slice(0, 120).replace(/\s+/g, ' ')}`,
      'LlmInvalidJson',
    );
  }
  return { summary, points: reply.data.points ?? [] };
}
