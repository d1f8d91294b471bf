// The simulator's deterministic stand-in for a model: from a validated Messages request it decides
// whether to call tools (and which, with what input) or to answer, and writes the content. Pure:
// no clock, no randomness, no I/O, so the same request always yields the same reply (tool_use ids
// included) and it can be unit-tested without a server.
//
// Tests and benchmarks steer it with `#sim` lines in the latest user text (or the system prompt):
//   #sim tools=a,b     call exactly these offered tools, in this order, once per round
//   #sim rounds=N      plan tool calls for N assistant turns before answering (default 1; 0 = none)
//   #sim answer_tokens=N   make the final answer about N tokens long
//   #sim text=...      answer with exactly this text
import { defaultAnswerTokens, directAnswer, padToTokens, salientWords, synthesize, type ToolOutcome } from './answers';
import { blockTokens } from './generation';
import { hashHex, messageText, systemText, toolResultText } from './text';
import { planCalls, planNamedCalls, type PlannedCall } from './tool-plan';
import type { MessagesRequest, PlannedReply, RequestMessage, ResponseBlock, ToolUseBlock } from './types';

export interface Directives {
  tools?: string[];
  rounds?: number;
  answerTokens?: number;
  text?: string;
}

const DIRECTIVE_LINE = /^[ \t]*#sim\b(.*)$/gm;

/** Reads `#sim` lines; later lines win. */
export function parseDirectives(text: string): Directives {
  const d: Directives = {};
  for (const line of text.matchAll(DIRECTIVE_LINE)) {
    let rest = (line[1] ?? '').trim();
    while (rest.length > 0) {
      const m = /^(\w+)=(\S*)\s*/.exec(rest);
      if (!m?.[1]) break;
      const [, key, value = ''] = m;
      if (key === 'text') {
        d.text = rest.slice('text='.length);
        break;
      }
      if (key === 'tools')
        d.tools = value
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean);
      else if (key === 'rounds' && /^\d+$/.test(value)) d.rounds = Number(value);
      else if (key === 'answer_tokens' && /^\d+$/.test(value)) d.answerTokens = Number(value);
      rest = rest.slice(m[0].length);
    }
  }
  return d;
}

export function stripDirectives(text: string): string {
  return text
    .replace(DIRECTIVE_LINE, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

const hasToolResults = (m: RequestMessage | undefined): boolean =>
  Array.isArray(m?.content) && m.content.some((b) => b.type === 'tool_result');

/** Index of the user message that poses the current question: the latest with text and no tool results. */
function questionIndex(messages: RequestMessage[]): number {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role === 'user' && messageText(m).trim() !== '' && !hasToolResults(m)) return i;
  }
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'user' && messageText(messages[i]!).trim() !== '') return i;
  return 0;
}

function toolOutcomes(messages: RequestMessage[], from: number): ToolOutcome[] {
  const uses = new Map<string, ToolUseBlock>();
  const outcomes: ToolOutcome[] = [];
  for (const m of messages.slice(from)) {
    if (!Array.isArray(m.content)) continue;
    for (const b of m.content) {
      if (b.type === 'tool_use') uses.set(b.id, b);
      if (b.type === 'tool_result') {
        const use = uses.get(b.tool_use_id);
        outcomes.push({ name: use?.name ?? 'a tool', input: use?.input ?? {}, text: toolResultText(b), isError: b.is_error === true });
      }
    }
  }
  return outcomes;
}

/** What the whole reply costs; generation.ts cuts it to the request's max_tokens and stop sequences. */
const tokensOf = (content: ResponseBlock[]): number => content.reduce((sum, b) => sum + blockTokens(b), 0);

function toolTurn(calls: PlannedCall[], request: MessagesRequest): ResponseBlock[] {
  const digest = hashHex(JSON.stringify([request.model, request.system ?? null, request.messages, request.tools ?? []]));
  const preface = calls.length > 1 ? "I'll look these up in parallel." : `Let me check that with ${calls[0]!.name}.`;
  return [
    { type: 'text', text: preface },
    ...calls.map((c, i): ToolUseBlock => ({
      type: 'tool_use',
      id: `toolu_sim_${hashHex(digest, String(i)).slice(0, 24)}`,
      name: c.name,
      input: c.input,
    })),
  ];
}

/** The deterministic reply to `request`. */
export function planReply(request: MessagesRequest): PlannedReply {
  const { messages } = request;
  const qi = questionIndex(messages);
  const questionRaw = messageText(messages[qi]!);
  const system = systemText(request);
  const directives = { ...parseDirectives(system), ...parseDirectives(questionRaw) };
  const question = stripDirectives(questionRaw);

  const choice = request.tool_choice?.type ?? 'auto';
  const tools = choice === 'none' ? [] : (request.tools ?? []);
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const afterResults = hasToolResults(lastUser);
  const roundsDone = messages
    .slice(qi + 1)
    .filter((m) => m.role === 'assistant' && Array.isArray(m.content) && m.content.some((b) => b.type === 'tool_use')).length;
  const rounds = directives.rounds ?? 1;

  if (tools.length > 0 && (roundsDone < rounds || choice === 'any' || choice === 'tool')) {
    let calls: PlannedCall[];
    if (request.tool_choice?.type === 'tool') calls = planNamedCalls(question, [request.tool_choice.name], tools);
    else if (directives.tools) calls = planNamedCalls(question, directives.tools, tools);
    else calls = planCalls(question, tools);
    if (calls.length === 0 && choice === 'any') calls = planNamedCalls(question, [tools[0]!.name], tools);
    if (calls.length > 0) {
      const content = toolTurn(calls, request);
      return { content, stopReason: 'tool_use', outputTokens: tokensOf(content) };
    }
  }

  let text: string;
  if (directives.text !== undefined) text = directives.text;
  else {
    const outcomes = afterResults ? toolOutcomes(messages, qi + 1) : [];
    const prompt = [stripDirectives(system), question].filter(Boolean).join('\n');
    if (outcomes.length > 0) {
      text = synthesize(question, outcomes);
      if (directives.answerTokens !== undefined) text = padToTokens(text, directives.answerTokens, salientWords(question));
    } else {
      const explicit = directives.answerTokens;
      text = directAnswer(prompt, explicit ?? defaultAnswerTokens(prompt));
    }
  }
  // An assistant prefill is continued, not repeated.
  const last = messages[messages.length - 1];
  if (last?.role === 'assistant') {
    const prefill = messageText(last);
    if (prefill && text.startsWith(prefill)) text = text.slice(prefill.length);
  }
  const content: ResponseBlock[] = [{ type: 'text', text: text.length > 0 ? text : '.' }];
  return { content, stopReason: 'end_turn', outputTokens: tokensOf(content) };
}
