// The limits that keep a tool call from taking its worker down, one at a time: the registry's
// deadline (kept even by a handler that ignores its abort signal), the sandbox processes' memory,
// time and reply limits, the calculator's and sql_query's use of them, and the result-size cap.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { resultText, MAX_TOOL_RESULT_CHARS } from '../src/activities/tools';
import {
  createCalculatorTool,
  createSqlTool,
  defineTool,
  findRepoRoot,
  Sandbox,
  SandboxFailure,
  SandboxLimit,
  ToolError,
  ToolRegistry,
  ToolTimeoutError,
} from '../src/tools';
import type { Probe } from './fixtures/sandbox-module';
import { ctx, failure } from './tool-helpers';

describe('the registry enforces every deadline', () => {
  let seen: AbortSignal | undefined;
  const deaf = defineTool({
    name: 'deaf',
    description: 'Never answers and ignores its abort signal.',
    input: z.object({}),
    timeoutMs: 300,
    handler: (_input, c) => {
      seen = c.signal;
      return new Promise(() => undefined);
    },
  });
  const registry = new ToolRegistry().register(deaf);

  it('fails a handler that ignores its signal at the tool timeout, and aborts that signal', async () => {
    const started = Date.now();
    const err = await failure(registry.run('deaf', {}, ctx()));
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(ToolTimeoutError);
    expect(err).toBeInstanceOf(ToolError); // an error result for the model, not a retry
    expect(err.message).toBe('deaf did not finish within 0.3 s and was stopped.');
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2_000);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(err);
  });

  it("uses the caller's deadline when it comes first, and tells the handler", async () => {
    const tool = defineTool({
      name: 'patient',
      description: 'Waits for its signal, then reports its deadline.',
      input: z.object({}),
      timeoutMs: 60_000,
      handler: (_input, c) =>
        new Promise((_, reject) => c.signal.addEventListener('abort', () => reject(new Error(`gave up by ${c.deadline}`)))),
    });
    const deadline = Date.now() + 200;
    const started = Date.now();
    const err = await failure(new ToolRegistry().register(tool).run('patient', {}, ctx(undefined, deadline)));
    expect(err).toBeInstanceOf(ToolTimeoutError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('gives up on a deaf handler as soon as the caller cancels', async () => {
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    setTimeout(() => controller.abort(reason), 50);
    expect(await failure(new ToolRegistry().register({ ...deaf, timeoutMs: 60_000 }).run('deaf', {}, ctx(controller.signal)))).toBe(reason);
  });
});

describe('Sandbox', () => {
  const sandbox = new Sandbox<{ greeting: string }, { probe: Probe; text?: string }, unknown>({
    name: 'test sandbox',
    module: join(__dirname, 'fixtures', 'sandbox-module.ts'),
    init: { greeting: 'hello' },
    maxProcesses: 2,
    heapMb: 64,
    maxRssMb: 200,
    maxReplyChars: 5_000,
  });
  const run = (probe: Probe, opts: { timeoutMs?: number; signal?: AbortSignal } = {}) =>
    sandbox.run({ probe, text: 'world' }, { signal: opts.signal ?? new AbortController().signal, timeoutMs: opts.timeoutMs });

  beforeAll(() => sandbox.warm(), 30_000);
  afterAll(() => sandbox.close());

  it('serves requests in a reused child process and passes on what the handler throws', async () => {
    expect(await run('echo')).toBe('hello world');
    const pid = await run('pid');
    expect(pid).not.toBe(process.pid);
    expect(await run('pid')).toBe(pid);
    const err = await failure(run('throw'));
    expect(err).toBeInstanceOf(SandboxFailure);
    expect(err.message).toBe('refused: world');
  });

  it('gives each child the heap limit it was configured with, whatever NODE_OPTIONS says', async () => {
    const before = process.env.NODE_OPTIONS;
    process.env.NODE_OPTIONS = '--max-old-space-size=2048';
    const other = new Sandbox({ ...sandboxOptions(), name: 'heap check' });
    try {
      const limit = await other.run({ probe: 'heapLimitMb' }, { signal: new AbortController().signal });
      expect(limit).toBeGreaterThanOrEqual(64);
      expect(limit).toBeLessThan(200);
    } finally {
      if (before === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = before;
      await other.close();
    }
  }, 20_000);

  it('stops a call that exhausts its heap, and the next call gets a fresh child', async () => {
    const pid = await run('pid');
    const err = await failure(run('heap', { timeoutMs: 15_000 }));
    expect(err).toBeInstanceOf(SandboxLimit);
    expect((err as SandboxLimit).limit).toBe('memory');
    expect(err.message).toMatch(/more than the 64 MB of memory/);
    expect(await run('echo')).toBe('hello world');
    expect(await run('pid')).not.toBe(pid);
  }, 20_000);

  it.runIf(process.platform === 'linux')(
    'kills a child whose memory outside the heap passes the cap',
    async () => {
      const err = await failure(run('buffers', { timeoutMs: 15_000 }));
      expect(err).toBeInstanceOf(SandboxLimit);
      expect(err.message).toMatch(/more than the 200 MB of memory/);
    },
    20_000,
  );

  it('kills a call that runs too long or is aborted, while this process stays responsive', async () => {
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 50);
    const started = Date.now();
    const err = await failure(run('spin', { timeoutMs: 500 }));
    clearInterval(ticker);
    expect(err).toBeInstanceOf(SandboxLimit);
    expect(err.message).toBe('it ran longer than 0.5 s and was stopped');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(ticks).toBeGreaterThanOrEqual(5);

    const controller = new AbortController();
    const reason = new Error('deadline');
    setTimeout(() => controller.abort(reason), 200);
    expect(await failure(run('spin', { signal: controller.signal }))).toBe(reason);
    expect(await run('echo')).toBe('hello world');
  });

  it('refuses an oversized reply inside the child', async () => {
    const err = await failure(run('big'));
    expect(err).toBeInstanceOf(SandboxLimit);
    expect(err.message).toBe('the result is 10002 characters; the limit is 5000');
  });

  it('runs at most maxProcesses children and stops them all on close', async () => {
    const spins = [1, 2, 3].map(() => run('spin', { timeoutMs: 1_000 }).catch((e: Error) => e));
    await new Promise((r) => setTimeout(r, 300));
    expect(sandbox.processCount).toBeLessThanOrEqual(2);
    await Promise.all(spins);
    const other = new Sandbox({ ...sandboxOptions(), name: 'closing' });
    await other.warm();
    const pending = failure(other.run({ probe: 'spin' }, { signal: new AbortController().signal }));
    await new Promise((r) => setTimeout(r, 200)); // the request is with the child
    expect(other.processCount).toBe(1);
    await other.close();
    expect(other.processCount).toBe(0);
    expect((await pending).message).toBe('the closing sandbox was closed');
    expect((await failure(other.run({ probe: 'echo' }, { signal: new AbortController().signal }))).message).toMatch(/closed/);
  }, 30_000);

  it('close() keeps the process alive until its children are gone', () => {
    const tsx = join(__dirname, '..', 'node_modules', '.bin', 'tsx');
    const res = spawnSync(tsx, [join(__dirname, 'fixtures', 'sandbox-close.ts')], { encoding: 'utf8', timeout: 60_000 });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(7);
  }, 60_000);

  function sandboxOptions() {
    return {
      module: join(__dirname, 'fixtures', 'sandbox-module.ts'),
      init: { greeting: 'hi' },
      maxProcesses: 1,
      heapMb: 64,
      maxRssMb: 200,
      maxReplyChars: 5_000,
    };
  }
});

describe('calculator and sql_query under hostile input', () => {
  // A long time limit, so that on a busy machine the memory bomb still meets its memory limit first.
  const registry = new ToolRegistry().register(
    createCalculatorTool({ timeoutMs: 60_000 }),
    createSqlTool({ dbPath: join(findRepoRoot(__dirname), 'data', 'sample-db.sql') }),
  );
  beforeAll(() => registry.warm(), 30_000);
  afterAll(() => registry.close());
  const calc = (expression: string, deadline?: number) => registry.run('calculator', { expression }, ctx(undefined, deadline));
  const sql = (query: string) => registry.run('sql_query', { sql: query }, ctx());

  it('calculator: a memory bomb is a memory-limit error and a CPU bomb is stopped at the deadline', async () => {
    const bomb = await failure(calc('size([diag(1:10000), diag(1:10000), diag(1:10000)])'));
    expect(bomb).toBeInstanceOf(ToolError);
    expect(bomb.message).toMatch(/^Could not evaluate ".*": it needed more than the 128 MB of memory the calculator may use/);
    const started = Date.now();
    const loop = await failure(calc('map(1:10000, f(x)=sum(map(1:10000, g(y)=y)))', Date.now() + 1_000));
    expect(loop).toBeInstanceOf(ToolTimeoutError);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await calc('0.15 * 2340')).toMatchObject({ value: 351 });
  }, 30_000);

  it('sql_query: SQLite refuses allocations past its heap limit, and the engine recovers', async () => {
    for (const query of ['SELECT zeroblob(500000000)', 'SELECT randomblob(300000000)', "SELECT length(printf('%.*c', 400000000, 'x'))"]) {
      const err = await failure(sql(query));
      expect(err, query).toBeInstanceOf(ToolError);
      expect(err.message, query).toMatch(/^Query stopped: it needed more than the 32 MB of memory a query may use/);
    }
    // zeroblob's length is computed without allocating the blob: not everything large is refused.
    expect(await sql('SELECT length(zeroblob(500000000)) AS n')).toMatchObject({ rows: [[500_000_000]] });
    expect(await sql('SELECT COUNT(*) FROM customers')).toMatchObject({ rows: [[40]] });
  }, 60_000);
});

describe('result text', () => {
  it('passes small results through and cuts large ones with a marker', () => {
    expect(resultText({ a: 1 })).toBe('{"a":1}');
    expect(resultText('plain')).toBe('plain');
    const big = resultText('y'.repeat(MAX_TOOL_RESULT_CHARS + 10));
    expect(big.startsWith('y'.repeat(MAX_TOOL_RESULT_CHARS))).toBe(true);
    expect(big.slice(MAX_TOOL_RESULT_CHARS)).toBe(
      `\n[truncated: ${MAX_TOOL_RESULT_CHARS + 10} characters in all; only the first ${MAX_TOOL_RESULT_CHARS} are shown]`,
    );
  });

  it('turns a result that cannot be serialised into a tool error', () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => resultText(loop)).toThrow(ToolError);
    expect(() => resultText({ n: 1n })).toThrow(/could not be turned into text: .*BigInt/);
  });
});
