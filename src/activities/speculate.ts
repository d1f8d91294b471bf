/**
 * `braid ask --speculate`'s cache activities: look an answer up, and store the winning one. The key
 * is the normalised question, the tools offered and each tool's current data version (read from the
 * registry at lookup and at store time), so an answer stored before the data changed never matches.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { AnswerCache } from '../store/answer-cache';
import type { ToolRegistry } from '../tools/registry';

export interface CacheLookupInput {
  question: string;
  /** The tools offered; default: every tool the worker registers. */
  tools?: string[];
}

export type CacheLookup = { hit: true; answer: string; storedAt: number; expiresAt: number } | { hit: false; reason: string };

export interface CacheStoreInput extends CacheLookupInput {
  answer: string;
  ttlMs: number;
}

export function createSpeculateActivities(deps: { registry: ToolRegistry; answerCache?: AnswerCache }) {
  const cache = (): AnswerCache => {
    if (!deps.answerCache) throw ApplicationFailure.nonRetryable('this worker has no answer cache', 'NoAnswerCache');
    return deps.answerCache;
  };
  const parts = async (input: CacheLookupInput) => {
    const tools = input.tools ?? deps.registry.names();
    try {
      return { question: input.question, tools, versions: await deps.registry.dataVersions(tools) };
    } catch (err) {
      throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidInput');
    }
  };
  return {
    async lookupAnswer(input: CacheLookupInput): Promise<CacheLookup> {
      const found = cache().get(await parts(input));
      return 'miss' in found ? { hit: false, reason: found.miss } : { hit: true, ...found };
    },
    async storeAnswer(input: CacheStoreInput): Promise<void> {
      cache().put(await parts(input), input.answer, input.ttlMs);
    },
  };
}
