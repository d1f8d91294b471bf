// The Messages API surface the simulator imitates beyond plain text and tools, driven through the
// real SDK: the model table (404, limits, /v1/models), parameter ranges, stop sequences, the
// max_tokens cut-off, extended thinking, tool_choice plumbing, and image and document blocks.
import Anthropic, { BadRequestError, NotFoundError } from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PRICES, priceOf, priceTable, usdFor } from '../src/shared/pricing';
import { ConfigInvalid, parseOptions } from '../src/simulator';
import { applyMaxTokens, applyStopSequences } from '../src/simulator/generation';
import { ModelCatalog } from '../src/simulator/models';
import { validateMessagesRequest } from '../src/simulator/validate';
import { makePdf, textContent } from './fixtures/ingest/make-pdf';
import { ask, caught, MODEL, rawEvents, startSim, textOf } from './simulator-helpers';

const TOOLS: Anthropic.Tool[] = [
  {
    name: 'search_docs',
    description: 'Search the company handbook (refund policy, shipping, security, expenses) and return the best passages.',
    input_schema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
  },
  {
    name: 'read_file',
    description: 'Read a text file from the allowed workspace directory.',
    input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
];

/** Parameters the SDK no longer types but the API still range-checks. */
const loose = (extra: Record<string, unknown>): Anthropic.MessageCreateParamsNonStreaming =>
  ({ ...ask('hi'), ...extra }) as Anthropic.MessageCreateParamsNonStreaming;

async function badRequest(p: Promise<unknown>): Promise<string> {
  const err = await caught(p);
  expect(err).toBeInstanceOf(BadRequestError);
  expect((err as BadRequestError).type).toBe('invalid_request_error');
  return (err as BadRequestError).message;
}

// A 1×1 PNG and a 2×2 GIF, real files.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const GIF = Buffer.from('GIF89a\x02\x00\x02\x00\x00\x00\x00;', 'latin1').toString('base64');

describe('the model table', () => {
  it('answers an unknown model with 404 not_found_error naming it, and records it', async () => {
    const { sim, client } = await startSim();
    const err = await caught(client.messages.create(ask('hi', { model: 'claude-imaginary-9' })));
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).type).toBe('not_found_error');
    expect((err as NotFoundError).message).toMatch(/model: claude-imaginary-9/);
    expect(
      await caught(client.messages.countTokens({ model: 'claude-imaginary-9', messages: [{ role: 'user', content: 'hi' }] })),
    ).toBeInstanceOf(NotFoundError);
    expect(sim.ledger()).toMatchObject([{ outcome: 'not_found', status: 404, model: 'claude-imaginary-9' }]);
  });

  it('serves aliases and dated ids, and models added in the configuration', async () => {
    const { client } = await startSim({ models: { 'claude-tiny': { maxOutputTokens: 50, displayName: 'Tiny' } } });
    for (const model of ['claude-haiku-4-5', 'claude-haiku-4-5-20251001', 'claude-sonnet-4-6', 'claude-tiny'])
      expect((await client.messages.create(ask('hi', { model, max_tokens: 40 }))).stop_reason).not.toBeNull();
    expect(await badRequest(client.messages.create(ask('hi', { model: 'claude-tiny', max_tokens: 51 })))).toMatch(
      /max_tokens: 51 > 50, which is the maximum allowed number of output tokens for claude-tiny/,
    );
  });

  it('rejects max_tokens above the model limit with the API message', async () => {
    const { client } = await startSim();
    // The SDK insists on streaming for requests this long.
    expect(await badRequest(client.messages.stream(ask('hi', { max_tokens: 64_001 })).finalMessage())).toMatch(
      /^400 .*max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens for claude-haiku-4-5/,
    );
    expect((await client.messages.stream(ask('hi', { max_tokens: 64_000 })).finalMessage()).stop_reason).toBe('end_turn');
  });

  it('rejects a prompt longer than the context window', async () => {
    const { client } = await startSim({ models: { 'claude-tiny': { contextWindow: 100 } } });
    expect(await badRequest(client.messages.create(ask('x'.repeat(404), { model: 'claude-tiny', max_tokens: 10 })))).toMatch(
      /prompt is too long: 101 tokens > 100 maximum/,
    );
  });

  it('lists models page by page and retrieves one by id or alias', async () => {
    const { client } = await startSim({ models: { 'claude-tiny': {} } });
    const first = await client.models.list({ limit: 3 });
    expect(first.data).toHaveLength(3);
    expect(first.has_more).toBe(true);
    expect(first.first_id).toBe(first.data[0]!.id);
    expect(first.last_id).toBe(first.data[2]!.id);
    const all: string[] = [];
    for await (const m of client.models.list({ limit: 2 })) all.push(m.id);
    expect(all[0]).toBe('claude-tiny');
    expect(all).toContain('claude-haiku-4-5-20251001');
    expect(all).toContain('claude-sonnet-4-6');
    expect(new Set(all).size).toBe(all.length);
    const second = await client.models.list({ limit: 3, after_id: first.last_id! });
    expect(second.data[0]!.id).toBe(all[3]);
    const back = await client.models.list({ limit: 2, before_id: second.data[0]!.id });
    expect(back.data.map((m) => m.id)).toEqual(all.slice(1, 3));

    const haiku = await client.models.retrieve('claude-haiku-4-5');
    expect(haiku).toMatchObject({
      type: 'model',
      id: 'claude-haiku-4-5-20251001',
      display_name: 'Claude Haiku 4.5',
      max_tokens: 64_000,
      max_input_tokens: 200_000,
      line: 'haiku',
    });
    expect(haiku.capabilities?.thinking.types.enabled.supported).toBe(true);
    expect((await client.models.retrieve('claude-opus-4-8')).capabilities?.thinking.types.enabled.supported).toBe(false);
    expect(await caught(client.models.retrieve('claude-imaginary-9'))).toBeInstanceOf(NotFoundError);
    expect(await badRequest(client.models.list({ limit: 0 }))).toMatch(/limit/);
  });

  it("holds each model's personality and Braid's list price", () => {
    const table = new ModelCatalog();
    for (const id of table.ids()) {
      // The simulated dollars are what Braid charges: the built-in prices are pricing.ts's.
      expect(table.get(id)!.price, id).toBeDefined();
      expect(table.get(id)!.price).toEqual(priceOf(id, DEFAULT_PRICES));
    }
    const [haiku, sonnet, opus] = ['claude-haiku-4-5', 'claude-sonnet-4-6', 'claude-opus-4-8'].map((m) => table.get(m)!);
    expect(haiku!.errorRate).toBeGreaterThan(sonnet!.errorRate);
    expect(sonnet!.errorRate).toBeGreaterThan(opus!.errorRate);
    expect(haiku!.quality).toBeLessThan(opus!.quality);
    // A configured row: a line's personality by name, fields given, a price in BRAID_MODEL_PRICES' shape.
    const configured = new ModelCatalog({
      'claude-haiku-9': {},
      'my-model': { errorRate: 0.5, price: { input: 2, output: 8 } },
      'claude-sonnet-4-6': { quality: 0.1 },
    });
    expect(configured.get('claude-haiku-9')).toMatchObject({ errorRate: haiku!.errorRate, quality: haiku!.quality });
    expect(configured.get('claude-haiku-9')!.price).toBeUndefined();
    expect(configured.get('my-model')).toMatchObject({
      errorRate: 0.5,
      quality: 0.8,
      price: priceTable({ 'my-model': { input: 2, output: 8 } })['my-model'],
    });
    expect(configured.get('claude-sonnet-4-6')).toMatchObject({ quality: 0.1, errorRate: sonnet!.errorRate, price: sonnet!.price });
  });

  it('serves configured models with their error rate and price, also when added at run time', async () => {
    const labels = 'Classify into one of: billing, technical_issue, account. Answer with the label only.\n\nMessage: I was charged twice.';
    const { sim, client } = await startSim({
      models: { 'always-wrong': { errorRate: 1, price: { input: 2, output: 8 } }, 'no-price': {} },
    });
    expect(textOf(await client.messages.create(ask(labels)))).toBe('billing');
    const wrong = await client.messages.create(ask(labels, { model: 'always-wrong' }));
    expect(['technical_issue', 'account']).toContain(textOf(wrong));
    await client.messages.create(ask(labels, { model: 'no-price' }));
    const [, w, n] = sim.ledger();
    const table = priceTable({ 'always-wrong': { input: 2, output: 8 } });
    expect(w!.costUsd).toBe(
      usdFor('always-wrong', { inputTokens: wrong.usage.input_tokens, outputTokens: wrong.usage.output_tokens }, { table }),
    );
    expect(w!.costUsd).toBeGreaterThan(0);
    expect(n!.costUsd).toBeUndefined();

    expect(await caught(client.messages.create(ask(labels, { model: 'late-model' })))).toBeInstanceOf(NotFoundError);
    sim.configure({ models: { 'late-model': { errorRate: 1 } } });
    expect(['technical_issue', 'account']).toContain(textOf(await client.messages.create(ask(labels, { model: 'late-model' }))));
    // The table is rebuilt from the new rows: one configured before is gone, the built-in ones stay.
    expect(await caught(client.messages.create(ask(labels, { model: 'always-wrong' })))).toBeInstanceOf(NotFoundError);
    expect(textOf(await client.messages.create(ask(labels)))).toBe('billing');
  });
});

describe('parameter ranges', () => {
  it.each([
    [{ temperature: 1.5 }, /temperature: Input should be less than or equal to 1/],
    [{ temperature: -0.1 }, /temperature: Input should be greater than or equal to 0/],
    [{ temperature: 'hot' }, /temperature: Input should be a valid number/],
    [{ top_p: 1.01 }, /top_p: Input should be less than or equal to 1/],
    [{ top_k: -1 }, /top_k: Input should be greater than or equal to 0/],
    [{ top_k: 2.5 }, /top_k: Input should be a valid integer/],
    [{ max_tokens: -1 }, /max_tokens: Input should be greater than or equal to 0/],
    [{ stop_sequences: ['ok', '  '] }, /stop_sequences: each stop sequence must contain non-whitespace/],
    [{ stop_sequences: 'END' }, /stop_sequences: Input should be a valid list/],
    [{ tool_choice: { type: 'any' } }, /tool_choice may only be specified while providing tools/],
    [
      { tools: TOOLS, tool_choice: { type: 'auto', disable_parallel_tool_use: 'yes' } },
      /disable_parallel_tool_use: Input should be a valid boolean/,
    ],
    [{ output_config: { format: { type: 'json_object' } } }, /output_config.format.type/],
    [{ cache_control: { type: 'persistent' } }, /cache_control.type: Input should be 'ephemeral'/],
  ])('rejects %j', async (extra, message) => {
    const { client } = await startSim();
    expect(await badRequest(client.messages.create(loose(extra)))).toMatch(message);
  });

  it('accepts in-range sampling parameters', async () => {
    const { client } = await startSim();
    const msg = await client.messages.create(loose({ temperature: 0, top_p: 1, top_k: 40, metadata: { user_id: 'u-1' } }));
    expect(msg.stop_reason).toBe('end_turn');
  });

  it('hands tool_choice, disable_parallel_tool_use and the output schema to the planner', () => {
    const schema = { type: 'object', properties: { label: { type: 'string', enum: ['a', 'b'] } }, required: ['label'] };
    const req = validateMessagesRequest({
      ...ask('Pick one'),
      tools: TOOLS,
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      output_config: { format: { type: 'json_schema', schema } },
      stop_sequences: ['END'],
    });
    expect(req.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
    expect(req.output_config).toEqual({ format: { type: 'json_schema', schema } });
    expect(req.stop_sequences).toEqual(['END']);
  });
});

describe('conversation turns', () => {
  it('combines consecutive turns of one role, as the API documents', async () => {
    const { client } = await startSim();
    const msg = await client.messages.create({
      ...ask('x'),
      messages: [
        { role: 'user', content: 'Here is a note about axolotls.' },
        { role: 'user', content: [{ type: 'text', text: 'Axolotls regrow their limbs. Tell me about axolotls.' }] },
      ],
    });
    expect(msg.stop_reason).toBe('end_turn');
    expect(textOf(msg).toLowerCase()).toContain('axolotls');
    const req = validateMessagesRequest({
      ...ask('x'),
      tools: TOOLS,
      messages: [
        { role: 'user', content: 'Read a.md' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'read_file', input: { path: 'a.md' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'A' }] },
        { role: 'user', content: 'And summarise it.' },
      ],
    });
    expect(req.messages).toHaveLength(3);
    expect(req.messages[2]!.content).toEqual([
      { type: 'tool_result', tool_use_id: 'toolu_1', content: 'A' },
      { type: 'text', text: 'And summarise it.' },
    ]);
  });
});

describe('stop sequences', () => {
  it('stops at the earliest stop sequence, non-streaming and streaming alike', async () => {
    const { sim, client } = await startSim();
    const params = ask('Say it.\n#sim text=Alpha beta STOP gamma HALT delta', { stop_sequences: ['HALT', 'STOP'] });
    const msg = await client.messages.create(params);
    expect(msg.content).toEqual([{ type: 'text', text: 'Alpha beta ' }]);
    expect(msg).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'STOP' });
    const events = await rawEvents(client, params);
    const delta = events.find((e): e is Anthropic.RawMessageDeltaEvent => e.type === 'message_delta')!;
    expect(delta.delta).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'STOP' });
    expect((await client.messages.stream(params).finalMessage()).content).toEqual(msg.content);
    expect(sim.ledger()[0]).toMatchObject({ stopReason: 'stop_sequence', stopSequence: 'STOP' });
  });

  it('leaves stop_sequence null when no sequence occurs', async () => {
    const { client } = await startSim();
    const msg = await client.messages.create(ask('Say it.\n#sim text=Nothing to see', { stop_sequences: ['STOP'] }));
    expect(msg).toMatchObject({ stop_reason: 'end_turn', stop_sequence: null, content: [{ type: 'text', text: 'Nothing to see' }] });
  });

  it('never lets a call after a fired stop sequence through', () => {
    const content = [
      { type: 'text' as const, text: 'Let me check. </call>' },
      { type: 'tool_use' as const, id: 't1', name: 'read_file', input: { path: 'a' } },
    ];
    expect(applyStopSequences(content, ['</call>', 'check'])).toEqual({ content: [{ type: 'text', text: 'Let me ' }], stop: 'check' });
    expect(applyStopSequences(content, ['abc', 'ab'])).toEqual({ content, stop: null });
    // Two sequences starting at the same place: the shorter one is complete first.
    expect(applyStopSequences([{ type: 'text', text: 'xx abc' }], ['abc', 'ab']).stop).toBe('ab');
  });
});

describe('max_tokens cuts the answer off', () => {
  it('cuts text at exactly max_tokens with stop_reason max_tokens', async () => {
    const { client } = await startSim();
    const full = await client.messages.create(ask('Describe caching.\n#sim answer_tokens=300'));
    const cut = await client.messages.create(ask('Describe caching.\n#sim answer_tokens=300', { max_tokens: 37 }));
    expect(cut.stop_reason).toBe('max_tokens');
    expect(cut.usage.output_tokens).toBe(37);
    expect(textOf(cut)).toBe(textOf(full).slice(0, 37 * 4));
    // Not a shortened answer that happens to fit: the default length no longer shrinks to max_tokens.
    const natural = await client.messages.create(ask('Explain how queues work.'));
    const small = await client.messages.create(ask('Explain how queues work.', { max_tokens: 20 }));
    expect(natural.usage.output_tokens).toBeGreaterThan(20);
    expect(small.stop_reason).toBe('max_tokens');
    expect(textOf(natural).startsWith(textOf(small))).toBe(true);
  });

  it('cuts a tool_use block mid-JSON; the stream and the JSON reply agree', async () => {
    const { client } = await startSim();
    const question = 'What does the handbook say about refunds for damaged items, and what is in notes/q3-plan.md?';
    const full = await client.messages.create(ask(question, { tools: TOOLS }));
    const uses = full.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    expect(uses.map((u) => u.name)).toEqual(['search_docs', 'read_file']);
    // Room for the preface, the first call and a few characters of the second call's input.
    const preface = textOf(full);
    const firstCost = Math.ceil((uses[0]!.name.length + JSON.stringify(uses[0]!.input).length) / 4);
    const budget = Math.ceil(preface.length / 4) + firstCost + Math.ceil(('read_file'.length + 12) / 4);
    const params = ask(question, { tools: TOOLS, max_tokens: budget });
    const cut = await client.messages.create(params);
    expect(cut.stop_reason).toBe('max_tokens');
    expect(cut.usage.output_tokens).toBe(budget);
    const cutUses = cut.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    expect(cutUses).toHaveLength(2);
    expect(cutUses[0]).toEqual(uses[0]);
    expect(cutUses[1]!.id).toBe(uses[1]!.id);
    expect(cutUses[1]!.input).not.toEqual(uses[1]!.input);

    const events = await rawEvents(client, params);
    const json = events
      .filter((e) => e.type === 'content_block_delta' && e.index === 2 && e.delta.type === 'input_json_delta')
      .map((e) => (e as Anthropic.RawContentBlockDeltaEvent & { delta: Anthropic.InputJSONDelta }).delta.partial_json)
      .join('');
    expect(JSON.stringify(uses[1]!.input).startsWith(json)).toBe(true);
    expect(() => JSON.parse(json)).toThrow();
    const streamed = await client.messages.stream(params).finalMessage();
    expect(streamed.content).toEqual(cut.content);
    expect(streamed.stop_reason).toBe('max_tokens');
  });

  it('applies max_tokens after stop sequences, and max_tokens 0 returns nothing', () => {
    const thinking = { type: 'thinking' as const, thinking: 'a'.repeat(40), signature: 's' };
    const cut = applyMaxTokens([thinking, { type: 'text', text: 'b'.repeat(40) }], 'end_turn', 12);
    expect(cut.stopReason).toBe('max_tokens');
    expect(cut.content[1]).toEqual({ type: 'text', text: 'b'.repeat(8) });
    expect(applyMaxTokens([{ type: 'text', text: 'short' }], 'end_turn', 100)).toMatchObject({ stopReason: 'end_turn', outputTokens: 2 });
  });

  it('pre-warms with max_tokens 0: an empty reply', async () => {
    const { client } = await startSim();
    const msg = await client.messages.create(ask('Warm the cache.', { max_tokens: 0 }));
    expect(msg).toMatchObject({ content: [], stop_reason: 'max_tokens' });
    expect(msg.usage.output_tokens).toBe(0);
    const streamed = await client.messages.stream(ask('Warm the cache.', { max_tokens: 0 })).finalMessage();
    expect(streamed.content).toEqual([]);
  });
});

describe('extended thinking', () => {
  const thinking = { type: 'enabled' as const, budget_tokens: 2048 };

  it('puts a signed thinking block first, streamed as thinking and signature deltas', async () => {
    const { client } = await startSim();
    const params = ask('Why do durable workflows survive crashes?', { max_tokens: 4096, thinking });
    const msg = await client.messages.create(params);
    const [first, second] = msg.content;
    expect(first?.type).toBe('thinking');
    const block = first as Anthropic.ThinkingBlock;
    expect(block.thinking).toMatch(/durable workflows survive crashes/);
    expect(block.signature).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(second?.type).toBe('text');
    const withoutThinking = await client.messages.create(ask('Why do durable workflows survive crashes?', { max_tokens: 4096 }));
    expect(msg.usage.output_tokens).toBe(withoutThinking.usage.output_tokens + Math.ceil(block.thinking.length / 4));

    const events = await rawEvents(client, params);
    const deltaTypes = events.flatMap((e) => (e.type === 'content_block_delta' && e.index === 0 ? [e.delta.type] : []));
    expect(deltaTypes.at(-1)).toBe('signature_delta');
    expect(deltaTypes.slice(0, -1).every((t) => t === 'thinking_delta')).toBe(true);
    expect(deltaTypes.length).toBeGreaterThanOrEqual(2);
    const start = events.find((e) => e.type === 'content_block_start' && e.index === 0) as Anthropic.RawContentBlockStartEvent;
    expect(start.content_block).toEqual({ type: 'thinking', thinking: '', signature: '' });
    expect((await client.messages.stream(params).finalMessage()).content).toEqual(msg.content);
  });

  it('accepts thinking blocks back in history, and rejects a tampered signature', async () => {
    const { client } = await startSim();
    const first = await client.messages.create(ask('Read notes/q3-plan.md', { max_tokens: 4096, thinking, tools: TOOLS }));
    expect(first.content.map((b) => b.type)).toEqual(['thinking', 'text', 'tool_use']);
    const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')!;
    const history = (assistant: Anthropic.ContentBlockParam[]): Anthropic.MessageCreateParamsNonStreaming => ({
      ...ask('Read notes/q3-plan.md', { max_tokens: 4096, thinking, tools: TOOLS }),
      messages: [
        { role: 'user', content: 'Read notes/q3-plan.md' },
        { role: 'assistant', content: assistant },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'Q3: ship the simulator.' }] },
      ],
    });
    const second = await client.messages.create(history(first.content as Anthropic.ContentBlockParam[]));
    expect(second.stop_reason).toBe('end_turn');
    expect(textOf(second)).toContain('Q3: ship the simulator.');

    const [th, ...rest] = first.content as Anthropic.ContentBlockParam[];
    const tampered = { ...(th as Anthropic.ThinkingBlockParam), thinking: 'I changed my mind.' };
    expect(await badRequest(client.messages.create(history([tampered, ...rest])))).toMatch(/Invalid `signature` in `thinking` block/);
    // In a tool loop with thinking on, the assistant turn must start with its thinking.
    expect(await badRequest(client.messages.create(history(rest)))).toMatch(/Expected `thinking` or `redacted_thinking`, but found `text`/);
    // Redacted thinking stands in for thinking.
    expect((await client.messages.create(history([{ type: 'redacted_thinking', data: 'EqQBCgIYAhIM' }, ...rest]))).stop_reason).toBe(
      'end_turn',
    );
    // Without thinking, earlier thinking blocks are accepted and not needed.
    const plain = { ...history(rest) };
    delete plain.thinking;
    expect((await client.messages.create(plain)).stop_reason).toBe('end_turn');
  });

  it.each([
    [{ thinking: { type: 'enabled', budget_tokens: 1000 } }, /budget_tokens: Input should be greater than or equal to 1024/],
    [
      { thinking: { type: 'enabled', budget_tokens: 2048 }, max_tokens: 2048 },
      /`max_tokens` must be greater than `thinking.budget_tokens`/,
    ],
    [
      { thinking: { type: 'enabled', budget_tokens: 2048 }, temperature: 0.5 },
      /`temperature` may only be set to 1 when thinking is enabled/,
    ],
    [{ thinking: { type: 'enabled', budget_tokens: 2048 }, top_k: 5 }, /`top_k` may not be set/],
    [
      { thinking: { type: 'enabled', budget_tokens: 2048 }, tools: TOOLS, tool_choice: { type: 'any' } },
      /Thinking may not be enabled when tool_choice forces tool use/,
    ],
    [{ thinking: { type: 'enabled', budget_tokens: 2048 }, model: 'claude-opus-4-8' }, /'enabled' is not supported by claude-opus-4-8/],
    [{ thinking: { type: 'adaptive' } }, /'adaptive' is not supported by claude-haiku-4-5/],
    [{ thinking: { type: 'sometimes' } }, /thinking.type/],
  ])('rejects thinking settings the API rejects (%#)', async (extra, message) => {
    const { client } = await startSim();
    expect(await badRequest(client.messages.create(loose({ max_tokens: 4096, ...extra })))).toMatch(message);
  });

  it('thinks adaptively where the model offers it, and bills omitted thinking', async () => {
    const { client } = await startSim();
    const adaptive = await client.messages.create(
      ask('Plan a launch.', { model: 'claude-opus-4-8', max_tokens: 4096, thinking: { type: 'adaptive' } }),
    );
    expect(adaptive.content[0]?.type).toBe('thinking');
    const shown = await client.messages.create(ask('Plan a launch.', { max_tokens: 4096, thinking }));
    const omitted = await client.messages.create(
      ask('Plan a launch.', { max_tokens: 4096, thinking: { ...thinking, display: 'omitted' } }),
    );
    expect((omitted.content[0] as Anthropic.ThinkingBlock).thinking).toBe('');
    expect(omitted.usage.output_tokens).toBe(shown.usage.output_tokens);
  });
});

describe('image and document blocks', () => {
  it('accepts base64 images whose bytes match their media type, and URLs', async () => {
    const { client } = await startSim();
    const image = (media_type: string, data: string): Anthropic.ContentBlockParam =>
      ({ type: 'image', source: { type: 'base64', media_type, data } }) as Anthropic.ContentBlockParam;
    const ok = await client.messages.create(
      ask([image('image/png', PNG), image('image/gif', GIF), { type: 'text', text: 'What is shown?' }]),
    );
    expect(ok.stop_reason).toBe('end_turn');
    const url = await client.messages.create(
      ask([
        { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
        { type: 'text', text: 'Describe.' },
      ]),
    );
    expect(url.stop_reason).toBe('end_turn');
    // A 1×1 PNG costs a token, not a full-size image's 1,600.
    const small = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: [image('image/png', PNG)] }] });
    expect(small.input_tokens).toBe(1);

    expect(await badRequest(client.messages.create(ask([image('image/jpeg', PNG)])))).toMatch(
      /specified using the image\/jpeg media type, but the image appears to be a image\/png image/,
    );
    expect(await badRequest(client.messages.create(ask([image('image/png', Buffer.from('not an image').toString('base64'))])))).toMatch(
      /Could not process image/,
    );
    expect(await badRequest(client.messages.create(ask([image('image/bmp', PNG)])))).toMatch(/media_type/);
    expect(await badRequest(client.messages.create(ask([{ type: 'image', source: { type: 'file', file_id: 'file_1' } }])))).toMatch(
      /Files API/,
    );
    expect(
      await badRequest(
        client.messages.create({
          ...ask('hi'),
          messages: [
            { role: 'user', content: 'hi' },
            { role: 'assistant', content: [image('image/png', PNG)] as Anthropic.ContentBlockParam[] },
          ],
        }),
      ),
    ).toMatch(/image blocks are only allowed in user messages/);
  });

  it('reads plain-text and PDF documents: their text reaches the answer and the token count', async () => {
    const { client } = await startSim();
    const text = 'Quokkas are small marsupials. Quokkas live on Rottnest Island and quokkas smile.';
    const doc: Anthropic.DocumentBlockParam = {
      type: 'document',
      source: { type: 'text', media_type: 'text/plain', data: text },
      title: 'Fauna',
      citations: { enabled: true },
    };
    const answer = await client.messages.create(ask([doc, { type: 'text', text: 'Summarise the document.' }]));
    expect(textOf(answer).toLowerCase()).toContain('quokkas');
    const counted = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: [doc] }] });
    expect(counted.input_tokens).toBe(Math.ceil(`Fauna\n\n${text}`.length / 4));

    const pdf = makePdf(textContent(['Axolotls regrow limbs.', 'Axolotls are salamanders; axolotls stay aquatic.'])).toString('base64');
    const pdfDoc: Anthropic.DocumentBlockParam = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf } };
    expect(textOf(await client.messages.create(ask([pdfDoc, { type: 'text', text: 'What is this about?' }]))).toLowerCase()).toContain(
      'axolotls',
    );
    const notPdf = {
      ...pdfDoc,
      source: { ...pdfDoc.source, data: Buffer.from('hello').toString('base64') },
    } as Anthropic.DocumentBlockParam;
    expect(await badRequest(client.messages.create(ask([notPdf])))).toMatch(/The PDF specified was not valid/);
    expect(
      await badRequest(
        client.messages.create(
          ask([{ ...doc, source: { type: 'text', media_type: 'text/html', data: 'x' } } as unknown as Anthropic.DocumentBlockParam]),
        ),
      ),
    ).toMatch(/media_type: Input should be 'text\/plain'/);
    const custom = await client.messages.create(
      ask([
        { type: 'document', source: { type: 'content', content: [{ type: 'text', text: 'Pangolins have scales. Pangolins eat ants.' }] } },
        { type: 'text', text: 'Tell me.' },
      ]),
    );
    expect(textOf(custom).toLowerCase()).toContain('pangolins');
  });
});

describe('configuration', () => {
  it('accepts the model table, batch timing, cache lifetimes and token budgets, and names a misspelt key', () => {
    const opts = {
      models: { 'claude-tiny': { maxOutputTokens: 100, contextWindow: 1000, thinking: { enabled: false, adaptive: true } } },
      batches: { processingMs: 10, expiresAfterMs: 1000, cancelMs: 5 },
      promptCache: { ttl5mMs: 100, ttl1hMs: 200 },
      rateLimits: { inputTokensPerMinute: 1000, outputTokensPerMinute: 500 },
    };
    expect(parseOptions(opts)).toEqual(opts);
    expect(() => parseOptions({ models: { 'claude-tiny': { maxOutputToken: 100 } } })).toThrow(ConfigInvalid);
    expect(() => parseOptions({ models: { 'claude-tiny': { maxOutputToken: 100 } } })).toThrow(/models.claude-tiny/);
    expect(() => parseOptions({ batches: { processingMs: -1 } })).toThrow(/batches.processingMs/);
    expect(
      parseOptions({ models: { m: { errorRate: 0.2, quality: 0.9, ttftMs: { uniform: [1, 2] }, price: { input: 1, output: 5 } } } }),
    ).toEqual({
      models: { m: { errorRate: 0.2, quality: 0.9, ttftMs: { uniform: [1, 2] }, price: { input: 1, output: 5 } } },
    });
    expect(() => parseOptions({ models: { m: { price: { inputPerMTok: 1, outputPerMTok: 5 } } } })).toThrow(/models.m.price/);
    expect(() => parseOptions({ models: { m: { errorRate: 1.5 } } })).toThrow(/models.m.errorRate/);
    expect(() => parseOptions({ rateLimits: { outputTokensPerMinute: 0 } })).toThrow(/rateLimits.outputTokensPerMinute/);
  });
});
