/** Helpers over message content, safe in workflow code (no Node APIs, no I/O). */
import type { ContentBlock, TextBlock } from './types';

/** The text blocks of a model reply, joined; tool_use blocks are left out. */
export const textOf = (content: ContentBlock[]): string =>
  content
    .filter((b): b is TextBlock => b.type === 'text')
    .map((b) => b.text)
    .join('\n')
    .trim();
