/**
 * Large content by reference — the contract workflows, activities and the CLI share (no Node APIs).
 *
 * Temporal keeps every activity input and result in the run's history, and refuses a payload over
 * 2 MB. So content above a threshold — a tool result, a model's answer, a publish document, an
 * analysis, an agent's conversation — is written to the blob store (src/blobs) by the activity or
 * CLI that has it, and the run carries a `StoredText`: its `sha256:` reference, its length and a
 * short preview. Small content stays inline on purpose: a deployment whose workers share no disk
 * keeps working for ordinary runs, and only runs with large content need the shared store.
 */

/** Content longer than this many characters goes to the blob store: tool results, answers, documents. */
export const INLINE_MAX_CHARS = 32 * 1024;

/**
 * An agent's conversation stays inline while its messages hold no reference and come to at most
 * this many characters; past that it is kept as stored segments, one per turn.
 */
export const CONVERSATION_INLINE_MAX_CHARS = 64 * 1024;

/** Characters of stored content kept inline as its preview (for the Web UI, logs and queries). */
export const PREVIEW_CHARS = 400;

/** Text that lives in the blob store. */
export interface StoredText {
  /** `sha256:<hex>` of the UTF-8 text. */
  ref: string;
  /** Its length in characters. */
  chars: number;
  /** When set, only the first `limit` characters are meant (e.g. what a prompt reads of a document). */
  limit?: number;
}

/** What a run keeps inline for stored text: its start, and where the rest is. */
export function previewOf(text: string, stored: Pick<StoredText, 'ref' | 'chars'>): string {
  return `${text.slice(0, PREVIEW_CHARS)}… [${stored.chars} characters in all, stored as ${stored.ref}]`;
}
