// Request validation with the Messages API's rules and message style ("messages.1.role: ..."),
// so code that builds a malformed conversation fails against the simulator the way it would
// against the real API. Hand-written rather than a zod schema because the interesting checks
// are cross-field (role alternation, tool_use/tool_result pairing). Unknown top-level fields
// (temperature, metadata, cache_control, ...) are accepted and ignored, as a client may send them.
import type { DocumentBlock, JsonSchema, MessagesRequest, RequestBlock, RequestMessage, TextBlock, ToolChoice, ToolDef } from './types';

export class RequestInvalid extends Error {
  override name = 'RequestInvalid';
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(message: string): never {
  throw new RequestInvalid(message);
}

function textBlock(v: unknown, path: string): TextBlock {
  if (!isObj(v) || v.type !== 'text') fail(`${path}.type: Input should be 'text'`);
  if (typeof v.text !== 'string') fail(`${path}.text: Field required`);
  if (v.text.length === 0) fail(`${path}: text content blocks must be non-empty`);
  return { type: 'text', text: v.text };
}

function block(v: unknown, path: string): RequestBlock {
  if (!isObj(v)) fail(`${path}: Input should be a valid dictionary`);
  switch (v.type) {
    case 'text':
      return textBlock(v, path);
    case 'tool_use':
      if (typeof v.id !== 'string' || v.id === '') fail(`${path}.id: Field required`);
      if (typeof v.name !== 'string' || v.name === '') fail(`${path}.name: Field required`);
      if (!isObj(v.input)) fail(`${path}.input: Input should be a valid dictionary`);
      return { type: 'tool_use', id: v.id, name: v.name, input: v.input };
    case 'tool_result': {
      if (typeof v.tool_use_id !== 'string' || v.tool_use_id === '') fail(`${path}.tool_use_id: Field required`);
      let content: string | TextBlock[] | undefined;
      if (typeof v.content === 'string') content = v.content;
      else if (Array.isArray(v.content)) content = v.content.map((c, i) => textBlock(c, `${path}.content.${i}`));
      else if (v.content !== undefined) fail(`${path}.content: Input should be a valid string or list`);
      if (v.is_error !== undefined && typeof v.is_error !== 'boolean') fail(`${path}.is_error: Input should be a valid boolean`);
      return { type: 'tool_result', tool_use_id: v.tool_use_id, content, is_error: v.is_error === true ? true : undefined };
    }
    case 'document': {
      // Read by the planner (text, citations); the full set of document sources is validated elsewhere.
      if (!isObj(v.source) || typeof v.source.type !== 'string') fail(`${path}.source: Field required`);
      if (v.source.type === 'text' && typeof v.source.data !== 'string') fail(`${path}.source.data: Field required`);
      if (v.title !== undefined && v.title !== null && typeof v.title !== 'string') fail(`${path}.title: Input should be a valid string`);
      const citations = isObj(v.citations) ? { enabled: v.citations.enabled === true } : undefined;
      return {
        type: 'document',
        source: v.source as DocumentBlock['source'],
        title: typeof v.title === 'string' ? v.title : undefined,
        context: typeof v.context === 'string' ? v.context : undefined,
        citations,
      };
    }
    default:
      fail(
        `${path}.type: Input tag '${String(v.type)}' found using 'type' does not match any of the expected tags: 'text', 'tool_use', 'tool_result', 'document'`,
      );
  }
}

function message(v: unknown, i: number): RequestMessage {
  const path = `messages.${i}`;
  if (!isObj(v)) fail(`${path}: Input should be a valid dictionary`);
  if (v.role !== 'user' && v.role !== 'assistant') fail(`${path}.role: Input should be 'user' or 'assistant'`);
  if (typeof v.content === 'string') {
    if (v.content.length === 0 && v.role === 'user') fail(`${path}: user messages must have non-empty content`);
    return { role: v.role, content: v.content };
  }
  if (!Array.isArray(v.content)) fail(`${path}.content: Input should be a valid string or list`);
  if (v.content.length === 0) fail(`${path}: all messages must have non-empty content except for the optional final assistant message`);
  const blocks = v.content.map((b, j) => block(b, `${path}.content.${j}`));
  if (v.role === 'assistant' && blocks.some((b) => b.type === 'document'))
    fail(`${path}: document blocks are only allowed in user messages`);
  if (v.role === 'assistant' && blocks.some((b) => b.type === 'tool_result'))
    fail(`${path}: tool_result blocks are only allowed in user messages`);
  if (v.role === 'user' && blocks.some((b) => b.type === 'tool_use'))
    fail(`${path}: tool_use blocks are only allowed in assistant messages`);
  return { role: v.role, content: blocks };
}

const blocksOf = (m: RequestMessage | undefined): RequestBlock[] => (m && Array.isArray(m.content) ? m.content : []);

/** Every tool_use must be answered by a tool_result in the next user message, and vice versa. */
function checkToolPairing(messages: RequestMessage[]): void {
  messages.forEach((m, i) => {
    if (m.role !== 'user') return;
    const results = blocksOf(m).filter((b) => b.type === 'tool_result');
    const uses = new Set(blocksOf(messages[i - 1]).flatMap((b) => (b.type === 'tool_use' ? [b.id] : [])));
    for (const r of results) {
      if (!uses.has(r.tool_use_id)) {
        fail(
          `messages.${i}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${r.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
        );
      }
    }
    const answered = new Set(results.map((r) => r.tool_use_id));
    const missing = [...uses].filter((id) => !answered.has(id));
    if (missing.length > 0) {
      fail(
        `messages.${i - 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
      );
    }
  });
}

function tool(v: unknown, i: number): ToolDef {
  const path = `tools.${i}`;
  if (!isObj(v)) fail(`${path}: Input should be a valid dictionary`);
  if (typeof v.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(v.name))
    fail(`${path}.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`);
  if (v.description !== undefined && typeof v.description !== 'string') fail(`${path}.description: Input should be a valid string`);
  if (!isObj(v.input_schema)) fail(`${path}.input_schema: Field required`);
  if (v.input_schema.type !== 'object') fail(`${path}.input_schema.type: Input should be 'object'`);
  return { name: v.name, description: v.description, input_schema: v.input_schema as JsonSchema };
}

function toolChoice(v: unknown, tools: ToolDef[] | undefined): ToolChoice | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) fail('tool_choice: Input should be a valid dictionary');
  const parallel = typeof v.disable_parallel_tool_use === 'boolean' ? { disable_parallel_tool_use: v.disable_parallel_tool_use } : {};
  if (v.type === 'auto' || v.type === 'any' || v.type === 'none') return { type: v.type, ...parallel };
  if (v.type === 'tool') {
    if (typeof v.name !== 'string') fail('tool_choice.name: Field required');
    if (!tools?.some((t) => t.name === v.name)) fail(`tool_choice: Tool '${v.name}' not found in provided tools`);
    return { type: 'tool', name: v.name, ...parallel };
  }
  fail("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'");
}

/**
 * Checks a parsed JSON body and returns it typed. `count_tokens` requests have no max_tokens,
 * so `requireMaxTokens` is off for them.
 */
export function validateMessagesRequest(body: unknown, requireMaxTokens = true): MessagesRequest {
  if (!isObj(body)) fail('Request body must be a JSON object');
  if (typeof body.model !== 'string' || body.model === '') fail('model: Field required');
  let maxTokens = 1;
  if (requireMaxTokens) {
    if (body.max_tokens === undefined) fail('max_tokens: Field required');
    if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens)) fail('max_tokens: Input should be a valid integer');
    if (body.max_tokens < 1) fail('max_tokens: Input should be greater than or equal to 1');
    maxTokens = body.max_tokens;
  }
  if (!Array.isArray(body.messages)) fail('messages: Field required');
  if (body.messages.length === 0) fail('messages: at least one message is required');
  const messages = body.messages.map(message);
  if (messages[0]?.role !== 'user') fail('messages: first message must use the "user" role');
  messages.forEach((m, i) => {
    if (i > 0 && messages[i - 1]?.role === m.role)
      fail(`messages: roles must alternate between "user" and "assistant", but found multiple "${m.role}" roles in a row`);
  });
  checkToolPairing(messages);

  let system: string | TextBlock[] | undefined;
  if (typeof body.system === 'string') system = body.system;
  else if (Array.isArray(body.system)) system = body.system.map((b, i) => textBlock(b, `system.${i}`));
  else if (body.system !== undefined) fail('system: Input should be a valid string or list');

  let tools: ToolDef[] | undefined;
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) fail('tools: Input should be a valid list');
    tools = body.tools.map(tool);
    const names = new Set<string>();
    for (const t of tools) {
      if (names.has(t.name)) fail(`tools: Tool names must be unique. Found duplicate: ${t.name}`);
      names.add(t.name);
    }
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean') fail('stream: Input should be a valid boolean');

  let outputConfig: MessagesRequest['output_config'];
  if (isObj(body.output_config) && isObj(body.output_config.format)) {
    const format = body.output_config.format;
    if (format.type !== 'json_schema') fail("output_config.format.type: Input should be 'json_schema'");
    if (!isObj(format.schema)) fail('output_config.format.schema: Field required');
    outputConfig = { format: { type: 'json_schema', schema: format.schema as JsonSchema } };
  }

  return {
    model: body.model,
    max_tokens: maxTokens,
    ...(outputConfig ? { output_config: outputConfig } : {}),
    messages,
    system,
    tools,
    tool_choice: toolChoice(body.tool_choice, tools),
    stream: body.stream === true,
  };
}
