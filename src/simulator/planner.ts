// The simulator's deterministic stand-in for a model: from a validated Messages request it decides
// whether to call tools (and which, with what input) or to answer, and writes the content. The
// answer follows the task the prompt sets (prompt.ts reads it; tasks.ts carries it out). Pure: no
// clock, no randomness, no I/O — the model's personality and error decisions come from the `Mind`
// (seeded hashes over the model table's error rates, see mind.ts) — so the same request always
// yields the same reply (tool_use ids included) and it can be unit-tested without a server. The
// reply is written whole; generation.ts cuts it at stop sequences and max_tokens.
//
// Tests and benchmarks steer it with `#sim` lines in the latest user text (or the system prompt):
//   #sim tools=a,b     call exactly these offered tools, in this order, once per round
//   #sim rounds=N      plan tool calls for N assistant turns before answering (default 1; 0 = none)
//   #sim answer_tokens=N   make the final answer about N tokens long
//   #sim text=...      answer with exactly this text
//   #sim answer=wrong|invalid|right   force a wrong decision, a malformed answer, or a right one
//   #sim slow_ms=N     wait N ms more before the first token
//   #sim sample=N      answer as independent draw N of this model (its own error decisions)
import { padToTokens, salientWords, synthesize, type ToolOutcome } from './answers';
import { classify } from './classify';
import { blockTokens } from './generation';
import { Mind } from './mind';
import { understand } from './prompt';
import { answerTask } from './tasks';
import { hashHex, messageText, requestText, systemText, toolResultText } from './text';
import { planCalls, planNamedCalls, type InputContext, type PlannedCall } from './tool-plan';
import type { AnswerMode, MessagesRequest, PlannedReply, RequestMessage, ResponseBlock, StopReason, ToolUseBlock } from './types';

export interface Directives {
  tools?: string[];
  rounds?: number;
  answerTokens?: number;
  text?: string;
  answer?: AnswerMode;
  slowMs?: number;
  sample?: number;
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
      else if (key === 'answer' && /^(?:right|wrong|invalid)$/.test(value)) d.answer = value as AnswerMode;
      else if (key === 'slow_ms' && /^\d+$/.test(value)) d.slowMs = Number(value);
      else if (key === 'sample' && /^\d+$/.test(value)) d.sample = Number(value);
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

/** The whole reply as the model writes it; generation.ts cuts it at stop sequences and max_tokens. */
function reply(content: ResponseBlock[], stopReason: StopReason, delay: { delayMs?: number }): PlannedReply {
  return { content, stopReason, outputTokens: content.reduce((sum, b) => sum + blockTokens(b), 0), ...delay };
}

function toolTurn(calls: PlannedCall[], request: MessagesRequest, preface: boolean): ResponseBlock[] {
  const digest = hashHex(JSON.stringify([request.model, request.system ?? null, request.messages, request.tools ?? []]));
  const text = calls.length > 1 ? "I'll look these up in parallel." : `Let me check that with ${calls[0]!.name}.`;
  return [
    ...(preface ? [{ type: 'text' as const, text }] : []),
    ...calls.map((c, i): ToolUseBlock => ({
      type: 'tool_use',
      id: `toolu_sim_${hashHex(digest, String(i)).slice(0, 24)}`,
      name: c.name,
      input: c.input,
    })),
  ];
}

const DEFAULT_MIND = new Mind();

/** "A reviewer sent this back … answer again": the task is the one asked before, redone. */
const RETRY = /\b(?:answer|try|do (?:it|this)|write it) again\b|\bsent (?:this|it) back\b/i;

/** The deterministic reply to `request`, for the personality and rules in `mind`. */
export function planReply(request: MessagesRequest, mind: Mind = DEFAULT_MIND): PlannedReply {
  const { messages } = request;
  let qi = questionIndex(messages);
  const system = systemText(request);
  const latestRaw = messageText(messages[qi]!);
  const directives = { ...parseDirectives(system), ...parseDirectives(latestRaw) };
  if (RETRY.test(latestRaw)) {
    const earlier = messages.slice(0, qi).findLastIndex((m) => m.role === 'user' && messageText(m).trim() !== '' && !hasToolResults(m));
    if (earlier >= 0) qi = earlier;
  }
  const question = stripDirectives(messageText(messages[qi]!));
  const all = requestText(request);
  const forced = { ...mind.forced(request.model, all) };
  if (directives.answer) forced.answer = directives.answer;
  if (directives.slowMs !== undefined) forced.slowMs = directives.slowMs;
  const sample = directives.sample ?? 0;
  const delay = forced.slowMs ? { delayMs: forced.slowMs } : {};

  const choice = request.tool_choice?.type ?? 'auto';
  const tools = choice === 'none' ? [] : (request.tools ?? []);
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const afterResults = hasToolResults(lastUser);
  const roundsDone = messages
    .slice(qi + 1)
    .filter((m) => m.role === 'assistant' && Array.isArray(m.content) && m.content.some((b) => b.type === 'tool_use')).length;
  const rounds = directives.rounds ?? 1;

  if (tools.length > 0 && (roundsDone < rounds || choice === 'any' || choice === 'tool')) {
    // Enums with no option named in the question are labels to classify, through the error model.
    const ctx: InputContext = {
      choose: (options, text) =>
        classify(options, { mind, model: request.model, item: text, prompt: all, forced: forced.answer, sample }).label,
    };
    let calls: PlannedCall[];
    if (request.tool_choice?.type === 'tool') calls = planNamedCalls(question, [request.tool_choice.name], tools, ctx);
    else if (directives.tools) calls = planNamedCalls(question, directives.tools, tools, ctx);
    else calls = planCalls(question, tools, ctx);
    if (calls.length === 0 && choice === 'any') calls = planNamedCalls(question, [tools[0]!.name], tools, ctx);
    if (request.tool_choice?.disable_parallel_tool_use) calls = calls.slice(0, 1);
    // Forced tool use (any/tool) answers with the tool_use block alone, as the API does.
    if (calls.length > 0) return reply(toolTurn(calls, request, choice === 'auto'), 'tool_use', delay);
  }

  let content: ResponseBlock[];
  if (directives.text !== undefined) content = [{ type: 'text', text: directives.text }];
  else {
    const outcomes = afterResults ? toolOutcomes(messages, qi + 1) : [];
    if (outcomes.length > 0) content = [{ type: 'text', text: synthesize(question, outcomes) }];
    else {
      const u = understand({ ...request, system: stripDirectives(system) }, qi, question);
      content = answerTask({
        u,
        mind,
        model: request.model,
        profile: mind.profile(request.model),
        forced,
        sample,
        prompt: all,
      });
    }
    if (directives.answerTokens !== undefined && content.length === 1 && content[0]!.type === 'text') {
      const text = content[0]!.text;
      content = [{ type: 'text', text: padToTokens(text, directives.answerTokens, salientWords(`${question}\n${text}`)) }];
    }
  }
  // An assistant prefill is continued, not repeated.
  const last = messages[messages.length - 1];
  const first = content[0];
  if (last?.role === 'assistant' && first?.type === 'text') {
    const prefill = messageText(last);
    if (prefill && first.text.startsWith(prefill)) content[0] = { ...first, text: first.text.slice(prefill.length) };
  }
  if (content.length === 0 || (content.length === 1 && content[0]!.type === 'text' && content[0]!.text.length === 0))
    content = [{ type: 'text', text: '.' }];
  return reply(content, 'end_turn', delay);
}
