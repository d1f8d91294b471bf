// The Messages API features Braid relies on, asserted the same way against two targets: the
// simulator (always) and the real Anthropic API (only when ANTHROPIC_API_KEY is set). Running one
// set of assertions against both is what keeps the simulator from drifting from the API it
// imitates. Without a key the real-API half is skipped, and a notice says what was not checked.
//
// The real half spends a few cents: ~20k input tokens of the fast model (the prompt-caching test
// needs a prefix above the model's minimum cacheable length) and one small Message Batch, which
// the API may take minutes to process. Set BRAID_REAL_API_MODEL to try another model.
import Anthropic, { BadRequestError } from '@anthropic-ai/sdk';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBlocks, withCacheControl } from '../src/activities/llm';
import { MAP_SYSTEM, mapContent } from '../src/prompts/summarize';
import { Simulator } from '../src/simulator';
import { chunkDocument, readReply, sentenceSpans } from '../src/summarize/citations';

const KEY = process.env.ANTHROPIC_API_KEY;
const REAL_MODEL = process.env.BRAID_REAL_API_MODEL ?? 'claude-haiku-4-5';

const CHECKS = [
  'streaming to message_stop',
  'a tool_use round trip',
  'usage fields',
  'the error shape of a bad request',
  'count_tokens',
  'stop_sequences',
  'the max_tokens cut-off',
  'citations on document blocks',
  "summarize's map call and Braid's citation checks",
  'prompt-caching usage',
  'a Message Batches round trip',
];

if (!KEY) {
  console.warn(
    `[real-api] ANTHROPIC_API_KEY is not set: checked against the simulator only, NOT against the real Messages API: ${CHECKS.join(', ')}.`,
  );
}

interface Target {
  name: string;
  real: boolean;
  skip: boolean;
  model: string;
  /** Per-call timeout the tests allow this target. */
  timeoutMs: number;
  /** How long a Message Batch may take to end. */
  batchTimeoutMs: number;
}

const TARGETS: Target[] = [
  { name: 'simulator', real: false, skip: false, model: 'claude-haiku-4-5', timeoutMs: 30_000, batchTimeoutMs: 10_000 },
  { name: 'real API', real: true, skip: !KEY, model: REAL_MODEL, timeoutMs: 120_000, batchTimeoutMs: 30 * 60_000 },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Invalid everywhere: a tool_result with no tool_use before it. */
const ORPHAN_RESULT: Anthropic.MessageParam[] = [
  { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_missing', content: 'x' }] },
];

/** About `tokens` tokens of varied, plausible text. */
function handbook(tokens: number, nonce: string): string {
  const lines = [`Handbook edition ${nonce}.`];
  for (let i = 1; lines.join(' ').length < tokens * 4; i++) {
    lines.push(
      `Section ${i}: refunds for damaged items in region ${i % 7} are paid within ${10 + (i % 20)} days, and shipping is free above ${i * 3} euros.`,
    );
  }
  return lines.join(' ');
}

describe.each(TARGETS)('the Messages API as Braid uses it: $name', (target) => {
  let sim: Simulator | undefined;
  let client: Anthropic;
  const model = target.model;
  const text = (m: Anthropic.Message): string => m.content.map((b) => (b.type === 'text' ? b.text : '')).join('');

  beforeAll(async () => {
    if (target.skip) return;
    if (target.real)
      client = new Anthropic({ apiKey: KEY, baseURL: process.env.ANTHROPIC_BASE_URL, maxRetries: 3, timeout: target.timeoutMs });
    else {
      sim = await Simulator.start({ quiet: true, latency: { ttftMs: 0, perTokenMs: 0 }, batches: { processingMs: 300 } });
      client = new Anthropic({ apiKey: 'sim', baseURL: sim.url, maxRetries: 0 });
    }
  });
  afterAll(async () => {
    await sim?.close();
  });

  describe.skipIf(target.skip)(target.name, () => {
    it('streams a message that ends with message_delta and message_stop', { timeout: target.timeoutMs }, async () => {
      const stream = client.messages.stream({ model, max_tokens: 200, messages: [{ role: 'user', content: 'Say hello in five words.' }] });
      const types: string[] = [];
      for await (const e of stream) types.push(e.type);
      expect(types[0]).toBe('message_start');
      expect(types.slice(-2)).toEqual(['message_delta', 'message_stop']);
      expect(types).toContain('content_block_delta');
      const final = await stream.finalMessage();
      expect(final.stop_reason).toBe('end_turn');
      expect(text(final).length).toBeGreaterThan(0);
      expect(stream.request_id).toMatch(/^req_/);
    });

    it('does a tool_use round trip', { timeout: target.timeoutMs }, async () => {
      const tools: Anthropic.Tool[] = [
        {
          name: 'get_weather',
          description: 'Current weather for a city.',
          input_schema: { type: 'object', properties: { city: { type: 'string', description: 'City name' } }, required: ['city'] },
        },
      ];
      const question = 'What is the weather in Paris right now?';
      const first = await client.messages.create({
        model,
        max_tokens: 300,
        tools,
        tool_choice: { type: 'tool', name: 'get_weather' },
        messages: [{ role: 'user', content: question }],
      });
      expect(first.stop_reason).toBe('tool_use');
      const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')!;
      expect(use.name).toBe('get_weather');
      expect(use.id).toMatch(/^toolu_/);
      expect(typeof (use.input as { city?: unknown }).city).toBe('string');
      const second = await client.messages.create({
        model,
        max_tokens: 300,
        tools,
        messages: [
          { role: 'user', content: question },
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '18°C and sunny' }] },
        ],
      });
      expect(second.stop_reason).toBe('end_turn');
      expect(text(second)).toMatch(/18/);
    });

    it('reports usage with the cache fields and service tier', { timeout: target.timeoutMs }, async () => {
      const msg = await client.messages.create({ model, max_tokens: 50, messages: [{ role: 'user', content: 'Name a colour.' }] });
      expect(msg.usage.input_tokens).toBeGreaterThan(0);
      expect(msg.usage.output_tokens).toBeGreaterThan(0);
      expect(msg.usage.output_tokens).toBeLessThanOrEqual(50);
      expect(msg.usage.cache_creation_input_tokens).toBe(0);
      expect(msg.usage.cache_read_input_tokens).toBe(0);
      expect(msg.usage.service_tier).toBe('standard');
      expect(msg.id).toMatch(/^msg_/);
      expect(msg.model).toMatch(/^claude-/);
    });

    it('answers a bad request with 400 invalid_request_error and a request id', { timeout: target.timeoutMs }, async () => {
      const err = await client.messages.create({ model, max_tokens: 50, messages: ORPHAN_RESULT }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BadRequestError);
      const e = err as BadRequestError;
      expect(e.status).toBe(400);
      expect(e.type).toBe('invalid_request_error');
      expect(e.requestID).toMatch(/^req_/);
      expect(e.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.any(String) } });
    });

    it('counts tokens in line with what a request is billed', { timeout: target.timeoutMs }, async () => {
      const messages: Anthropic.MessageParam[] = [{ role: 'user', content: handbook(300, 'count') }];
      const counted = await client.messages.countTokens({ model, messages });
      const more = await client.messages.countTokens({ model, messages: [{ role: 'user', content: handbook(600, 'count') }] });
      expect(more.input_tokens).toBeGreaterThan(counted.input_tokens);
      const billed = await client.messages.create({ model, max_tokens: 20, messages });
      expect(Math.abs(billed.usage.input_tokens - counted.input_tokens)).toBeLessThanOrEqual(Math.max(10, counted.input_tokens * 0.1));
    });

    it('stops at a stop sequence and says which', { timeout: target.timeoutMs }, async () => {
      const msg = await client.messages.create({
        model,
        max_tokens: 100,
        stop_sequences: ['5'],
        messages: [
          { role: 'user', content: 'Reply with exactly this line and nothing else: 1, 2, 3, 4, 5, 6, 7\n#sim text=1, 2, 3, 4, 5, 6, 7' },
        ],
      });
      expect(msg.stop_reason).toBe('stop_sequence');
      expect(msg.stop_sequence).toBe('5');
      expect(text(msg)).toMatch(/4/);
      expect(text(msg)).not.toMatch(/5/);
    });

    it('cuts the answer off at max_tokens', { timeout: target.timeoutMs }, async () => {
      const msg = await client.messages.create({
        model,
        max_tokens: 8,
        messages: [{ role: 'user', content: 'Write a long essay about rivers, at least five paragraphs.' }],
      });
      expect(msg.stop_reason).toBe('max_tokens');
      expect(msg.usage.output_tokens).toBe(8);
    });

    it('cites character ranges of a plain-text document', { timeout: target.timeoutMs }, async () => {
      const data = 'The grass is green. The sky is blue. Water boils at 100 degrees Celsius at sea level.';
      const msg = await client.messages.create({
        model,
        max_tokens: 300,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'document', source: { type: 'text', media_type: 'text/plain', data }, title: 'Facts', citations: { enabled: true } },
              { type: 'text', text: 'At what temperature does water boil at sea level? Answer from the document.' },
            ],
          },
        ],
      });
      const citations = msg.content.flatMap((b) => (b.type === 'text' ? (b.citations ?? []) : []));
      expect(citations.length).toBeGreaterThan(0);
      for (const c of citations) {
        expect(c.type).toBe('char_location');
        if (c.type !== 'char_location') continue;
        expect(c.document_index).toBe(0);
        expect(c.document_title).toBe('Facts');
        expect(data.slice(c.start_char_index, c.end_char_index)).toBe(c.cited_text);
      }
      expect(citations.some((c) => c.cited_text.includes('100 degrees'))).toBe(true);
    });

    it(
      "answers summarize's map call with citations that pass Braid's checks, and cites nothing of a chunk off the task",
      { timeout: target.timeoutMs * 2 },
      async () => {
        const task = 'What must a customer know about returns?';
        const map = async (chunk: string) => {
          const msg = await client.messages.create({
            model,
            max_tokens: 700,
            system: MAP_SYSTEM,
            messages: withCacheControl(model, MAP_SYSTEM, undefined, [
              { role: 'user', content: mapContent(task, 'docs/policy.md', chunk) },
            ]) as Anthropic.MessageParam[],
          });
          return readReply(toBlocks(msg.content), [chunkDocument(chunk, 'docs/policy.md', 500)]);
        };
        const returns =
          'Customers may return unused items within 30 days of delivery. Refunds for returned items reach the original payment method within 5 business days. Our office is in Leeds.';
        const yes = await map(returns);
        expect(yes.claims.length).toBeGreaterThan(0);
        expect(yes.checks.rejected).toBe(0);
        for (const c of yes.claims)
          for (const { source, ranges } of c.sources) {
            expect(source).toBe('docs/policy.md');
            for (const [a, b] of ranges) expect(sentenceSpans(returns).map(([x, y]) => [x + 500, y + 500])).toContainEqual([a, b]);
          }
        const no = await map('The canteen opens at half past seven. Soup of the day costs two pounds fifty.');
        expect(no.claims).toEqual([]);
      },
    );

    it('writes a prompt-cache entry and reads it on the next request', { timeout: target.timeoutMs * 2 }, async () => {
      // A fresh prefix every run, so the first request is always a write; above the fast models' 4,096-token minimum.
      const system: Anthropic.TextBlockParam[] = [
        { type: 'text', text: handbook(4600, randomUUID()), cache_control: { type: 'ephemeral' } },
      ];
      const ask = (content: string) => client.messages.create({ model, max_tokens: 30, system, messages: [{ role: 'user', content }] });
      const first = await ask('How long do refunds in region 3 take?');
      expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(4096);
      expect(first.usage.cache_read_input_tokens).toBe(0);
      expect(first.usage.cache_creation?.ephemeral_5m_input_tokens).toBe(first.usage.cache_creation_input_tokens);
      const second = await ask('Is shipping free above 30 euros?');
      expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
      expect(second.usage.cache_creation_input_tokens).toBe(0);
      expect(second.usage.input_tokens).toBeLessThan(100);
    });

    it('runs a Message Batch to the end and returns results per custom_id', { timeout: target.batchTimeoutMs + 60_000 }, async () => {
      const params = (content: string): Anthropic.MessageCreateParamsNonStreaming => ({
        model,
        max_tokens: 50,
        messages: [{ role: 'user', content }],
      });
      const created = await client.messages.batches.create({
        requests: [
          { custom_id: 'colour', params: params('Name a colour.') },
          { custom_id: 'bad', params: { ...params('x'), messages: ORPHAN_RESULT } },
        ],
      });
      expect(created.processing_status).toBe('in_progress');
      expect(created.request_counts.processing).toBe(2);
      const deadline = Date.now() + target.batchTimeoutMs;
      let batch = created;
      while (batch.processing_status !== 'ended') {
        if (Date.now() > deadline) throw new Error(`batch ${batch.id} still ${batch.processing_status}`);
        await sleep(target.real ? 10_000 : 100);
        batch = await client.messages.batches.retrieve(created.id);
      }
      expect(batch.request_counts).toMatchObject({ succeeded: 1, errored: 1, processing: 0 });
      const results = new Map<string, Anthropic.Messages.MessageBatchResult>();
      for await (const line of await client.messages.batches.results(batch.id)) results.set(line.custom_id, line.result);
      const ok = results.get('colour');
      expect(ok?.type).toBe('succeeded');
      if (ok?.type === 'succeeded') expect(ok.message.usage.service_tier).toBe('batch');
      expect(results.get('bad')).toMatchObject({ type: 'errored', error: { error: { type: 'invalid_request_error' } } });
    });
  });
});
