// Request validation with the Messages API's rules and message style ("messages.1.role: ..."),
// so code that builds a malformed conversation fails against the simulator the way it would
// against the real API. Hand-written rather than a zod schema because the interesting checks
// are cross-field (role alternation, tool_use/tool_result pairing, thinking against max_tokens and
// tool_choice, limits of the model named). Content blocks other than text and tools are checked in
// content.ts. Fields the simulator does not act on (metadata, service_tier, ...) are accepted.
import { cacheControl, documentBlock, fail, imageBlock, isObj, RequestInvalid, textBlock, withCache, type Obj } from './content';
import type { ModelCatalog } from './models';
import { thinkingSignature } from './thinking';
import type {
  JsonSchema,
  MessagesRequest,
  ModelSpec,
  OutputConfig,
  RequestBlock,
  RequestMessage,
  TextBlock,
  ThinkingConfig,
  ToolChoice,
  ToolDef,
} from './types';

export { RequestInvalid };

/** The request names a model the simulator does not serve (404 not_found_error). */
export class ModelNotFound extends Error {
  override name = 'ModelNotFound';
}

/** Most blocks a request may mark with cache_control, the top-level marker included. */
export const MAX_CACHE_BREAKPOINTS = 4;

function toolResultContent(v: unknown, path: string): NonNullable<Extract<RequestBlock, { type: 'tool_result' }>['content']> {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) fail(`${path}: Input should be a valid string or list`);
  return v.map((c, i) => {
    const p = `${path}.${i}`;
    if (isObj(c) && c.type === 'image') return imageBlock(c, p);
    if (isObj(c) && c.type === 'document') return documentBlock(c, p);
    return textBlock(c, p);
  });
}

function block(v: unknown, path: string): RequestBlock {
  if (!isObj(v)) fail(`${path}: Input should be a valid dictionary`);
  switch (v.type) {
    case 'text':
      return textBlock(v, path);
    case 'image':
      return imageBlock(v, path);
    case 'document':
      return documentBlock(v, path);
    case 'tool_use':
      if (typeof v.id !== 'string' || v.id === '') fail(`${path}.id: Field required`);
      if (typeof v.name !== 'string' || v.name === '') fail(`${path}.name: Field required`);
      if (!isObj(v.input)) fail(`${path}.input: Input should be a valid dictionary`);
      return withCache({ type: 'tool_use', id: v.id, name: v.name, input: v.input }, v, path);
    case 'tool_result': {
      if (typeof v.tool_use_id !== 'string' || v.tool_use_id === '') fail(`${path}.tool_use_id: Field required`);
      const content = v.content === undefined ? undefined : toolResultContent(v.content, `${path}.content`);
      if (v.is_error !== undefined && typeof v.is_error !== 'boolean') fail(`${path}.is_error: Input should be a valid boolean`);
      return withCache(
        { type: 'tool_result', tool_use_id: v.tool_use_id, content, is_error: v.is_error === true ? true : undefined },
        v,
        path,
      );
    }
    case 'thinking':
      if (typeof v.thinking !== 'string') fail(`${path}.thinking: Field required`);
      if (typeof v.signature !== 'string') fail(`${path}.signature: Field required`);
      if (v.signature !== thinkingSignature(v.thinking)) fail(`${path}: Invalid \`signature\` in \`thinking\` block`);
      return { type: 'thinking', thinking: v.thinking, signature: v.signature };
    case 'redacted_thinking':
      if (typeof v.data !== 'string' || v.data === '') fail(`${path}.data: Field required`);
      return { type: 'redacted_thinking', data: v.data };
    default:
      fail(
        `${path}.type: Input tag '${String(v.type)}' found using 'type' does not match any of the expected tags: 'text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'`,
      );
  }
}

const USER_ONLY = new Set(['tool_result', 'image', 'document']);
const ASSISTANT_ONLY = new Set(['tool_use', 'thinking', 'redacted_thinking']);

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
  blocks.forEach((b, j) => {
    if (v.role === 'assistant' && USER_ONLY.has(b.type)) fail(`${path}.content.${j}: ${b.type} blocks are only allowed in user messages`);
    if (v.role === 'user' && ASSISTANT_ONLY.has(b.type))
      fail(`${path}.content.${j}: ${b.type} blocks are only allowed in assistant messages`);
  });
  return { role: v.role, content: blocks };
}

const blocksOf = (m: RequestMessage | undefined): RequestBlock[] => (m && Array.isArray(m.content) ? m.content : []);

/** Consecutive messages of one role are one turn, as the API documents; their blocks are joined in order. */
function combineTurns(messages: RequestMessage[]): RequestMessage[] {
  const out: RequestMessage[] = [];
  for (const m of messages) {
    const prev = out.at(-1);
    if (prev?.role !== m.role) {
      out.push(m);
      continue;
    }
    const asBlocks = (c: RequestMessage['content']): RequestBlock[] => (typeof c === 'string' ? (c ? [{ type: 'text', text: c }] : []) : c);
    out[out.length - 1] = { role: m.role, content: [...asBlocks(prev.content), ...asBlocks(m.content)] };
  }
  return out;
}

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
  return withCache({ name: v.name, description: v.description, input_schema: v.input_schema as JsonSchema }, v, path);
}

function toolChoice(v: unknown, tools: ToolDef[] | undefined): ToolChoice | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) fail('tool_choice: Input should be a valid dictionary');
  if (tools === undefined || tools.length === 0) {
    if (v.type !== 'none' && v.type !== 'auto') fail('tool_choice: tool_choice may only be specified while providing tools');
  }
  const dpt = v.disable_parallel_tool_use;
  if (dpt !== undefined && typeof dpt !== 'boolean') fail('tool_choice.disable_parallel_tool_use: Input should be a valid boolean');
  const extra = dpt === undefined ? {} : { disable_parallel_tool_use: dpt };
  if (v.type === 'auto' || v.type === 'any') return { type: v.type, ...extra };
  if (v.type === 'none') return { type: 'none' };
  if (v.type === 'tool') {
    if (typeof v.name !== 'string') fail('tool_choice.name: Field required');
    if (!tools?.some((t) => t.name === v.name)) fail(`tool_choice: Tool '${v.name}' not found in provided tools`);
    return { type: 'tool', name: v.name, ...extra };
  }
  fail("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'");
}

function numberIn(body: Obj, key: string, min: number, max: number, integer = false): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${key}: Input should be a valid number`);
  if (integer && !Number.isInteger(v)) fail(`${key}: Input should be a valid integer`);
  if (v < min) fail(`${key}: Input should be greater than or equal to ${min}`);
  if (v > max) fail(`${key}: Input should be less than or equal to ${max}`);
  return v;
}

function stopSequences(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) fail('stop_sequences: Input should be a valid list');
  return v.map((s, i) => {
    if (typeof s !== 'string') fail(`stop_sequences.${i}: Input should be a valid string`);
    if (s.trim() === '') fail('stop_sequences: each stop sequence must contain non-whitespace');
    return s;
  });
}

function thinkingConfig(v: unknown): ThinkingConfig | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) fail('thinking: Input should be a valid dictionary');
  const display = v.display;
  if (display !== undefined && display !== null && display !== 'summarized' && display !== 'omitted')
    fail(`thinking.${String(v.type)}.display: Input should be 'summarized' or 'omitted'`);
  const shown: { display?: 'summarized' | 'omitted' } = display === 'omitted' || display === 'summarized' ? { display } : {};
  switch (v.type) {
    case 'disabled':
      return { type: 'disabled' };
    case 'adaptive':
      return { type: 'adaptive', ...shown };
    case 'enabled': {
      const budget = v.budget_tokens;
      if (budget === undefined) fail('thinking.enabled.budget_tokens: Field required');
      if (typeof budget !== 'number' || !Number.isInteger(budget)) fail('thinking.enabled.budget_tokens: Input should be a valid integer');
      if (budget < 1024) fail('thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
      return { type: 'enabled', budget_tokens: budget, ...shown };
    }
    default:
      fail("thinking.type: Input should be 'enabled', 'adaptive' or 'disabled'");
  }
}

function outputConfig(v: unknown): OutputConfig | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) fail('output_config: Input should be a valid dictionary');
  const out: OutputConfig = {};
  if (v.format !== undefined && v.format !== null) {
    if (!isObj(v.format) || v.format.type !== 'json_schema') fail("output_config.format.type: Input should be 'json_schema'");
    if (!isObj(v.format.schema)) fail('output_config.format.schema: Field required');
    out.format = { type: 'json_schema', schema: v.format.schema };
  }
  if (v.effort !== undefined && v.effort !== null) {
    if (!['low', 'medium', 'high', 'xhigh', 'max'].includes(v.effort as string))
      fail("output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'");
    out.effort = v.effort as OutputConfig['effort'];
  }
  return out;
}

/** The rules thinking adds: the model must offer the mode, budget under max_tokens, no sampling tweaks or forced tools. */
function checkThinking(req: MessagesRequest, spec: ModelSpec | undefined, requireMaxTokens: boolean): void {
  const t = req.thinking;
  if (!t || t.type === 'disabled') return;
  if (spec && !spec.thinking[t.type]) fail(`thinking.type: '${t.type}' is not supported by ${req.model}`);
  if (t.type === 'enabled' && requireMaxTokens && req.max_tokens <= t.budget_tokens)
    fail('`max_tokens` must be greater than `thinking.budget_tokens`');
  if (req.temperature !== undefined && req.temperature !== 1) fail('`temperature` may only be set to 1 when thinking is enabled');
  if (req.top_k !== undefined) fail('`top_k` may not be set when thinking is enabled');
  if (req.top_p !== undefined && req.top_p < 0.95) fail('`top_p` must be between 0.95 and 1 when thinking is enabled');
  if (req.tool_choice?.type === 'any' || req.tool_choice?.type === 'tool')
    fail('Thinking may not be enabled when tool_choice forces tool use.');
  // In a tool loop the assistant turn that made the calls must start with its thinking.
  const last = req.messages.length - 1;
  const lastUser = req.messages[last];
  const turn = req.messages[last - 1];
  if (lastUser?.role === 'user' && blocksOf(lastUser).some((b) => b.type === 'tool_result') && turn?.role === 'assistant') {
    const first = blocksOf(turn)[0];
    if (first && first.type !== 'thinking' && first.type !== 'redacted_thinking') {
      fail(
        `messages.${last - 1}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${first.type}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceding the lastmost set of \`tool_use\` and \`tool_result\` blocks).`,
      );
    }
  }
}

/** Breakpoints in render order (tools, system, messages), the top-level marker last; at most four, and no 1h after a 5m. */
function checkCacheControl(req: MessagesRequest): void {
  const marks = [
    ...(req.tools ?? []).map((t) => t.cache_control),
    ...(Array.isArray(req.system) ? req.system.map((b) => b.cache_control) : []),
    ...req.messages.flatMap((m) => blocksOf(m).flatMap((b) => ('cache_control' in b ? [b.cache_control] : []))),
    req.cache_control,
  ].filter((c) => c !== undefined);
  if (marks.length > MAX_CACHE_BREAKPOINTS)
    fail(`A maximum of ${MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found ${marks.length}.`);
  const firstShort = marks.findIndex((c) => (c.ttl ?? '5m') === '5m');
  if (firstShort !== -1 && marks.slice(firstShort).some((c) => c.ttl === '1h'))
    fail("cache_control: a breakpoint with ttl '1h' must not come after one with ttl '5m'");
}

export interface ValidateOptions {
  /** `count_tokens` requests have no max_tokens. */
  requireMaxTokens?: boolean;
  /** Models served; when given, unknown models fail with ModelNotFound and limits are checked. */
  models?: ModelCatalog;
}

/** Checks a parsed JSON body and returns it typed. */
export function validateMessagesRequest(body: unknown, opts: ValidateOptions = {}): MessagesRequest {
  const requireMaxTokens = opts.requireMaxTokens ?? true;
  if (!isObj(body)) fail('Request body must be a JSON object');
  if (typeof body.model !== 'string' || body.model === '') fail('model: Field required');
  let maxTokens = 1;
  if (requireMaxTokens) {
    if (body.max_tokens === undefined) fail('max_tokens: Field required');
    if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens)) fail('max_tokens: Input should be a valid integer');
    if (body.max_tokens < 0) fail('max_tokens: Input should be greater than or equal to 0');
    maxTokens = body.max_tokens;
  }
  if (!Array.isArray(body.messages)) fail('messages: Field required');
  if (body.messages.length === 0) fail('messages: at least one message is required');
  const messages = combineTurns(body.messages.map(message));
  if (messages[0]?.role !== 'user') fail('messages: first message must use the "user" role');
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

  const request: MessagesRequest = {
    model: body.model,
    max_tokens: maxTokens,
    messages,
    system,
    tools,
    tool_choice: toolChoice(body.tool_choice, tools),
    stream: body.stream === true,
  };
  const optional: Partial<MessagesRequest> = {
    stop_sequences: stopSequences(body.stop_sequences),
    thinking: thinkingConfig(body.thinking),
    output_config: outputConfig(body.output_config),
    temperature: numberIn(body, 'temperature', 0, 1),
    top_p: numberIn(body, 'top_p', 0, 1),
    top_k: numberIn(body, 'top_k', 0, Number.MAX_SAFE_INTEGER, true),
    cache_control: cacheControl(body.cache_control, 'cache_control'),
  };
  if (isObj(body.metadata) && typeof body.metadata.user_id === 'string') optional.metadata = { user_id: body.metadata.user_id };
  else if (body.metadata !== undefined && body.metadata !== null && !isObj(body.metadata))
    fail('metadata: Input should be a valid dictionary');
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) (request as unknown as Obj)[key] = value;

  checkCacheControl(request);
  const spec = opts.models?.get(request.model);
  if (opts.models && !spec) throw new ModelNotFound(`model: ${request.model}`);
  if (spec && requireMaxTokens && maxTokens > spec.maxOutputTokens)
    fail(`max_tokens: ${maxTokens} > ${spec.maxOutputTokens}, which is the maximum allowed number of output tokens for ${request.model}`);
  checkThinking(request, spec, requireMaxTokens);
  return request;
}
