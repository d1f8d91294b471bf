/** Helpers over message content, safe in workflow code (no Node APIs, no I/O). */
import type { ContentBlock, TextBlock } from './types';

/** The text blocks of a model reply, joined; tool_use blocks are left out. */
export const textOf = (content: ContentBlock[]): string =>
  content
    .filter((b): b is TextBlock => b.type === 'text')
    .map((b) => b.text)
    .join('\n')
    .trim();

/**
 * A short one-line rendering of any value for a label people read (a Web UI summary, a run list):
 * whitespace collapsed, JSON for structures, cut at `max` characters with an ellipsis.
 */
export function gist(value: unknown, max = 80): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1)).trimEnd()}…`;
}

/** `n` and the noun, plural when `n` is not 1: "1 document", "3 documents", "2 reduce levels". */
export const counted = (n: number, noun: string, plural = `${noun}s`): string => `${n} ${n === 1 ? noun : plural}`;
