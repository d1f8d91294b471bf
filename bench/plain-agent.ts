/**
 * The same tool-calling loop as the agent workflow, without Temporal: the SDK called directly and
 * tools run either one after another or with Promise.all. Benchmarks use it as the baselines that
 * Braid's durable version is measured against.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { ToolRegistry } from '../src/tools';

export interface PlainRun {
  ms: number;
  modelMs: number[];
  turns: number;
  answer: string;
}

export async function plainAgent(
  claude: Anthropic,
  model: string,
  registry: ToolRegistry,
  question: string,
  mode: 'sequential' | 'parallel',
): Promise<PlainRun> {
  const started = Date.now();
  const messages: Anthropic.MessageParam[] = [{ role: 'user', content: question }];
  const tools = registry.specs() as Anthropic.Tool[];
  const modelMs: number[] = [];
  for (let turn = 1; turn <= 6; turn++) {
    const t0 = Date.now();
    const msg = await claude.messages.stream({ model, max_tokens: 1024, messages, tools }).finalMessage();
    modelMs.push(Date.now() - t0);
    messages.push({ role: 'assistant', content: msg.content });
    const calls = msg.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    if (msg.stop_reason !== 'tool_use' || !calls.length) {
      const answer = msg.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
      return { ms: Date.now() - started, modelMs, turns: turn, answer };
    }
    const runOne = async (c: Anthropic.ToolUseBlock): Promise<Anthropic.ToolResultBlockParam> => {
      try {
        const out = await registry.run(c.name, c.input, { signal: new AbortController().signal, heartbeat: () => {}, toolUseId: c.id });
        return { type: 'tool_result', tool_use_id: c.id, content: typeof out === 'string' ? out : JSON.stringify(out) };
      } catch (err) {
        return { type: 'tool_result', tool_use_id: c.id, content: String(err), is_error: true };
      }
    };
    const results: Anthropic.ToolResultBlockParam[] = [];
    if (mode === 'parallel') results.push(...(await Promise.all(calls.map(runOne))));
    else for (const c of calls) results.push(await runOne(c));
    messages.push({ role: 'user', content: results });
  }
  return { ms: Date.now() - started, modelMs, turns: 6, answer: '' };
}
