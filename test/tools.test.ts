// Tests for the tool registry and the four bundled tools, run against the real sample data in
// data/. Expected figures are computed independently (for SQL, by parsing the INSERT statements
// in data/sample-db.sql directly) so a wrong query path cannot agree with itself.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  createDefaultRegistry,
  createReadFileTool,
  createSqlTool,
  defineTool,
  findRepoRoot,
  ToolError,
  ToolInputError,
  ToolRegistry,
  type ToolContext,
} from '../src/tools';
import { splitSections } from '../src/tools/search';
import { checkReadOnlySql } from '../src/tools/sql-guard';
import { renderSampleDb } from '../scripts/make-sample-data';
import { ctx, failure } from './tool-helpers';

const repo = findRepoRoot(__dirname);
const dataDir = join(repo, 'data');
const filesDir = join(dataDir, 'files');
const registry = createDefaultRegistry();

interface SqlOut {
  columns: string[];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
}
const sql = async (query: string): Promise<SqlOut> => (await registry.run('sql_query', { sql: query }, ctx())) as unknown as SqlOut;

// Start the calculator's and sql_query's sandbox processes before the first timed call, as a worker does.
beforeAll(() => registry.warm(), 30_000);

afterAll(async () => {
  await registry.close();
});

describe('ToolRegistry', () => {
  it('produces Anthropic-shaped specs from the zod schemas', () => {
    const specs = registry.specs();
    expect(specs.map((s) => s.name)).toEqual(['sql_query', 'search_docs', 'calculator', 'read_file']);
    for (const spec of specs) {
      expect(spec.input_schema.type).toBe('object');
      expect(spec.input_schema).not.toHaveProperty('$schema');
      expect(spec.description.length).toBeGreaterThan(80);
    }
    const search = specs.find((s) => s.name === 'search_docs')!.input_schema as {
      properties: Record<string, { type: string; description?: string; minimum?: number; maximum?: number }>;
      required: string[];
    };
    // `limit` has a default, so the model may leave it out.
    expect(search.required).toEqual(['query']);
    expect(search.properties.limit).toMatchObject({ type: 'integer', minimum: 1, maximum: 10 });
    expect(search.properties.query!.description).toMatch(/refund damaged item/);
    const readFile = registry.specs(['read_file'])[0]!.input_schema as {
      required: string[];
      properties: Record<string, { maximum?: number }>;
    };
    expect(readFile.required).toEqual(['path']);
    expect(readFile.properties.maxBytes!.maximum).toBe(200_000);
  });

  it('returns specs in the order asked and names unknown tools', () => {
    expect(registry.specs(['calculator', 'sql_query']).map((s) => s.name)).toEqual(['calculator', 'sql_query']);
    expect(() => registry.specs(['calculator', 'web_search'])).toThrow(
      /"web_search".*known tools: sql_query, search_docs, calculator, read_file/,
    );
  });

  it('hands out copies of specs', () => {
    registry.specs(['calculator'])[0]!.input_schema.type = 'string';
    expect(registry.specs(['calculator'])[0]!.input_schema.type).toBe('object');
  });

  it('rejects duplicate names, bad names and non-object schemas', () => {
    const tool = (name: string, input: z.ZodType = z.object({})) =>
      defineTool({ name, description: 'test tool', input, handler: async () => 'ok' });
    const reg = new ToolRegistry().register(tool('echo'));
    expect(() => reg.register(tool('echo'))).toThrow(/"echo" is already registered/);
    for (const bad of ['', 'has space', 'dots.not.allowed', 'ü', 'x'.repeat(65)]) {
      expect(() => new ToolRegistry().register(tool(bad)), bad).toThrow(/Invalid tool name/);
    }
    expect(() => new ToolRegistry().register(tool('a-b_C9'), tool('x'.repeat(64)))).not.toThrow();
    expect(() => new ToolRegistry().register(tool('plain', z.string()))).toThrow(/must be a z\.object/);
    expect(reg.names()).toEqual(['echo']);
  });

  it('validates input, applies defaults and passes the context to the handler', async () => {
    const handler = vi.fn(async (input: { word: string; times: number }, _ctx?: ToolContext) => input.word.repeat(input.times));
    const reg = new ToolRegistry().register(
      defineTool({
        name: 'repeat',
        description: 'Repeats a word.',
        input: z.object({ word: z.string().min(1), times: z.number().int().max(5).default(2) }),
        handler,
      }),
    );
    const c = ctx();
    const before = Date.now();
    await expect(reg.run('repeat', { word: 'ab' }, c)).resolves.toBe('abab');
    expect(handler).toHaveBeenCalledWith(
      { word: 'ab', times: 2 },
      expect.objectContaining({ heartbeat: c.heartbeat, toolUseId: 'toolu_test' }),
    );
    // The handler sees its deadline: the tool's timeout (30 s by default) from the start of the call.
    const deadline = handler.mock.calls[0]![1]!.deadline!;
    expect(deadline).toBeGreaterThanOrEqual(before + 30_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 30_000);
    expect(reg.timeoutMs('repeat')).toBe(30_000);
    expect(registry.timeoutMs('calculator')).toBe(5_000);

    const bad = await failure(reg.run('repeat', { word: '', times: 9 }, ctx()));
    expect(bad).toBeInstanceOf(ToolInputError);
    expect(bad.name).toBe('ToolInputError');
    expect(bad.message).toMatch(/^Invalid input for repeat: word: .*; times: .*<=5/);
    expect(bad.message).not.toContain('\n');
    expect((await failure(reg.run('repeat', 'ab', ctx()))).message).toMatch(/\(input\): .*expected object/);
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('reports unknown tools as input errors and does not start aborted calls', async () => {
    const unknown = await failure(registry.run('web_search', {}, ctx()));
    expect(unknown).toBeInstanceOf(ToolInputError);
    expect(unknown.message).toMatch(/Unknown tool "web_search"; available tools: sql_query/);

    const handler = vi.fn(async () => 'ran');
    const reg = new ToolRegistry().register(defineTool({ name: 't', description: 'd', input: z.object({}), handler }));
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    expect((await failure(reg.run('t', {}, ctx(controller.signal)))).message).toBe('cancelled');
    expect(handler).not.toHaveBeenCalled();
  });

  it('finds the repository root and its data from either src/ or dist/', () => {
    expect(JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).name).toBe('braid');
    expect(findRepoRoot(join(repo, 'dist', 'tools'))).toBe(repo);
  });
});

describe('sql_query', () => {
  // Independent expectations: parse the committed SQL file instead of asking SQLite.
  const orders = [
    ...readFileSync(join(dataDir, 'sample-db.sql'), 'utf8').matchAll(
      /^INSERT INTO orders VALUES \((\d+), (\d+), (\d+), '([^']+)', (\d+), ([\d.]+), '([\d-]+)'\);$/gm,
    ),
  ].map((m) => ({ customer: Number(m[2]), region: m[4]!, amount: Number(m[6]), date: m[7]! }));

  it('sample data is plausible and exactly what the generator makes', () => {
    const text = readFileSync(join(dataDir, 'sample-db.sql'), 'utf8');
    expect(text).toBe(renderSampleDb());
    expect(statSync(join(dataDir, 'sample-db.sql')).size).toBeLessThan(200_000);
    expect(orders).toHaveLength(600);
    expect(new Set(orders.map((o) => o.region))).toEqual(new Set(['North America', 'EMEA', 'APAC', 'LATAM']));
    expect(orders.every((o) => o.date >= '2024-01-01' && o.date <= '2025-12-31')).toBe(true);
    expect(orders.filter((o) => o.date.startsWith('2024')).length).toBeGreaterThan(200);
    expect(orders.filter((o) => o.date.startsWith('2025')).length).toBeGreaterThan(200);
  });

  it('revenue by region matches an independent sum over the rows', async () => {
    const out = await sql('SELECT region, SUM(amount_usd) AS revenue, COUNT(*) AS n FROM orders GROUP BY region ORDER BY region');
    expect(out.columns).toEqual(['region', 'revenue', 'n']);
    expect(out.rowCount).toBe(4);
    expect(out.truncated).toBe(false);
    for (const [region, revenue, n] of out.rows as [string, number, number][]) {
      const mine = orders.filter((o) => o.region === region);
      expect(n).toBe(mine.length);
      expect(revenue).toBeCloseTo(
        mine.reduce((s, o) => s + o.amount, 0),
        2,
      );
    }
  });

  it('joins tables: the top customer of 2025 matches an independent ranking', async () => {
    const out = await sql(`
      SELECT c.id, c.name, ROUND(SUM(o.amount_usd), 2) AS revenue
      FROM orders o JOIN customers c ON c.id = o.customer_id
      WHERE o.ordered_on BETWEEN '2025-01-01' AND '2025-12-31'
      GROUP BY c.id ORDER BY revenue DESC LIMIT 1`);
    const totals = new Map<number, number>();
    for (const o of orders.filter((x) => x.date.startsWith('2025'))) totals.set(o.customer, (totals.get(o.customer) ?? 0) + o.amount);
    const [bestId, bestRevenue] = [...totals.entries()].sort((a, b) => b[1] - a[1])[0]!;
    expect(out.rows[0]![0]).toBe(bestId);
    expect(out.rows[0]![2]).toBeCloseTo(bestRevenue, 2);
  });

  it('caps results at 200 rows and says so', async () => {
    const all = await sql('SELECT * FROM orders ORDER BY id');
    expect(all.rowCount).toBe(200);
    expect(all.rows).toHaveLength(200);
    expect(all.truncated).toBe(true);
    expect(all.rows[199]![0]).toBe(200);
    const exact = await sql('SELECT id FROM orders LIMIT 200');
    expect(exact.truncated).toBe(false);
  });

  it('the description names every table and column exactly as in the database', async () => {
    const description = registry.get('sql_query')!.description;
    const signatures = [...description.matchAll(/(\w+)\(([^)]*)\)/g)].map((m) => ({ table: m[1]!, columns: m[2]!.split(', ') }));
    expect(signatures.map((s) => s.table)).toEqual(['orders', 'customers', 'products']);
    for (const { table, columns } of signatures) {
      expect((await sql(`SELECT * FROM ${table} LIMIT 1`)).columns).toEqual(columns);
    }
    expect(description).toContain("'YYYY-MM-DD'");
    expect(description).toMatch(/'EMEA'/);
  });

  it('refuses anything but one read-only query, and the data stays intact', async () => {
    const refused = [
      'DELETE FROM orders',
      'UPDATE orders SET amount_usd = 0',
      'DROP TABLE orders',
      'PRAGMA table_info(orders)',
      "ATTACH DATABASE ':memory:' AS other",
      'SELECT 1; DROP TABLE orders',
      'SELECT 1; SELECT 2',
      'WITH doomed AS (SELECT id FROM orders) DELETE FROM orders WHERE id IN (SELECT id FROM doomed)',
      // REPLACE is not banned by the text guard (it is also a string function); SQLite's query_only stops it.
      "WITH x AS (SELECT 1) REPLACE INTO products VALUES (1, 'Free', 'Bedding', 0)",
    ];
    for (const query of refused) {
      const err = await failure(sql(query));
      expect(err, query).toBeInstanceOf(ToolError);
      expect(err.message, query).toMatch(/read-only|one statement/);
    }
    expect((await sql('SELECT COUNT(*) FROM orders')).rows).toEqual([[600]]);
    expect((await sql('SELECT unit_price_usd FROM products WHERE id = 1')).rows).toEqual([[189]]);
  });

  it('reads semicolons and keywords inside strings and comments as text', async () => {
    expect((await sql("SELECT 'a;DELETE' AS s; -- done; DROP TABLE x")).rows).toEqual([['a;DELETE']]);
    expect(checkReadOnlySql('/* ; */ SELECT 1 /* DROP */;').ok).toBe(true);
    expect(checkReadOnlySql('SELECT "drop" FROM t').ok).toBe(true);
    expect(checkReadOnlySql("SELECT 'it''s'; DELETE FROM t").ok).toBe(false);
    expect(checkReadOnlySql('-- just a comment').ok).toBe(false);
  });

  it("reports SQL errors with SQLite's message", async () => {
    const err = await failure(sql('SELECT revenue FROM orders'));
    expect(err).toBeInstanceOf(ToolError);
    expect(err.message).toBe('SQLite error: no such column: revenue');
  });

  it('stops a runaway query, keeps the worker free, and recovers', async () => {
    const tool = createSqlTool({ dbPath: join(dataDir, 'sample-db.sql'), queryTimeoutMs: 400 });
    const reg = new ToolRegistry().register(tool);
    await reg.warm();
    const forever = 'WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT COUNT(*) FROM n';
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 50);
    const started = Date.now();
    const err = await failure(reg.run('sql_query', { sql: forever }, ctx()));
    clearInterval(ticker);
    expect(err).toBeInstanceOf(ToolError);
    expect(err.message).toMatch(/ran longer than 0.4 s/);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(ticks).toBeGreaterThanOrEqual(4); // the event loop kept running meanwhile
    expect(await reg.run('sql_query', { sql: 'SELECT COUNT(*) AS n FROM customers' }, ctx())).toMatchObject({ rows: [[40]] });
    await reg.close();
  });

  it('stops a running query when the activity is cancelled', async () => {
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    setTimeout(() => controller.abort(reason), 150);
    const forever = 'WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT COUNT(*) FROM n';
    const started = Date.now();
    expect(await failure(registry.run('sql_query', { sql: forever }, ctx(controller.signal)))).toBe(reason);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('search_docs', () => {
  type Hit = { doc: string; section: string; score: number; snippet: string; offset: number };
  const search = async (query: string, limit?: number): Promise<Hit[]> =>
    ((await registry.run('search_docs', { query, limit }, ctx())) as { results: Hit[] }).results;

  it('ranks the refunds policy first for damaged-item refunds', async () => {
    const results = await search('damaged items refund');
    expect(results).toHaveLength(3);
    const [top] = results;
    expect(top!.doc).toBe('refunds-and-returns.md');
    expect(top!.section).toBe('Refunds for damaged or faulty items');
    expect(top!.snippet.toLowerCase()).toMatch(/damage/);
    expect(top!.snippet.length).toBeLessThanOrEqual(310);
    // offset points at the section's heading in its file
    const file = readFileSync(join(dataDir, 'docs', top!.doc), 'utf8');
    expect(file.slice(top!.offset)).toMatch(/^## Refunds for damaged or faulty items\n/);
    const scores = results.map((r) => r.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('tolerates typos and finds specific facts', async () => {
    expect((await search('laptop encripton', 1))[0]).toMatchObject({ doc: 'security-policy.md', section: 'Devices' });
    const retention = await search('call recordings kept', 1);
    expect(retention[0]!.doc).toBe('data-retention.md');
    expect(retention[0]!.snippet).toContain('Call recordings | 90 days');
    expect((await search('volume discount 50 units', 2))[0]!.doc).toBe('pricing-and-discounts.md');
  });

  it('respects limit and refuses queries with nothing to search for', async () => {
    expect(await search('shipping', 7)).toHaveLength(7);
    expect(await search('zzqxv')).toEqual([]);
    expect(await failure(search('the of and'))).toBeInstanceOf(ToolError);
    expect(await failure(search('refund', 11))).toBeInstanceOf(ToolInputError);
  });

  it('splits markdown at headings, ignoring fenced code', () => {
    const md = 'Intro line.\n# Title\nBody one.\n```\n# not a heading\n```\n## Part two\nBody two.\n';
    const sections = splitSections('x.md', md);
    expect(sections.map((s) => [s.section, s.offset])).toEqual([
      ['Title', 0],
      ['Title', 12],
      ['Part two', md.indexOf('## Part two')],
    ]);
    expect(sections[1]!.text).toContain('# not a heading');
  });
});

describe('calculator', () => {
  type Calc = { expression: string; result: string; value?: number; unit?: string };
  const calc = async (expression: string): Promise<Calc> => (await registry.run('calculator', { expression }, ctx())) as Calc;

  it('does arithmetic, percentages and unit conversions', async () => {
    const marathon = await calc('26.2 mi to km');
    expect(marathon.value).toBeCloseTo(42.16, 2);
    expect(marathon.unit).toBe('km');
    expect(marathon.result).toBe('42.1648128 km');
    expect((await calc('15% * 2340')).value).toBe(351);
    expect((await calc('0.15 * 2340')).value).toBe(351);
    expect((await calc('sqrt(2)^2')).value).toBeCloseTo(2, 12);
    expect(await calc('100 degF to degC')).toMatchObject({ value: 37.77777778, unit: 'degC' });
    expect(await calc('1/3')).toMatchObject({ result: '0.3333333333', value: 0.3333333333 });
    expect((await calc('2598960 * 2')).result).toBe('5197920');
    expect((await calc('a = 30 * 32; a * 0.9')).value).toBe(864);
    expect(await calc('sqrt(-4)')).toEqual({ expression: 'sqrt(-4)', result: '2i' });
  });

  it('refuses functions that could change or escape the instance', async () => {
    for (const e of [
      'import({}, {})',
      'evaluate("1")',
      'parse("1")',
      'createUnit("foo")',
      'simplify("x+x")',
      'derivative("x^2", "x")',
      'config({number: "BigNumber"})',
      'zeros(1000, 1000)',
    ]) {
      const err = await failure(calc(e));
      expect(err, e).toBeInstanceOf(ToolError);
      expect(err.message, e).toMatch(/is disabled/);
    }
    // the config() attempt above must not have switched later results to BigNumber
    expect((await calc('0.1 + 0.2')).value).toBeTypeOf('number');
    expect((await failure(calc('1:1e9'))).message).toMatch(/limited to 10000/);
    expect((await calc('sum(1:100)')).value).toBe(5050);
  });

  it('keeps no state between calls and reports errors on one line', async () => {
    expect((await calc('secret = 7; secret')).value).toBe(7);
    expect((await failure(calc('secret'))).message).toMatch(/Undefined symbol secret/);
    const err = await failure(calc('sin('));
    expect(err).toBeInstanceOf(ToolError);
    expect(err.message).not.toContain('\n');
    expect(await failure(calc('1+'.repeat(300) + '1'))).toBeInstanceOf(ToolInputError);
  });
});

describe('read_file', () => {
  type Read = { path: string; bytes: number; truncated: boolean; content: string };
  const read = async (path: string, maxBytes?: number, reg = registry): Promise<Read> =>
    (await reg.run('read_file', { path, maxBytes }, ctx())) as Read;

  let tmp: string;
  let tmpRegistry: ToolRegistry;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'braid-read-file-'));
    mkdirSync(join(tmp, 'root', 'sub'), { recursive: true });
    writeFileSync(join(tmp, 'secret.txt'), 'outside the root');
    writeFileSync(join(tmp, 'root', 'sub', 'inside.txt'), 'inside the root');
    writeFileSync(join(tmp, 'root', 'accents.txt'), 'é'.repeat(10));
    writeFileSync(join(tmp, 'root', 'image.bin'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x0d]));
    writeFileSync(join(tmp, 'root', 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x21])); // "café!" in Latin-1
    symlinkSync(join(tmp, 'secret.txt'), join(tmp, 'root', 'escape.txt'));
    symlinkSync(join(tmp, 'root', 'sub', 'inside.txt'), join(tmp, 'root', 'alias.txt'));
    symlinkSync(tmp, join(tmp, 'root', 'up'));
    symlinkSync(join(tmp, 'root', 'loop-b'), join(tmp, 'root', 'loop-a'));
    symlinkSync(join(tmp, 'root', 'loop-a'), join(tmp, 'root', 'loop-b'));
    tmpRegistry = new ToolRegistry().register(createReadFileTool({ rootDir: join(tmp, 'root') }));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('reads sample files exactly', async () => {
    const readme = await read('README.txt');
    expect(readme.content).toBe(readFileSync(join(filesDir, 'README.txt'), 'utf8'));
    expect(readme).toMatchObject({ path: 'README.txt', truncated: false, bytes: statSync(join(filesDir, 'README.txt')).size });
    const plan = await read('./notes/../notes/q3-plan.md');
    expect(plan.path).toBe('notes/q3-plan.md');
    expect(plan.content).toContain('Melbourne');
    expect(plan.content).toBe(readFileSync(join(filesDir, 'notes', 'q3-plan.md'), 'utf8'));
    expect((await read(join(filesDir, 'README.txt'))).path).toBe('README.txt'); // absolute, but inside
  });

  it('truncates at maxBytes without splitting a character', async () => {
    const cut = await read('notes/q3-plan.md', 100);
    expect(cut.truncated).toBe(true);
    expect(cut.bytes).toBe(statSync(join(filesDir, 'notes', 'q3-plan.md')).size);
    expect(
      Buffer.from(cut.content).equals(readFileSync(join(filesDir, 'notes', 'q3-plan.md')).subarray(0, Buffer.byteLength(cut.content))),
    ).toBe(true);
    expect(Buffer.byteLength(cut.content)).toBeGreaterThan(96);
    expect(await read('accents.txt', 5, tmpRegistry)).toMatchObject({ content: 'éé', truncated: true, bytes: 20 });
    expect(await failure(read('README.txt', 200_001))).toBeInstanceOf(ToolInputError);
  });

  it('refuses paths outside the root, including through symlinks', async () => {
    for (const path of ['../package.json', 'notes/../../package.json', resolve(repo, 'package.json'), '/etc/passwd']) {
      const err = await failure(read(path));
      expect(err, path).toBeInstanceOf(ToolError);
      expect(err.message, path).toMatch(/outside the allowed directory/);
    }
    expect((await failure(read('escape.txt', undefined, tmpRegistry))).message).toMatch(/outside the allowed directory/);
    expect((await failure(read('../secret.txt', undefined, tmpRegistry))).message).toMatch(/outside the allowed directory/);
    expect((await failure(read('up/secret.txt', undefined, tmpRegistry))).message).toMatch(/outside the allowed directory/);
    // a missing file under a symlinked directory must not list what is outside
    const missing = await failure(read('up/missing.txt', undefined, tmpRegistry));
    expect(missing.message).toBe('No such file: "up/missing.txt".');
    expect(await read('alias.txt', undefined, tmpRegistry)).toMatchObject({ path: 'sub/inside.txt', content: 'inside the root' });
  });

  it('refuses binary files, directories and missing files with clear errors', async () => {
    expect((await failure(read('image.bin', undefined, tmpRegistry))).message).toMatch(/"image.bin" is a binary file/);
    expect((await failure(read('latin1.txt', undefined, tmpRegistry))).message).toMatch(/binary file \(not UTF-8 text\)/);
    const dir = await failure(read('notes'));
    expect(dir).toBeInstanceOf(ToolError);
    expect(dir.message).toBe('"notes" is a directory, not a file. It contains: meeting-2025-06-12.md, q3-plan.md');
    expect((await failure(read('.', undefined, tmpRegistry))).message).toMatch(/is a directory.*sub\//);
    const missing = await failure(read('notes/q4-plan.md'));
    expect(missing).toBeInstanceOf(ToolError);
    expect(missing.message).toMatch(/^No such file: "notes\/q4-plan.md"\. Entries in notes\/: meeting-2025-06-12.md, q3-plan.md$/);
  });

  it('turns bad paths into errors for the model that name no absolute path', async () => {
    const cases: [string, RegExp][] = [
      ['loop-a', /^Cannot read "loop-a": it runs into a loop of symbolic links\.$/],
      ['loop-a/notes.txt', /loop of symbolic links/],
      ['sub/inside.txt\u0000.png', /^The path contains a NUL byte/],
      ['x'.repeat(300), /the path or one of its names is too long/],
    ];
    for (const [path, message] of cases) {
      const err = await failure(read(path, undefined, tmpRegistry));
      expect(err, path).toBeInstanceOf(ToolError); // a refusal: never retried
      expect(err.message, path).toMatch(message);
      expect(err.message, path).not.toContain(tmp);
    }
  });

  it('reports a missing files folder without its absolute path', async () => {
    const reg = new ToolRegistry().register(createReadFileTool({ rootDir: join(tmp, 'no-such-folder') }));
    const err = await failure(read('README.txt', undefined, reg));
    expect(err.message).toBe('The shared files folder is not readable (ENOENT); check BRAID_FILES_DIR on the worker.');
  });
});
