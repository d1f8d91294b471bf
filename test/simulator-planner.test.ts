// Unit tests for the simulator's deterministic "model" (planner, tool-input generation, text-to-SQL,
// calculator expressions, answers). Generated SQL runs against a real SQLite (sql.js) and generated
// expressions through mathjs, so "plausible" here means "accepted by the tools Braid ships".
import { evaluate } from 'mathjs';
import initSqlJs, { type Database } from 'sql.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { salientWords } from '../src/simulator/answers';
import { extractExpression } from '../src/simulator/expression';
import { parseDirectives, planReply, stripDirectives } from '../src/simulator/planner';
import { constraintsOf, offeredLabels, requestedKeys, understand } from '../src/simulator/prompt';
import { parseTables, textToSql } from '../src/simulator/sql';
import { inputFromSchema, planCalls, splitClauses, topicOf } from '../src/simulator/tool-plan';
import type { MessagesRequest, RequestMessage, ToolDef, ToolUseBlock } from '../src/simulator/types';

const SCHEMA =
  'orders(id, customer_id, product_id, region, quantity, amount_usd, ordered_on), customers(id, name, country, segment), products(id, name, category, unit_price_usd)';

const TOOLS: ToolDef[] = [
  {
    name: 'sql_query',
    description: `Run one read-only SQL SELECT against the sales database (SQLite). Tables: ${SCHEMA}.`,
    input_schema: { type: 'object', properties: { sql: { type: 'string' } }, required: ['sql'] },
  },
  {
    name: 'search_docs',
    description: 'Search the company handbook (refund policy, shipping, security) and return the best passages.',
    input_schema: {
      type: 'object',
      properties: { query: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 10 } },
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
    input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
];

const SHOWCASE =
  'What were total sales by region in 2025, what does the handbook say about refunds for damaged items, what is 26.2 miles in kilometres, and what is in notes/q3-plan.md?';

const request = (messages: RequestMessage[] | string, extra: Partial<MessagesRequest> = {}): MessagesRequest => ({
  model: 'm',
  max_tokens: 1024,
  messages: typeof messages === 'string' ? [{ role: 'user', content: messages }] : messages,
  ...extra,
});

const text = (r: ReturnType<typeof planReply>): string => r.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
const uses = (r: ReturnType<typeof planReply>): ToolUseBlock[] => r.content.filter((b): b is ToolUseBlock => b.type === 'tool_use');

let db: Database;
beforeAll(async () => {
  const SQL = await initSqlJs();
  db = new SQL.Database();
  db.run(`
    CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, country TEXT, segment TEXT);
    CREATE TABLE products(id INTEGER PRIMARY KEY, name TEXT, category TEXT, unit_price_usd REAL);
    CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER, product_id INTEGER, region TEXT, quantity INTEGER, amount_usd REAL, ordered_on TEXT);
    INSERT INTO customers VALUES (1, 'Acme', 'Germany', 'Enterprise'), (2, 'Bolt', 'France', 'SMB');
    INSERT INTO products VALUES (1, 'Widget', 'hardware', 10), (2, 'Gizmo', 'software', 25);
    INSERT INTO orders VALUES
      (1, 1, 1, 'EMEA', 2, 20, '2025-01-10'), (2, 2, 2, 'EMEA', 1, 25, '2025-03-02'),
      (3, 1, 2, 'AMER', 4, 100, '2025-06-30'), (4, 2, 1, 'APAC', 1, 10, '2024-12-31');
  `);
});

const rows = (sql: string): unknown[][] => db.exec(sql)[0]?.values ?? [];

describe('text-to-SQL', () => {
  it('reads table signatures from a tool description', () => {
    expect(parseTables(`Tables: ${SCHEMA}. Uses mathjs(x) style.`).map((t) => t.name)).toEqual(['orders', 'customers', 'products']);
    expect(parseTables(SCHEMA)[2]!.columns).toEqual(['id', 'name', 'category', 'unit_price_usd']);
  });

  it('answers the showcase clause with a runnable GROUP BY filtered to the year', () => {
    const sql = textToSql('What were total sales by region in 2025', SCHEMA);
    expect(sql).toBe(
      "SELECT region, SUM(amount_usd) AS total_amount_usd FROM orders WHERE ordered_on LIKE '2025%' GROUP BY region ORDER BY region",
    );
    expect(rows(sql)).toEqual([
      ['AMER', 100],
      ['EMEA', 45],
    ]);
  });

  it.each([
    ['How many orders were placed in 2024?', [[1]]],
    [
      'What is the average order value by region?',
      [
        ['AMER', 100],
        ['APAC', 10],
        ['EMEA', 22.5],
      ],
    ],
    ['Top 1 customers by revenue', [['Acme', 120]]],
    [
      'total sales by product category in 2025',
      [
        ['hardware', 20],
        ['software', 125],
      ],
    ],
    ['how many customers are in Germany', [[1]]],
    ['How many customers are in the SMB segment?', [[1]]],
    ['Which 1 products had the highest revenue in 2025?', [['Gizmo', 125]]],
    [
      'list the products',
      [
        [1, 'Widget', 'hardware', 10],
        [2, 'Gizmo', 'software', 25],
      ],
    ],
  ])('%s', (question, expected) => {
    const sql = textToSql(question, SCHEMA);
    expect(sql).toMatch(/^SELECT /);
    expect(sql).not.toContain(';');
    expect(rows(sql)).toEqual(expected);
  });
});

describe('calculator expressions', () => {
  it.each([
    ['what is 26.2 miles in kilometres', '26.2 mi to km', 42.1648],
    ['what is 15% of 2340', '0.15 * 2340', 351],
    ['convert 100 °F to °C', '100 degF to degC', 37.7778],
    ['what is 12 times 7 plus 3', '12 * 7 + 3', 87],
    ['70 kg in pounds', '70 kg to lb', 154.324],
    ['how much is (3 + 4) * 12', '(3 + 4) * 12', 84],
  ])('%s', (clause, expression, value) => {
    const got = extractExpression(clause);
    expect(got).toBe(expression);
    const result: unknown = evaluate(got!);
    const n = typeof result === 'number' ? result : Number((result as { toNumber(): number }).toNumber());
    expect(n).toBeCloseTo(value, 3);
  });

  it('finds no maths in plain text or dates', () => {
    expect(extractExpression('what does the handbook say about refunds')).toBeUndefined();
    expect(extractExpression('orders since 2025-01-01')).toBeUndefined();
  });
});

describe('tool planning', () => {
  it('splits the showcase into four clauses and finds each topic', () => {
    const clauses = splitClauses(SHOWCASE);
    expect(clauses).toEqual([
      'What were total sales by region in 2025',
      'what does the handbook say about refunds for damaged items',
      'what is 26.2 miles in kilometres',
      'what is in notes/q3-plan.md',
    ]);
    expect(topicOf(clauses[1]!)).toBe('refunds for damaged items');
    expect(topicOf('Tell me the shipping times?')).toBe('shipping times');
  });

  it('plans one call per clause, deduplicated, and nothing for unrelated questions', () => {
    expect(planCalls(SHOWCASE, TOOLS).map((c) => c.name)).toEqual(['sql_query', 'search_docs', 'calculator', 'read_file']);
    expect(planCalls('Read notes/a.md. Then read notes/a.md', TOOLS)).toEqual([{ name: 'read_file', input: { path: 'notes/a.md' } }]);
    expect(planCalls('What is the weather in Paris?', TOOLS)).toEqual([]);
    expect(planCalls('How long does shipping take?', TOOLS).map((c) => c.name)).toEqual(['search_docs']);
  });

  it('builds schema-valid inputs: required always, optional only when evident', () => {
    const tool: ToolDef = {
      name: 'lookup',
      input_schema: {
        type: 'object',
        properties: {
          q: { type: 'string' },
          page: { type: 'integer', minimum: 1 },
          size: { type: 'integer', minimum: 1, maximum: 3 },
          mode: { enum: ['fast', 'thorough'] },
          strict: { type: 'boolean' },
          tags: { type: 'array', items: { type: 'string' } },
          note: { type: 'string' },
        },
        required: ['q', 'page', 'mode', 'strict', 'tags'],
      },
    };
    expect(inputFromSchema(tool.input_schema, 'please do a thorough lookup of top 8 invoices', tool)).toEqual({
      q: 'thorough lookup of top 8 invoices',
      page: 1,
      size: 3,
      mode: 'thorough',
      strict: false,
      tags: ['thorough lookup of top 8 invoices'],
    });
    expect(inputFromSchema(TOOLS[1]!.input_schema, 'search docs about security', TOOLS[1]!)).toEqual({ query: 'security' });
    expect(inputFromSchema(TOOLS[1]!.input_schema, 'top 3 passages about security', TOOLS[1]!)).toEqual({ query: 'security', limit: 3 });
  });
});

describe('directives', () => {
  it('parses and strips #sim lines', () => {
    const q = 'Do it.\n#sim tools=a,b rounds=3\n#sim answer_tokens=50\n#sim text=Exactly this = fine';
    expect(parseDirectives(q)).toEqual({ tools: ['a', 'b'], rounds: 3, answerTokens: 50, text: 'Exactly this = fine' });
    expect(stripDirectives(q)).toBe('Do it.');
  });

  it('with rounds=0 answers without tools', () => {
    const r = planReply(request(`${SHOWCASE}\n#sim rounds=0`, { tools: TOOLS }));
    expect(r.stopReason).toBe('end_turn');
    expect(uses(r)).toEqual([]);
  });
});

describe('planReply', () => {
  it('reports tool failures and quotes compact excerpts of results', () => {
    const first = planReply(request('Read notes/a.md and notes/b.md', { tools: TOOLS }));
    const [a, b] = uses(first);
    expect([a?.input, b?.input]).toEqual([{ path: 'notes/a.md' }, { path: 'notes/b.md' }]);
    const long = `alpha   beta\n\n${'gamma '.repeat(60)}`;
    const second = planReply(
      request(
        [
          { role: 'user', content: 'Read notes/a.md and notes/b.md' },
          { role: 'assistant', content: first.content },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: a!.id, content: [{ type: 'text', text: long }] },
              { type: 'tool_result', tool_use_id: b!.id, content: 'permission denied', is_error: true },
            ],
          },
        ],
        { tools: TOOLS },
      ),
    );
    const lines = text(second).split('\n');
    expect(lines[0]).toBe('Here is what I found (1 of 2 lookups failed):');
    expect(lines[1]).toMatch(/^- Read notes\/a\.md and notes\/b\.md \(read_file\): alpha beta gamma/);
    expect(lines[1]!.length).toBeLessThan(260);
    expect(lines[2]).toBe('- Read notes/a.md and notes/b.md (read_file): could not get it — permission denied');
  });

  it('answers a tool result by its shape: rows, a calculation, passages', () => {
    const first = planReply(request(SHOWCASE, { tools: TOOLS }));
    const ids = uses(first).map((u) => u.id);
    const results = [
      JSON.stringify({
        columns: ['region', 'total_amount_usd'],
        rows: [
          ['AMER', 1200.5],
          ['EMEA', 980],
        ],
      }),
      JSON.stringify({
        results: [
          {
            doc: 'refunds.md',
            section: 'Damaged items',
            snippet: 'Steps follow. Damaged items are refunded in full, including shipping. Photos help.',
          },
        ],
      }),
      JSON.stringify({ expression: '26.2 mi to km', result: '42.1648128 km' }),
      'no such file',
    ];
    const second = planReply(
      request(
        [
          { role: 'user', content: SHOWCASE },
          { role: 'assistant', content: first.content },
          {
            role: 'user',
            content: ids.map((id, i) => ({ type: 'tool_result' as const, tool_use_id: id, content: results[i], is_error: i === 3 })),
          },
        ],
        { tools: TOOLS },
      ),
    );
    expect(text(second).split('\n')).toEqual([
      'Here is what I found (1 of 4 lookups failed):',
      '- What were total sales by region in 2025 (sql_query): AMER: 1,200.5; EMEA: 980',
      '- What does the handbook say about refunds for damaged items (search_docs): "Damaged items are refunded in full, including shipping." (refunds.md, Damaged items)',
      '- What is 26.2 miles in kilometres (calculator): 26.2 mi to km = 42.1648128 km',
      '- What is in notes/q3-plan.md (read_file): could not get it — no such file',
    ]);
  });

  it('answers without tools from the prompt: honest without material, JSON from a template citing chunk ids', () => {
    const prose = planReply(request('Explain how Temporal retries failed activities.'));
    expect(text(prose)).toMatch(/^I'm Braid's simulated model/);
    expect(text(prose)).toContain('how Temporal retries failed activities');
    const json = planReply(
      request(
        'Respond with JSON only, shaped like {"summary": "…", "points": ["…"], "citations": ["chunk id"]}.\nTask: Summarise the refund rules.\nChunk [chunk:c-1] of docs/refunds.md, characters 0-80:\n---\nRefunds take 5 days. Shipping is refunded for damaged items.\n---',
      ),
    );
    expect(JSON.parse(text(json))).toEqual({
      summary: 'Refunds take 5 days. Shipping is refunded for damaged items.',
      points: [],
      citations: ['c-1'],
    });
  });

  it('honours tool_choice none and tool', () => {
    expect(uses(planReply(request(SHOWCASE, { tools: TOOLS, tool_choice: { type: 'none' } })))).toEqual([]);
    const forced = planReply(request('hello there', { tools: TOOLS, tool_choice: { type: 'tool', name: 'calculator' } }));
    expect(forced.stopReason).toBe('tool_use');
    expect(uses(forced).map((u) => u.name)).toEqual(['calculator']);
  });

  it('continues an assistant prefill instead of repeating it', () => {
    const r = planReply(
      request([
        { role: 'user', content: 'x\n#sim text=Hello world' },
        { role: 'assistant', content: 'Hello' },
      ]),
    );
    expect(text(r)).toBe(' world');
  });
});

describe('salient words', () => {
  it('ignore file labels and the simulator’s own padding', () => {
    const words = salientWords(
      'Refunds: data/docs/refunds-and-returns.md:0-400 says damaged refunds are paid. The details around refunds matter.',
    );
    expect(words[0]).toBe('refunds');
    expect(words).not.toContain('data');
    expect(words).not.toContain('docs');
    expect(words).not.toContain('details');
  });

  it('stay linear on a huge single-token prompt (a backtracking pattern once hung on 800 KB)', () => {
    const t0 = Date.now();
    expect(salientWords(`${'x'.repeat(1_000_000)} refunds`)).toContain('refunds');
    expect(Date.now() - t0).toBeLessThan(5_000); // the regression took minutes; this is a guard, not a benchmark
  });
});

describe('reading the prompt', () => {
  const read = (content: string, system?: string) =>
    understand({ model: 'm', max_tokens: 100, messages: [{ role: 'user', content }], ...(system ? { system } : {}) }, 0, content);

  it('finds labels, keys and form constraints', () => {
    expect(offeredLabels('Classify into one of: billing, technical_issue, account or other.')).toEqual([
      'billing',
      'technical_issue',
      'account',
      'other',
    ]);
    expect(offeredLabels('Pick one of the following:\n- positive\n- negative\n- neutral\n')).toEqual(['positive', 'negative', 'neutral']);
    expect(offeredLabels('Answer yes or no.')).toEqual(['yes', 'no']);
    expect(offeredLabels('What is JSON?')).toEqual([]);
    expect(requestedKeys('Extract JSON with keys name, company, meeting_date and phone from this email:')).toEqual([
      'name',
      'company',
      'meeting_date',
      'phone',
    ]);
    expect(requestedKeys('Extract the customer name, order number and city from the ticket.')).toEqual([
      'customer name',
      'order number',
      'city',
    ]);
    expect(constraintsOf('Reply with JSON only. Use at most 3 sentences and no more than 50 words, as bullet points.')).toEqual({
      json: true,
      maxSentences: 3,
      maxWords: 50,
      bullets: true,
    });
    expect(constraintsOf('What is JSON?')).toEqual({});
  });

  it('separates instructions from material and reads the task', () => {
    const judge = read(
      'Question: Which plan is cheaper?\n\nAnswer A: Plan X costs USD 5.\n\nAnswer B: Plan Y is nice.\n\nWhich answer is better?',
    );
    expect(judge.task).toBe('judge');
    expect(judge.candidates).toEqual([
      { name: 'A', text: 'Plan X costs USD 5.' },
      { name: 'B', text: 'Plan Y is nice.' },
    ]);
    const summary = read('Summarise this article:\n\nThe council met. It approved the plan.');
    expect(summary.task).toBe('summarize');
    expect(summary.sources.map((s) => s.text)).toEqual(['The council met. It approved the plan.']);
    const chunk = read(
      'Task: What about refunds?\nChunk [chunk:0:3] of data/docs/refunds.md, characters 10-60:\n---\nRefunds take 5 days.\n---',
    );
    expect(chunk.sources).toMatchObject([{ text: 'Refunds take 5 days.', ids: ['0:3'], context: 'refunds' }]);
    expect(chunk.question).toBe('What about refunds?');
    expect(read('Topic:\nSolar power\n\nResearch this topic for a short article.').task).toBe('research');
    expect(read('Hello there').task).toBe('chat');
  });
});
