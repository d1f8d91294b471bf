// Turns what the planner decided to say into what the API would return for this request: a
// thinking block first when thinking is on, then the content cut where generation would have
// stopped — at the earliest stop sequence (`stop_reason: "stop_sequence"`), or at `max_tokens`
// (`stop_reason: "max_tokens"`), which cuts text mid-word and a tool_use block mid-JSON the way
// the API does. A streamed cut tool_use sends exactly the JSON written before the cut; the
// non-streamed block holds that JSON read leniently, as the SDK reads a cut stream, so both agree.
import { partialParse } from '@anthropic-ai/sdk/_vendor/partial-json-parser/parser';
import { countTokens } from './text';
import { composeThinking, thinkingSignature } from './thinking';
import type { MessagesRequest, PlannedReply, ResponseBlock, StopReason } from './types';

export interface Generation {
  content: ResponseBlock[];
  stopReason: StopReason;
  /** The stop sequence that ended the answer, when one did. */
  stopSequence: string | null;
  outputTokens: number;
  /** A tool_use block cut off by max_tokens: its index and the JSON written before the cut. */
  partialJson?: { index: number; json: string };
}

/** Output tokens a block costs (chars / 4, as everywhere in the simulator). */
export function blockTokens(b: ResponseBlock): number {
  if (b.type === 'text') return countTokens(b.text);
  if (b.type === 'thinking') return b.thinking ? countTokens(b.thinking) : 0;
  return countTokens(b.name + JSON.stringify(b.input));
}

/** Cuts text blocks at the earliest stop sequence; later blocks are never generated. */
export function applyStopSequences(
  content: ResponseBlock[],
  stops: string[] | undefined,
): { content: ResponseBlock[]; stop: string | null } {
  if (!stops || stops.length === 0) return { content, stop: null };
  for (const [i, block] of content.entries()) {
    if (block.type !== 'text') continue;
    // The sequence that is complete first in generation order: the smallest end offset.
    let best: { at: number; end: number; stop: string } | undefined;
    for (const stop of stops) {
      const at = block.text.indexOf(stop);
      if (at !== -1 && (!best || at + stop.length < best.end)) best = { at, end: at + stop.length, stop };
    }
    if (!best) continue;
    const kept = content.slice(0, i);
    const text = block.text.slice(0, best.at);
    if (text.length > 0) kept.push({ ...block, text });
    return { content: kept, stop: best.stop };
  }
  return { content, stop: null };
}

/** Cuts `content` after `maxTokens` output tokens; `stopReason` stands when everything fits. */
export function applyMaxTokens(content: ResponseBlock[], stopReason: StopReason, maxTokens: number): Generation {
  const kept: ResponseBlock[] = [];
  let used = 0;
  for (const b of content) {
    const tokens = blockTokens(b);
    if (used + tokens <= maxTokens) {
      kept.push(b);
      used += tokens;
      continue;
    }
    const chars = (maxTokens - used) * 4;
    let partialJson: Generation['partialJson'];
    if (b.type === 'text' && chars > 0) kept.push({ ...b, text: b.text.slice(0, chars) });
    else if (b.type === 'thinking' && chars > 0)
      kept.push({ ...b, thinking: b.thinking.slice(0, chars), signature: thinkingSignature(b.thinking.slice(0, chars)) });
    else if (b.type === 'tool_use') {
      // The tool name is generated before its input; whatever room is left goes to the JSON.
      const json = JSON.stringify(b.input).slice(0, Math.max(0, chars - b.name.length));
      const parsed = json ? partialParse(json) : {};
      const input = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
      partialJson = { index: kept.length, json };
      kept.push({ ...b, input });
    }
    return { content: kept, stopReason: 'max_tokens', stopSequence: null, outputTokens: maxTokens, partialJson };
  }
  return { content: kept, stopReason, stopSequence: null, outputTokens: Math.max(maxTokens === 0 ? 0 : 1, used) };
}

/** The reply as the API would deliver it for `request`. */
export function finishReply(request: MessagesRequest, reply: PlannedReply): Generation {
  if (request.max_tokens === 0) return { content: [], stopReason: 'max_tokens', stopSequence: null, outputTokens: 0 };
  let content = reply.content;
  // With `display: "omitted"` the block arrives empty, but the thinking was still generated and billed.
  let hiddenTokens = 0;
  const thinking = request.thinking;
  if (thinking && thinking.type !== 'disabled') {
    const budget = thinking.type === 'enabled' ? thinking.budget_tokens : request.max_tokens;
    const note = composeThinking(request, reply, budget);
    const shown = thinking.display === 'omitted' ? '' : note;
    if (shown !== note) hiddenTokens = countTokens(note);
    content = [{ type: 'thinking', thinking: shown, signature: thinkingSignature(shown) }, ...content];
  }
  const stopped = applyStopSequences(content, request.stop_sequences);
  const stopReason: StopReason = stopped.stop !== null ? 'stop_sequence' : reply.stopReason;
  const cut = applyMaxTokens(stopped.content, stopReason, Math.max(0, request.max_tokens - hiddenTokens));
  if (hiddenTokens > 0) cut.outputTokens = Math.min(request.max_tokens, cut.outputTokens + hiddenTokens);
  if (cut.stopReason !== 'max_tokens') cut.stopSequence = stopped.stop;
  return cut;
}
