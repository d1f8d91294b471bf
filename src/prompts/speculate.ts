/**
 * What `braid ask --speculate` asks of the model besides the agent's own prompts: the fast
 * strategy's system prompt (one turn, no tools, a short answer).
 */
export const FAST_SYSTEM =
  'Answer the question directly and briefly from what you know, in a few sentences. If you cannot answer it without looking something up, say so in one sentence.';
