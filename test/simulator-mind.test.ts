// What the simulated model says, driven through the real Anthropic SDK: it follows the task it is
// given (summaries quote the input, labels come from the offered set, extraction finds the values,
// a judge names a candidate, questions are answered from the context, earlier turns are recalled,
// the system prompt's form is honoured), fills tool inputs with values rather than clauses, obeys
// tool_choice and disable_parallel_tool_use, conforms to a structured output's schema, cites
// documents by character range, and has per-model personalities and forcible answers.
import Anthropic from '@anthropic-ai/sdk';
import Ajv from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBlocks, withCacheControl } from '../src/activities/llm';
import { MAP_SYSTEM, mapContent, REDUCE_SYSTEM, reduceContent } from '../src/prompts/summarize';
import type { ChatMessage } from '../src/shared/types';
import { chunkDocument, findingsDocument, readReply } from '../src/summarize/citations';
import { Simulator } from '../src/simulator';

/** A model of the test's own, added to the model table: never wrong, no latency of its own. */
const MODEL = 'claude-sim-test';
let sim: Simulator;
let client: Anthropic;

beforeAll(async () => {
  sim = await Simulator.start({ quiet: true, latency: { ttftMs: 0, perTokenMs: 0 }, models: { [MODEL]: {} } });
  client = new Anthropic({ apiKey: 'sim', baseURL: sim.url, maxRetries: 0 });
});
afterAll(async () => {
  await sim?.close();
});

type Params = Anthropic.MessageCreateParamsNonStreaming;
const ask = (content: string, extra: Partial<Params> = {}): Promise<Anthropic.Message> =>
  client.messages.create({ model: MODEL, max_tokens: 1024, messages: [{ role: 'user', content }], ...extra });
const textOf = (m: Anthropic.Message): string => m.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
const uses = (m: Anthropic.Message): Anthropic.ToolUseBlock[] =>
  m.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
/** How a quoted sentence reads: whitespace collapsed, Markdown emphasis dropped. */
const norm = (s: string): string =>
  s
    .replace(/\*\*|`/g, '')
    .replace(/\s+/g, ' ')
    .trim();
const sentencesOf = (s: string): string[] => s.split(/(?<=[.!?])\s+(?=[A-Z"])/).filter(Boolean);

const ARTICLE = `The city council approved a new cycling plan on Tuesday. The plan adds 40 kilometres of protected bike lanes over three years. Officials said the lanes would connect the university district with the city centre. Critics argued that the budget of EUR 12 million was too high for a city of this size. Supporters pointed to a 30% rise in cycling since 2020. Construction is expected to begin in the spring, starting with the river route.`;

describe('follows the task', () => {
  it('summarises extractively: real sentences of the input, as many as asked; max_tokens cuts it off', async () => {
    const m = await ask(`Summarise this article in two sentences:\n\n${ARTICLE}`);
    const summary = sentencesOf(textOf(m));
    expect(summary).toHaveLength(2);
    for (const s of summary) expect(norm(ARTICLE)).toContain(norm(s));
    // max_tokens is not a length the model aims for: the same summary is written, then cut off.
    const whole = await ask(`Summarise this article:\n\n${ARTICLE}`);
    for (const s of sentencesOf(textOf(whole))) expect(norm(ARTICLE)).toContain(norm(s));
    const tight = await ask(`Summarise this article:\n\n${ARTICLE}`, { max_tokens: 20 });
    expect(tight.stop_reason).toBe('max_tokens');
    expect(textOf(whole).startsWith(textOf(tight))).toBe(true);
  });

  it('classifies into exactly one of the offered labels, from the prompt, a tool enum or a JSON-schema enum', async () => {
    const labels = ['billing', 'technical_issue', 'account', 'shipping', 'other'];
    const ticket = 'Hi, I was charged twice for my subscription this month and need one payment refunded.';
    const plain = await ask(`Classify this message into one of: ${labels.join(', ')}. Answer with the label only.\n\nMessage: ${ticket}`);
    expect(textOf(plain)).toBe('billing');
    const crash = await ask(
      `Classify this message into one of: ${labels.join(', ')}. Answer with the label only.\n\nMessage: The app crashes with an error when I open settings.`,
    );
    expect(textOf(crash)).toBe('technical_issue');

    const viaTool = await ask(`Route this ticket: ${ticket}`, {
      tools: [
        { name: 'route', input_schema: { type: 'object', properties: { label: { type: 'string', enum: labels } }, required: ['label'] } },
      ],
      tool_choice: { type: 'tool', name: 'route' },
    });
    expect(viaTool.content.map((b) => b.type)).toEqual(['tool_use']);
    expect(uses(viaTool)[0]!.input).toEqual({ label: 'billing' });

    const viaSchema = await ask(`Classify: ${ticket}`, {
      output_config: {
        format: {
          type: 'json_schema',
          schema: { type: 'object', properties: { category: { type: 'string', enum: labels } }, required: ['category'] },
        },
      },
    } as Partial<Params>);
    expect(labels).toContain(JSON.parse(textOf(viaSchema)).category);
  });

  it('extracts the requested keys with the values the text holds', async () => {
    const email =
      'Hello, this is Maria Lopez from Acme Corp. Could we meet on March 14, 2026 at 3pm to review the contract? You can reach me on +1 (415) 555-0134 or maria.lopez@acme.com. Best, Maria';
    const m = await ask(`Extract JSON with keys name, company, meeting_date, phone, email from this email:\n\n${email}`);
    const out = JSON.parse(textOf(m)) as Record<string, string>;
    expect(Object.keys(out)).toEqual(['name', 'company', 'meeting_date', 'phone', 'email']);
    expect(out).toMatchObject({ name: 'Maria Lopez', company: 'Acme Corp', phone: '+1 (415) 555-0134', email: 'maria.lopez@acme.com' });
    expect(out.meeting_date).toMatch(/^2026-03-14/);
  });

  it('judges: names one candidate, with reasons drawn from the candidates', async () => {
    const a = 'Customers can return unused items within 30 days of delivery for a full refund.';
    const b = 'I think returns are probably possible for a while, it depends.';
    const m = await ask(
      `Question: How long do customers have to return an item?\n\nAnswer A: ${a}\n\nAnswer B: ${b}\n\nWhich answer is better, A or B? Give your verdict and reasons.`,
    );
    const text = textOf(m);
    expect(text).toMatch(/^Verdict: A\n/);
    expect(text).toContain('"within 30 days"');
    expect(text).toContain(a);
    // The same candidates in the other order: the verdict follows the content, not the position.
    const swapped = await ask(
      `Question: How long do customers have to return an item?\n\nAnswer A: ${b}\n\nAnswer B: ${a}\n\nWhich answer is better?`,
    );
    expect(textOf(swapped)).toMatch(/^Verdict: B\n/);
  });

  it("answers a question over supplied context with the context's most relevant sentences", async () => {
    const m = await ask(`Context:\n${ARTICLE}\n\nQuestion: How much will the plan cost?`);
    const answer = textOf(m);
    expect(sentencesOf(answer)[0]).toBe('Critics argued that the budget of EUR 12 million was too high for a city of this size.');
    for (const s of sentencesOf(answer)) expect(norm(ARTICLE)).toContain(norm(s));
    const off = await ask(`Context:\n${ARTICLE}\n\nQuestion: What is the refund policy for damaged parcels?`);
    expect(textOf(off)).toMatch(/^The material does not address/);
  });

  it('uses earlier turns: a name given in turn 1 is recalled in turn 3', async () => {
    /** Alternating user/assistant turns, the last one the user's. */
    const converse = (...turns: string[]): Promise<Anthropic.Message> =>
      client.messages.create({
        model: MODEL,
        max_tokens: 200,
        messages: turns.map((content, i) => ({ role: i % 2 === 0 ? ('user' as const) : ('assistant' as const), content })),
      });
    const m = await converse(
      'Hi! My name is Ada and I live in Lisbon.',
      'Nice to meet you, Ada.',
      'Can you suggest a name for my cat?',
      'How about Pixel?',
      "What's my name, and where do I live?",
    );
    expect(textOf(m)).toBe('Your name is Ada. You live in Lisbon.');
    const where = await converse('My order number is NW-20415.', 'Thanks, noted.', 'What was my order number again?');
    expect(textOf(where)).toBe('Your order number is NW-20415.');
  });

  it("honours the system prompt's form: JSON only, length, and labels in its language", async () => {
    const json = await ask(`Summarise:\n\n${ARTICLE}`, { system: 'Reply with JSON only.' });
    const parsed = JSON.parse(textOf(json)) as { summary: string; points: string[] };
    expect(norm(ARTICLE)).toContain(norm(sentencesOf(parsed.summary)[0]!));
    const short = await ask(`Summarise:\n\n${ARTICLE}`, { system: 'Answer in one sentence.' });
    expect(sentencesOf(textOf(short))).toHaveLength(1);
    const french = await ask('I was charged twice for my order, please refund one payment.', {
      system: "Classe chaque message dans l'une de ces catégories : facturation, technique, compte. Réponds uniquement par la catégorie.",
    });
    expect(textOf(french)).toBe('facturation');
  });
});

describe('tool inputs by schema', () => {
  const weather: Anthropic.Tool = {
    name: 'get_weather',
    description: 'Current weather for a city.',
    input_schema: {
      type: 'object',
      properties: { city: { type: 'string', description: 'City name' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city'],
    },
  };
  const email: Anthropic.Tool = {
    name: 'send_email',
    description: 'Send an email.',
    input_schema: {
      type: 'object',
      properties: { to: { type: 'string', format: 'email' }, subject: { type: 'string' }, body: { type: 'string' } },
      required: ['to', 'subject', 'body'],
    },
  };
  const quote: Anthropic.Tool = {
    name: 'get_quote',
    description: 'Latest stock price.',
    input_schema: { type: 'object', properties: { ticker: { type: 'string' } }, required: ['ticker'] },
  };

  it('fills each property with the value, not the clause', async () => {
    const m = await ask("What's the weather in Paris in celsius?", { tools: [weather] });
    expect(uses(m)[0]!.input).toEqual({ city: 'Paris', unit: 'celsius' });
    const mail = await ask('Email bob@example.com that the launch moved to Friday', { tools: [email] });
    expect(uses(mail)[0]!.input).toEqual({
      to: 'bob@example.com',
      subject: 'The launch moved to Friday',
      body: 'The launch moved to Friday.',
    });
    const stock = await ask('What is Apple trading at?', { tools: [quote] });
    expect(uses(stock)[0]!.input).toEqual({ ticker: 'AAPL' });
  });

  it('makes several independent calls for several parts, one call with disable_parallel_tool_use, and only the tool_use block when forced', async () => {
    const two = await ask("What's the weather in Paris and in Tokyo, and how are Apple and Microsoft doing?", { tools: [weather, quote] });
    expect(uses(two).map((u) => u.input)).toEqual([{ city: 'Paris' }, { city: 'Tokyo' }, { ticker: 'AAPL' }, { ticker: 'MSFT' }]);
    expect(two.content[0]!.type).toBe('text');
    const one = await ask("What's the weather in Paris and in Tokyo?", {
      tools: [weather],
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
    });
    expect(uses(one).map((u) => u.input)).toEqual([{ city: 'Paris' }]);
    const forced = await ask("What's the weather in Paris?", { tools: [weather, quote], tool_choice: { type: 'any' } });
    expect(forced.content.map((b) => b.type)).toEqual(['tool_use']);
    expect(forced.stop_reason).toBe('tool_use');
  });
});

describe('structured outputs', () => {
  it('answers with JSON conforming to the output_config schema', async () => {
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string' },
        company: { type: ['string', 'null'] },
        meeting: { type: 'string', format: 'date' },
        attendees: { type: 'integer', minimum: 1 },
        priority: { type: 'string', enum: ['low', 'normal', 'urgent'] },
        topics: { type: 'array', items: { type: 'string' }, minItems: 1 },
        summary: { type: 'string' },
      },
      required: ['name', 'company', 'meeting', 'attendees', 'priority', 'topics', 'summary'],
      additionalProperties: false,
    };
    const m = await ask(
      'Hello, this is Maria Lopez from Acme Corp. Could we meet on March 14, 2026 for an urgent review of the contract renewal? 3 people will attend.',
      { output_config: { format: { type: 'json_schema', schema } } } as Partial<Params>,
    );
    const value = JSON.parse(textOf(m)) as Record<string, unknown>;
    const validate = new Ajv({ strict: false, validateFormats: false }).compile(schema);
    expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
    expect(value.meeting).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(value).toMatchObject({ name: 'Maria Lopez', company: 'Acme Corp', meeting: '2026-03-14', attendees: 3, priority: 'urgent' });
  });
});

describe('citations on documents', () => {
  const refund =
    'Refunds are issued within 5 business days of approval. Returned items must be unused. Shipping is free on orders over USD 50.';
  const about = 'Our office is in Berlin. The team has 12 people and a dog called Pixel.';
  const documents: Anthropic.ContentBlockParam[] = [
    {
      type: 'document',
      source: { type: 'text', media_type: 'text/plain', data: refund },
      title: 'Refund policy',
      citations: { enabled: true },
    },
    { type: 'document', source: { type: 'text', media_type: 'text/plain', data: about }, title: 'About us', citations: { enabled: true } },
  ];
  const question = (text: string): Params => ({
    model: MODEL,
    max_tokens: 500,
    messages: [{ role: 'user', content: [...documents, { type: 'text', text }] }],
  });

  it('cites the sentences used by character range, and says an unrelated document is not relevant', async () => {
    const m = await client.messages.create(question('How long do refunds take?'));
    const cited = m.content.flatMap((b) => (b.type === 'text' && b.citations ? b.citations : []));
    expect(cited.length).toBeGreaterThan(0);
    for (const c of cited) {
      expect(c.type).toBe('char_location');
      if (c.type !== 'char_location') continue;
      const doc = [refund, about][c.document_index]!;
      expect(doc.slice(c.start_char_index, c.end_char_index)).toBe(c.cited_text);
      expect(c.document_title).toBe(['Refund policy', 'About us'][c.document_index]);
      expect(c.document_index).toBe(0);
    }
    expect(cited[0]).toMatchObject({ cited_text: 'Refunds are issued within 5 business days of approval.' });
    expect(textOf(m)).toContain('"About us" is not relevant to this question.');
    // Streaming delivers the same citations as citations_delta events.
    const streamed = await client.messages.stream(question('How long do refunds take?')).finalMessage();
    expect(streamed.content).toEqual(m.content);
  });

  it('cites nothing when no document bears on the question', async () => {
    const m = await client.messages.create(question('What is the capital of Peru?'));
    expect(m.content.some((b) => b.type === 'text' && b.citations)).toBe(false);
    expect(textOf(m)).toMatch(/^None of the documents addresses/);
  });
});

describe("Braid's summarize prompts", () => {
  const task = 'What must a customer know about returns and shipping?';
  const relevant = 'Customers may return unused items within 30 days of delivery. Return shipping is free in the EU.';
  const unrelated = 'The office coffee machine is cleaned every Friday. Desks are booked through the intranet.';
  const call = async (system: string, content: unknown[]) =>
    toBlocks(
      (
        await client.messages.create({
          model: MODEL,
          max_tokens: 1024,
          system,
          // As the model activity sends them: Braid's cache mark becomes cache_control, or goes.
          messages: withCacheControl(MODEL, system, undefined, [
            { role: 'user', content: content as ChatMessage['content'] },
          ]) as Params['messages'],
        })
      ).content,
    );
  const map = async (text: string, source: string) => {
    const doc = chunkDocument(text, source, 1000);
    return readReply(await call(MAP_SYSTEM, mapContent(task, source, text)), [doc]);
  };

  it('cites the sentences of a chunk that bears on the task, nothing of one that does not, and never a file path', async () => {
    const yes = await map(relevant, 'data/docs/returns.md');
    expect(yes.claims.map((c) => c.text)).toEqual([
      'Customers may return unused items within 30 days of delivery.',
      'Return shipping is free in the EU.',
    ]);
    expect(yes.claims[0]!.sources).toEqual([{ source: 'data/docs/returns.md', ranges: [[1000, 1061]] }]);
    expect(yes.checks).toMatchObject({ returned: 2, aligned: 2, rejected: 0, widened: 0 });
    const no = await map(unrelated, 'data/docs/office.md');
    expect(no.claims).toEqual([]);
    expect(no.checks.returned).toBe(0);

    const docs = [yes.claims, no.claims].filter((c) => c.length).map(findingsDocument);
    const final = readReply(
      await call(
        REDUCE_SYSTEM,
        reduceContent(
          task,
          docs.map((d) => d.text),
          true,
        ),
      ),
      docs,
    );
    expect(final.answer).toContain('Customers may return unused items within 30 days of delivery. [1]');
    expect(final.answer).not.toMatch(/coffee|data\/docs|\.md|returns\.md|Not relevant/);
    expect(final.claims.flatMap((c) => c.sources.map((x) => x.source))).not.toContain('data/docs/office.md');
  });
});

describe('personalities and forced answers', () => {
  const labels = 'Classify into one of: billing, technical_issue, account. Answer with the label only.\n\nMessage: I was charged twice.';

  it('makes a haiku-like model faster and cheaper than an opus-like one by default', async () => {
    const real = await Simulator.start({ quiet: true });
    try {
      const c = new Anthropic({ apiKey: 'sim', baseURL: real.url, maxRetries: 0 });
      const timed = async (model: string): Promise<number> => {
        const t0 = Date.now();
        await c.messages.create({ model, max_tokens: 100, messages: [{ role: 'user', content: labels }] });
        return Date.now() - t0;
      };
      const fast = await timed('claude-haiku-4-5');
      const slow = await timed('claude-opus-4-5');
      expect(slow).toBeGreaterThanOrEqual(295); // opus-like ttft is drawn from 300–700 ms
      expect(fast).toBeLessThan(slow);
      const [h, o] = real.ledger();
      expect(h!.costUsd!).toBeGreaterThan(0);
      expect(o!.costUsd!).toBeGreaterThan(h!.costUsd! * 3);
    } finally {
      await real.close();
    }
  });

  it('forces wrong, invalid and slow answers with #sim directives and answer rules', async () => {
    expect(textOf(await ask(labels))).toBe('billing');
    const wrong = textOf(await ask(`${labels}\n#sim answer=wrong`));
    expect(['technical_issue', 'account']).toContain(wrong);
    expect(textOf(await ask(`${labels}\n#sim answer=invalid`))).not.toMatch(/^(?:billing|technical_issue|account)$/);
    const broken = textOf(await ask(`Summarise as JSON.\n\n${ARTICLE}\n#sim answer=invalid`));
    expect(broken.startsWith('{"summary":')).toBe(true);
    expect(() => JSON.parse(broken)).toThrow();
    const t0 = Date.now();
    await ask(`${labels}\n#sim slow_ms=300`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(295);

    sim.configure({ answerRules: [{ match: { contains: 'charged twice' }, answer: 'wrong' }] });
    try {
      expect(textOf(await ask(labels))).not.toBe('billing');
    } finally {
      sim.configure({ answerRules: [] });
    }
    expect(textOf(await ask(labels))).toBe('billing');
  });

  it('gives the same answers for the same seed', async () => {
    const a = await Simulator.start({ quiet: true, seed: 7, latency: { ttftMs: 0, perTokenMs: 0 } });
    const b = await Simulator.start({ quiet: true, seed: 7, latency: { ttftMs: 0, perTokenMs: 0 } });
    try {
      const run = async (s: Simulator): Promise<string[]> => {
        const c = new Anthropic({ apiKey: 'sim', baseURL: s.url, maxRetries: 0 });
        const out: string[] = [];
        for (let i = 0; i < 20; i++)
          out.push(
            textOf(
              await c.messages.create({
                model: 'claude-haiku-4-5',
                max_tokens: 50,
                messages: [{ role: 'user', content: `${labels} (${i})` }],
              }),
            ),
          );
        return out;
      };
      expect(await run(a)).toEqual(await run(b));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
