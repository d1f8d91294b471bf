// The simulator as the rest of Braid meets it: the real Anthropic SDK pointed at `sim.url`, no
// mocks. Each test starts its own simulator (they start in milliseconds) with near-zero latency
// unless latency is what is under test.
import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  OverloadedError,
  RateLimitError,
} from '@anthropic-ai/sdk';
import http from 'node:http';
import { evaluate } from 'mathjs';
import { describe, expect, it } from 'vitest';
import { ask, caught, FAST, MODEL, startSim as start, textOf } from './simulator-helpers';

const REQUEST_ID = /^req_sim_[0-9a-f]{24}$/;

/** Collects raw stream event types; returns the error the iteration ended with, if any. */
async function collect(stream: AsyncIterable<Anthropic.MessageStreamEvent>): Promise<{ types: string[]; error?: unknown }> {
  const types: string[] = [];
  try {
    for await (const e of stream) types.push(e.type);
  } catch (error) {
    return { types, error };
  }
  return { types };
}

const TOOLS: Anthropic.Tool[] = [
  {
    name: 'sql_query',
    description:
      'Run one read-only SQL SELECT against the sales database (SQLite). Tables: orders(id, customer_id, product_id, region, quantity, amount_usd, ordered_on), customers(id, name, country, segment), products(id, name, category, unit_price_usd).',
    input_schema: { type: 'object', properties: { sql: { type: 'string', description: 'A single SELECT statement' } }, required: ['sql'] },
  },
  {
    name: 'search_docs',
    description: 'Search the company handbook (refund policy, shipping, security, expenses) and return the best passages.',
    input_schema: {
      type: 'object',
      properties: { query: { type: 'string', description: 'What to look for' }, limit: { type: 'integer', minimum: 1, maximum: 10 } },
      required: ['query'],
    },
  },
  {
    name: 'calculator',
    description: 'Evaluate a math expression with mathjs: arithmetic, percentages and unit conversion such as `5 km to mi`.',
    input_schema: { type: 'object', properties: { expression: { type: 'string' } }, required: ['expression'] },
  },
  {
    name: 'read_file',
    description: 'Read a text file from the allowed workspace directory.',
    input_schema: {
      type: 'object',
      properties: { path: { type: 'string', description: 'Path relative to the workspace' } },
      required: ['path'],
    },
  },
];

const SHOWCASE =
  'What were total sales by region in 2025, what does the handbook say about refunds for damaged items, what is 26.2 miles in kilometres, and what is in notes/q3-plan.md?';

const toolUses = (m: Anthropic.Message): Anthropic.ToolUseBlock[] =>
  m.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');

describe('Messages API round trips with the real SDK', () => {
  it('answers a non-streaming request with an API-shaped message and request id', async () => {
    const { client } = await start();
    const msg = await client.messages.create(ask('Explain how durable workflows survive worker crashes.'));
    expect(msg.id).toMatch(/^msg_sim_[0-9a-f]{24}$/);
    expect(msg).toMatchObject({ type: 'message', role: 'assistant', model: MODEL, stop_reason: 'end_turn', stop_sequence: null });
    expect(msg.usage.input_tokens).toBeGreaterThan(5);
    expect(msg.usage.output_tokens).toBeGreaterThanOrEqual(50);
    expect(msg.usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    expect(textOf(msg)).toMatch(/durable|workflows|worker|crashes/);
    expect(msg._request_id).toMatch(REQUEST_ID);
  });

  it('streams the same message through messages.stream().finalMessage()', async () => {
    const { client } = await start();
    const params = ask('Summarise the benefits of parallel tool calls.');
    const plain = await client.messages.create(params);
    const stream = client.messages.stream(params);
    const final = await stream.finalMessage();
    expect(final.content).toEqual(plain.content);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBe(plain.usage.output_tokens);
    expect(stream.request_id).toMatch(REQUEST_ID);
    expect(stream.request_id).not.toBe(plain._request_id);
  });

  it('emits the API event sequence with chunked deltas, pings and SSE framing', async () => {
    const { sim, client } = await start();
    const events: Anthropic.MessageStreamEvent[] = [];
    const stream = await client.messages.create({ ...ask('Write about queues.\n#sim answer_tokens=120'), stream: true });
    for await (const e of stream) events.push(e);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('message_start');
    expect(types.slice(-2)).toEqual(['message_delta', 'message_stop']);
    expect(types.filter((t) => t === 'content_block_delta').length).toBeGreaterThanOrEqual(5);
    const start0 = events[0] as Anthropic.RawMessageStartEvent;
    expect(start0.message.content).toEqual([]);
    expect(start0.message.usage.output_tokens).toBe(1);
    const delta = events.at(-2) as Anthropic.RawMessageDeltaEvent;
    expect(delta.delta.stop_reason).toBe('end_turn');
    expect(delta.usage.output_tokens).toBeGreaterThanOrEqual(115);

    // The SDK hides pings, so check the raw wire format too.
    const res = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...ask('Write about queues.'), stream: true }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('request-id')).toMatch(REQUEST_ID);
    const raw = await res.text();
    expect(raw).toContain('event: ping\ndata: {"type":"ping"}\n\n');
    expect(raw.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n')).toBe(true);
    for (const frame of raw.trim().split('\n\n')) expect(frame).toMatch(/^event: \w+\ndata: \{.*\}$/);
  });

  it('streams tool_use input as several input_json_delta pieces that reassemble', async () => {
    const { client } = await start();
    const stream = client.messages.stream({ ...ask('What is in notes/q3-plan.md?'), tools: TOOLS });
    const pieces: string[] = [];
    stream.on('streamEvent', (e) => {
      if (e.type === 'content_block_delta' && e.delta.type === 'input_json_delta') pieces.push(e.delta.partial_json);
    });
    const final = await stream.finalMessage();
    expect(pieces.length).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(pieces.join(''))).toEqual({ path: 'notes/q3-plan.md' });
    expect(toolUses(final)[0]?.input).toEqual({ path: 'notes/q3-plan.md' });
  });

  it('counts tokens', async () => {
    const { client } = await start();
    const short = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
    const long = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], tools: TOOLS });
    expect(short.input_tokens).toBe(1);
    expect(long.input_tokens).toBeGreaterThan(100);
  });
});

describe('the deterministic model', () => {
  it('plans the showcase question as four parallel tool calls, then synthesises their results', async () => {
    const { client } = await start();
    const first = await client.messages.create({ ...ask(SHOWCASE), tools: TOOLS });
    expect(first.stop_reason).toBe('tool_use');
    const uses = toolUses(first);
    expect(uses.map((u) => u.name)).toEqual(['sql_query', 'search_docs', 'calculator', 'read_file']);
    expect(new Set(uses.map((u) => u.id)).size).toBe(4);
    for (const u of uses) expect(u.id).toMatch(/^toolu_sim_[0-9a-f]+$/);
    const [sql, docs, calc, file] = uses.map((u) => u.input as Record<string, string>);
    expect(sql?.sql).toMatch(/^SELECT region, SUM\(amount_usd\) .* FROM orders WHERE ordered_on LIKE '2025%' GROUP BY region/);
    expect(docs).toEqual({ query: 'refunds for damaged items' });
    expect(calc).toEqual({ expression: '26.2 mi to km' });
    expect(Number(evaluate(`number(${calc!.expression}, km)`))).toBeCloseTo(42.16, 2);
    expect(file).toEqual({ path: 'notes/q3-plan.md' });

    const results = [
      'EMEA: 1200.50; AMER: 980.00',
      'Damaged items are refunded in full within 30 days.',
      '42.16481 km',
      'no such file: notes/q3-plan.md',
    ];
    const second = await client.messages.create({
      ...ask(SHOWCASE),
      tools: TOOLS,
      messages: [
        { role: 'user', content: SHOWCASE },
        { role: 'assistant', content: first.content },
        {
          role: 'user',
          content: uses.map((u, i) => ({ type: 'tool_result' as const, tool_use_id: u.id, content: results[i], is_error: i === 3 })),
        },
      ],
    });
    expect(second.stop_reason).toBe('end_turn');
    const text = textOf(second);
    for (const name of ['sql_query', 'search_docs', 'calculator', 'read_file']) expect(text).toContain(name);
    expect(text).toContain('EMEA: 1200.50');
    expect(text).toContain('refunded in full within 30 days');
    expect(text).toContain('42.16481 km');
    expect(text).toMatch(/^- What were total sales by region in 2025 \(sql_query\): EMEA: 1200\.50/m);
    expect(text).toMatch(/^- What is in notes\/q3-plan\.md \(read_file\): could not get it — no such file/m);
  });

  it('follows #sim tools= and rounds= directives across turns', async () => {
    const { client } = await start();
    const q = 'Check the numbers please.\n#sim tools=read_file,calculator\n#sim rounds=2';
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: q }];
    const replies: Anthropic.Message[] = [];
    for (let turn = 0; turn < 3; turn++) {
      const reply = await client.messages.create({ ...ask(q), tools: TOOLS, messages });
      replies.push(reply);
      messages.push({ role: 'assistant', content: reply.content });
      const uses = toolUses(reply);
      if (uses.length > 0)
        messages.push({
          role: 'user',
          content: uses.map((u) => ({ type: 'tool_result' as const, tool_use_id: u.id, content: `out-${u.name}` })),
        });
    }
    expect(replies.map((r) => r.stop_reason)).toEqual(['tool_use', 'tool_use', 'end_turn']);
    expect(toolUses(replies[0]!).map((u) => u.name)).toEqual(['read_file', 'calculator']);
    expect(toolUses(replies[1]!).map((u) => u.name)).toEqual(['read_file', 'calculator']);
    expect(toolUses(replies[1]!)[0]!.id).not.toBe(toolUses(replies[0]!)[0]!.id);
    expect(textOf(replies[2]!)).toContain('out-calculator');
    expect(textOf(replies[2]!)).not.toContain('#sim');
  });

  it('returns #sim text= verbatim, honours answer_tokens, and truncates at max_tokens', async () => {
    const { client } = await start();
    const exact = await client.messages.create(ask('Anything\n#sim text=The answer is 42.'));
    expect(exact.content).toEqual([{ type: 'text', text: 'The answer is 42.' }]);
    const sized = await client.messages.create(ask('Describe caching.\n#sim answer_tokens=300'));
    expect(sized.usage.output_tokens).toBeGreaterThanOrEqual(290);
    expect(sized.usage.output_tokens).toBeLessThanOrEqual(300);
    const cut = await client.messages.create(ask('Describe caching.\n#sim answer_tokens=300', { max_tokens: 40 }));
    expect(cut.stop_reason).toBe('max_tokens');
    expect(cut.usage.output_tokens).toBe(40);
    expect(textOf(sized).startsWith(textOf(cut))).toBe(true);
  });

  it('gives identical content (tool ids included) for identical requests', async () => {
    const { client } = await start();
    const a = await client.messages.create({ ...ask(SHOWCASE), tools: TOOLS });
    const b = await client.messages.create({ ...ask(SHOWCASE), tools: TOOLS });
    expect(b.content).toEqual(a.content);
    expect(b.id).not.toBe(a.id);
    const c = await client.messages.create({ ...ask(`${SHOWCASE} `), tools: TOOLS });
    expect(toolUses(c)[0]!.id).not.toBe(toolUses(a)[0]!.id);
  });
});

describe('request validation and auth', () => {
  it.each([
    [{ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }, /max_tokens/],
    [{ model: MODEL, max_tokens: -1, messages: [{ role: 'user', content: 'hi' }] }, /max_tokens/],
    [{ model: MODEL, max_tokens: 10, messages: [] }, /messages/],
    [{ model: MODEL, max_tokens: 10, messages: [{ role: 'assistant', content: 'hi' }] }, /first message/],
    [
      {
        model: MODEL,
        max_tokens: 10,
        messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_x', content: 'r' }] }],
      },
      /tool_use_id/,
    ],
    [
      {
        model: MODEL,
        max_tokens: 10,
        messages: [{ role: 'user', content: 'hi' }],
        tools: [{ name: 'bad name!', input_schema: { type: 'object' } }],
      },
      /tools\.0\.name/,
    ],
  ])('rejects an invalid request with 400 invalid_request_error (%#)', async (body, message) => {
    const { sim, client } = await start();
    const err = await caught(client.messages.create(body as unknown as Anthropic.MessageCreateParamsNonStreaming));
    expect(err).toBeInstanceOf(BadRequestError);
    const e = err as BadRequestError;
    expect(e.status).toBe(400);
    expect(e.type).toBe('invalid_request_error');
    expect(e.message).toMatch(message);
    expect(e.requestID).toMatch(REQUEST_ID);
    expect(e.error).toMatchObject({ type: 'error', request_id: e.requestID });
    expect(sim.ledger()).toMatchObject([{ outcome: 'invalid_request', status: 400, requestId: e.requestID }]);
  });

  it('checks the API key when one is configured', async () => {
    const { sim, client } = await start({ apiKey: 'right-key' });
    const err = await caught(client.messages.create(ask('hi')));
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).type).toBe('authentication_error');
    const good = new Anthropic({ apiKey: 'right-key', baseURL: sim.url, maxRetries: 0 });
    expect((await good.messages.create(ask('hi'))).stop_reason).toBe('end_turn');
    expect(sim.ledger().map((e) => e.outcome)).toEqual(['unauthorized', 'ok']);
  });

  it('answers unknown routes with 404 not_found_error', async () => {
    const { sim } = await start();
    const res = await fetch(`${sim.url}/v1/nothing`);
    expect(res.status).toBe(404);
    expect(res.headers.get('request-id')).toMatch(REQUEST_ID);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });
});

describe('fault injection', () => {
  it('answers status faults with the configured error and retry headers, `times` times', async () => {
    const { sim, client } = await start({ faults: [{ kind: 'status', status: 529, retryAfterS: 3, retryAfterMs: 2500, times: 1 }] });
    const err = await caught(client.messages.create(ask('hi')));
    expect(err).toBeInstanceOf(OverloadedError);
    const e = err as OverloadedError;
    expect(e.status).toBe(529);
    expect(e.type).toBe('overloaded_error');
    expect(e.headers?.get('retry-after')).toBe('3');
    expect(e.headers?.get('retry-after-ms')).toBe('2500');
    expect(e.requestID).toMatch(REQUEST_ID);
    expect((await client.messages.create(ask('hi'))).stop_reason).toBe('end_turn');
    expect(sim.ledger().map((x) => [x.outcome, x.status])).toEqual([
      ['fault:status', 529],
      ['ok', 200],
    ]);
  });

  it('matches faults on request text, model and stream', async () => {
    const { client } = await start({
      faults: [
        { kind: 'status', status: 500, match: { contains: 'EXPLODE' } },
        { kind: 'status', status: 409, match: { model: 'claude-sonnet-4-6', stream: true } },
      ],
    });
    expect((await client.messages.create(ask('calm request'))).stop_reason).toBe('end_turn');
    const err = await caught(client.messages.create(ask('please EXPLODE now')));
    expect(err).toBeInstanceOf(InternalServerError);
    expect((err as InternalServerError).type).toBe('api_error');
    expect((await client.messages.create(ask('hi', { model: 'claude-sonnet-4-6' }))).stop_reason).toBe('end_turn');
    const conflict = await caught(client.messages.create({ ...ask('hi', { model: 'claude-sonnet-4-6' }), stream: true }));
    expect((conflict as APIError).status).toBe(409);
    expect((conflict as APIError).type).toBe('conflict_error');
  });

  it('fires `rate` faults reproducibly for a given seed', async () => {
    const pattern = async (seed: number): Promise<string> => {
      const { sim, client } = await start({ seed, faults: [{ kind: 'status', status: 500, rate: 0.5 }] });
      for (let i = 0; i < 16; i++) await client.messages.create(ask('hi')).catch(() => undefined);
      return sim
        .ledger()
        .map((e) => (e.outcome === 'ok' ? '.' : 'x'))
        .join('');
    };
    const a = await pattern(7);
    expect(a).toMatch(/x/);
    expect(a).toMatch(/\./);
    expect(await pattern(7)).toBe(a);
  });

  it('stalls a non-streaming request until the SDK timeout fires', async () => {
    const { sim, client } = await start({ faults: [{ kind: 'stall' }] });
    const t0 = Date.now();
    const err = await caught(client.messages.create(ask('hi'), { timeout: 300 }));
    expect(err).toBeInstanceOf(APIConnectionTimeoutError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(sim.ledger()[0]).toMatchObject({ outcome: 'fault:stall', status: 0 });
  });

  it('stalls a stream after message_start and close() still shuts down promptly', async () => {
    const { sim, client } = await start({ faults: [{ kind: 'stall', match: { stream: true } }] });
    const stream = await client.messages.create({ ...ask('hi'), stream: true });
    const seen: string[] = [];
    const reading = collect({
      async *[Symbol.asyncIterator]() {
        for await (const e of stream) {
          seen.push(e.type);
          yield e;
        }
      },
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual(['message_start']);
    const t0 = Date.now();
    await sim.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    const { types, error } = await reading;
    expect(types).toEqual(['message_start']);
    expect(error).toBeDefined();
    expect(sim.ledger()[0]).toMatchObject({ outcome: 'fault:stall', status: 200 });
    expect(sim.ledger()[0]!.finishedAt).toBeGreaterThan(0);
  });

  it('resets the connection: APIConnectionError without a stream, a broken stream with one', async () => {
    const { client } = await start({ faults: [{ kind: 'reset' }] });
    const err = await caught(client.messages.create(ask('hi')));
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(err).not.toBeInstanceOf(APIConnectionTimeoutError);
    const stream = await client.messages.create({ ...ask('Write a long story.\n#sim answer_tokens=200'), stream: true });
    const { types, error } = await collect(stream);
    expect(types).toContain('content_block_delta');
    expect(types).not.toContain('message_stop');
    expect(error).toBeInstanceOf(Error);
  });

  it('ends a stream with an SSE error event (sse_error)', async () => {
    const { sim, client } = await start({ faults: [{ kind: 'sse_error' }] });
    const stream = await client.messages.create({ ...ask('Write a long story.\n#sim answer_tokens=200'), stream: true });
    const { types, error } = await collect(stream);
    expect(types[0]).toBe('message_start');
    expect(types).not.toContain('message_stop');
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).type).toBe('overloaded_error');
    expect(sim.ledger()[0]).toMatchObject({ outcome: 'fault:sse_error', status: 200, stream: true });
    expect(await caught(client.messages.create(ask('hi')))).toBeInstanceOf(APIConnectionError);
  });

  it('truncates a stream cleanly before message_delta (truncate)', async () => {
    const { client } = await start({ faults: [{ kind: 'truncate' }] });
    const stream = await client.messages.create({ ...ask('Write a long story.\n#sim answer_tokens=100'), stream: true });
    const { types, error } = await collect(stream);
    expect(error).toBeUndefined();
    expect(types[0]).toBe('message_start');
    expect(types.at(-1)).toBe('content_block_stop');
    expect(types).not.toContain('message_delta');
    expect(types).not.toContain('message_stop');
  });

  it('sends malformed bodies: invalid JSON and a non-JSON data line', async () => {
    const { client } = await start({ faults: [{ kind: 'malformed' }] });
    expect(await caught(client.messages.create(ask('hi')))).toBeInstanceOf(SyntaxError);
    const stream = await client.messages.create({ ...ask('Write a story.\n#sim answer_tokens=100'), stream: true });
    const { types, error } = await collect(stream);
    expect(types[0]).toBe('message_start');
    expect(error).toBeInstanceOf(SyntaxError);
  });

  it('replaces faults at runtime and resets their counters', async () => {
    const { sim, client } = await start({ faults: [{ kind: 'status', status: 500, times: 1 }] });
    await caught(client.messages.create(ask('hi')));
    expect((await client.messages.create(ask('hi'))).stop_reason).toBe('end_turn');
    sim.configure({ faults: [{ kind: 'status', status: 500, times: 1 }] });
    expect(await caught(client.messages.create(ask('hi')))).toBeInstanceOf(InternalServerError);
    sim.configure({ faults: [] });
    expect((await client.messages.create(ask('hi'))).stop_reason).toBe('end_turn');
  });
});

describe('rate limits', () => {
  it('limits requests per minute with retry-after and ratelimit headers', async () => {
    const { sim, client } = await start({ rateLimits: { requestsPerMinute: 2 } });
    const ok = await client.messages.create(ask('hi')).withResponse();
    expect(ok.response.headers.get('anthropic-ratelimit-requests-limit')).toBe('2');
    expect(ok.response.headers.get('anthropic-ratelimit-requests-remaining')).toBe('1');
    await client.messages.create(ask('hi'));
    const err = await caught(client.messages.create(ask('hi')));
    expect(err).toBeInstanceOf(RateLimitError);
    const h = (err as RateLimitError).headers!;
    expect((err as RateLimitError).type).toBe('rate_limit_error');
    expect(h.get('retry-after')).toMatch(/^\d+$/);
    expect(Number(h.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(h.get('retry-after-ms'))).toBeGreaterThan(0);
    expect(h.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    expect(Date.parse(h.get('anthropic-ratelimit-requests-reset')!)).toBeGreaterThan(Date.now());
    expect(sim.ledger().map((e) => e.outcome)).toEqual(['ok', 'ok', 'rate_limited']);
  });

  it('debits output tokens against tokens per minute', async () => {
    const { client } = await start({ rateLimits: { tokensPerMinute: 600 } });
    const first = await client.messages.create(ask('Write at length.\n#sim answer_tokens=700'));
    expect(first.usage.output_tokens).toBeGreaterThan(600);
    const err = await caught(client.messages.create(ask('hi')));
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).headers?.get('anthropic-ratelimit-tokens-limit')).toBe('600');
    expect(Number((err as RateLimitError).headers?.get('retry-after'))).toBeGreaterThanOrEqual(10);
  });
});

describe('latency model', () => {
  it('waits the time to first token, per model', async () => {
    const { client } = await start({ latency: { ttftMs: { fixed: 300 }, perTokenMs: 0, models: { 'claude-sonnet-4-6': { ttftMs: 0 } } } });
    let t0 = Date.now();
    await client.messages.create(ask('hi'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(295);
    t0 = Date.now();
    await client.messages.create(ask('hi', { model: 'claude-sonnet-4-6' }));
    expect(Date.now() - t0).toBeLessThan(250);
  });

  it("counts the time to first token from the request's arrival: time spent receiving it comes out of the wait", async () => {
    const { sim } = await start({ latency: { ttftMs: { fixed: 400 }, perTokenMs: 0 } });
    const body = JSON.stringify(ask('hi'));
    const t0 = Date.now();
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        `${sim.url}/v1/messages`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'sim', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      // The headers go out now; the body 250 ms later, as a large or slow upload would.
      req.flushHeaders();
      setTimeout(() => req.end(body), 250);
    });
    const ms = Date.now() - t0;
    expect(status).toBe(200);
    // From the request's start: 400 ms, not 250 + 400. Before, it was 650 ms or more; the bound leaves 200 ms for a loaded machine.
    expect(ms).toBeGreaterThanOrEqual(395);
    expect(ms).toBeLessThan(600);
  });

  it("falls back to the model table's latency: after the per-model and the global setting", async () => {
    const { sim, client } = await start({ latency: {}, models: { 'slow-model': { ttftMs: { fixed: 1200 }, perTokenMs: 0 } } });
    const timed = async (): Promise<number> => {
      const t0 = Date.now();
      await client.messages.create(ask('hi', { model: 'slow-model', max_tokens: 5 }));
      return Date.now() - t0;
    };
    expect(await timed()).toBeGreaterThanOrEqual(1195);
    sim.configure({ latency: { ttftMs: 0, perTokenMs: 0 } });
    expect(await timed()).toBeLessThan(900);
    sim.configure({ latency: { ttftMs: 0, perTokenMs: 0, models: { 'slow-model': { ttftMs: 500 } } } });
    const perModel = await timed();
    expect(perModel).toBeGreaterThanOrEqual(495);
    expect(perModel).toBeLessThan(1100);
  });

  it('paces a stream: first event after ttft, the end after ttft + tokens x perToken', async () => {
    const { client } = await start({ latency: { ttftMs: 100, perTokenMs: 2 } });
    const t0 = Date.now();
    const stream = await client.messages.create({ ...ask('Write.\n#sim answer_tokens=150'), stream: true });
    let first = 0;
    for await (const e of stream) if (e.type === 'message_start') first = Date.now() - t0;
    const total = Date.now() - t0;
    expect(first).toBeGreaterThanOrEqual(95);
    // The deltas are spread over the per-token time after the first event, not sent at once.
    expect(total - first).toBeGreaterThanOrEqual(150 * 2 - 50);
    expect(total).toBeGreaterThanOrEqual(100 + 150 * 2 - 10);
  });
});

describe('ledger and admin endpoints', () => {
  it('records one entry per request with outcome, tokens and timing', async () => {
    const { sim, client } = await start({ faults: [{ kind: 'status', status: 429, match: { contains: 'LIMIT' } }] });
    const msg = await client.messages.create({ ...ask(SHOWCASE), tools: TOOLS });
    await caught(client.messages.create(ask('LIMIT me')));
    await client.messages.stream(ask('hello there')).finalMessage();
    const [a, b, c] = sim.ledger();
    expect(a).toMatchObject({
      seq: 1,
      requestId: msg._request_id,
      model: MODEL,
      stream: false,
      status: 200,
      outcome: 'ok',
      stopReason: 'tool_use',
      toolUses: 4,
    });
    expect(a!.inputTokens).toBe(msg.usage.input_tokens);
    expect(a!.outputTokens).toBe(msg.usage.output_tokens);
    expect(a!.finishedAt).toBeGreaterThanOrEqual(a!.receivedAt);
    expect(b).toMatchObject({ seq: 2, status: 429, outcome: 'fault:status', toolUses: 0 });
    expect(c).toMatchObject({ seq: 3, stream: true, outcome: 'ok', stopReason: 'end_turn' });
    sim.ledger()[0]!.model = 'mutated';
    expect(sim.ledger()[0]!.model).toBe(MODEL);
    sim.clearLedger();
    expect(sim.ledger()).toEqual([]);
  });

  it('serves health, ledger, reset and config over HTTP', async () => {
    const { sim, client } = await start();
    const get = async (path: string): Promise<unknown> => (await fetch(`${sim.url}${path}`)).json();
    const post = (path: string, body?: unknown): Promise<Response> =>
      fetch(`${sim.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    expect(await get('/_sim/health')).toEqual({ ok: true });
    expect((await fetch(`${sim.url}/_sim/health`)).headers.get('request-id')).toMatch(REQUEST_ID);
    await client.messages.create(ask('hi'));
    expect(await get('/_sim/ledger')).toEqual(sim.ledger());
    expect(sim.ledger()).toHaveLength(1);
    expect((await post('/_sim/reset')).status).toBe(200);
    expect(await get('/_sim/ledger')).toEqual([]);

    expect((await post('/_sim/config', { faults: [{ kind: 'status', status: 503 }] })).status).toBe(200);
    expect(((await caught(client.messages.create(ask('hi')))) as APIError).status).toBe(503);
    expect((await post('/_sim/config', { faults: null })).status).toBe(200);
    expect((await client.messages.create(ask('hi'))).stop_reason).toBe('end_turn');

    const bad = await post('/_sim/config', { rateLimits: { requestPerMinute: 5 } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { type: 'invalid_request_error', message: expect.stringMatching(/requestPerMinute/) },
    });
  });

  it('simulates a slow remote tool with deterministic results', async () => {
    const { sim } = await start({ latency: { ...FAST, tools: { weather: { fixed: 250 } } } });
    const call = async (name: string, input: unknown): Promise<{ ms: number; body: Record<string, unknown> }> => {
      const t0 = Date.now();
      const res = await fetch(`${sim.url}/_sim/tools/${name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input),
      });
      return { ms: Date.now() - t0, body: (await res.json()) as Record<string, unknown> };
    };
    const [slow, again, other, fallback] = await Promise.all([
      call('weather', { city: 'Oslo' }),
      call('weather', { city: 'Oslo' }),
      call('weather', { city: 'Lima' }),
      call('lookup', { id: 7 }),
    ]);
    expect(slow.ms).toBeGreaterThanOrEqual(245);
    expect(slow.body).toMatchObject({ tool: 'weather', input: { city: 'Oslo' }, result: expect.stringContaining('Oslo') });
    expect(again.body.result).toBe(slow.body.result);
    expect(other.body.result).not.toBe(slow.body.result);
    expect(fallback.ms).toBeGreaterThanOrEqual(95);
    expect(fallback.ms).toBeLessThan(slow.ms);
  });
});
