/**
 * The `braid` CLI as a user runs it: a separate process against the run's Temporal server, with the
 * simulator as the model. Checks results, exit codes and that every error is one line.
 */
import { describe, expect, it } from 'vitest';
import { braid, expectOneLineError, server } from './cli-helpers';
import { startSimulator } from './helpers';

describe('braid ask', () => {
  it('answers with a worker inside the command and prints one JSON result, then lists the run', async () => {
    const env = server();
    const q =
      'What were total sales by region in 2025, what does the handbook say about refunds for damaged items, what is 26.2 miles in kilometres, and what is in notes/q3-plan.md?';
    const r = await braid(['ask', '--with-worker', '--json', q], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/simulated model/);
    // The model-call worker polls activities only, by design: the SDK's warning about it is not shown.
    expect(r.stderr).not.toMatch(/No workflows registered|\[WARN\]/);
    const out = JSON.parse(r.stdout);
    expect(out.simulated).toBe(true);
    expect(out.stopReason).toBe('end_turn');
    const tools = out.branches.filter((b: { kind: string }) => b.kind === 'tool');
    expect(tools.map((b: { name: string; status: string }) => `${b.name}:${b.status}`).sort()).toEqual([
      'calculator:ok',
      'read_file:ok',
      'search_docs:ok',
      'sql_query:ok',
    ]);
    expect(out.answer).toMatch(/42\.16/); // the calculator's 26.2 mi in km made it into the answer
    expect(out.usage.total.outputTokens).toBeGreaterThan(0);

    const runs = await braid(['runs', '--json'], env);
    expect(runs.code).toBe(0);
    const listed = runs.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(listed.find((w: { workflowId: string }) => w.workflowId === out.workflowId)?.status).toBe('COMPLETED');
  });

  it('labels an answer by what gave it: the simulator behind ANTHROPIC_BASE_URL, with a key set, is not Claude', async () => {
    const sim = await startSimulator();
    try {
      const env = { ...server(), ANTHROPIC_API_KEY: 'sk-ant-not-a-real-key', ANTHROPIC_BASE_URL: sim.url };
      const r = await braid(['ask', '--with-worker', 'What is 2 + 2?'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Answer — simulated model \(the answer came from Braid's simulator, not Claude\)/);
      expect(r.stdout).not.toMatch(/Claude:/);
      expect(r.stderr).toMatch(/the Messages API at http/); // the worker's banner names the endpoint, not "Claude"
    } finally {
      await sim.close();
    }
  });

  it('refuses to start a run nobody would pick up', async () => {
    expectOneLineError(await braid(['ask', 'hello'], server()), 1, /no worker is polling task queue "cli-/);
  });

  it.each([
    [['ask', '   '], /question is empty/],
    [['ask'], /missing required argument 'question'/],
    [['ask', '--bogus', 'hi'], /unknown option '--bogus'/],
    [['ask', '--max-turns', '0', 'hi'], /--max-turns.*whole number from 1 to 50/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('rejects bad input %j with one line and exit 2', async (args, pattern) => {
    expectOneLineError(await braid(args, server()), 2, pattern);
  });

  it('refuses a question over the limit the workflow enforces, before looking for a worker', async () => {
    expectOneLineError(await braid(['ask', 'x'.repeat(20_001)], server()), 2, /the question is 20001 characters; the limit is 20000/);
  });

  it('says the server is unreachable in one line, without a stack trace', async () => {
    expectOneLineError(
      await braid(['ask', 'hi'], { TEMPORAL_ADDRESS: '127.0.0.1:1' }),
      1,
      /cannot reach the Temporal server at 127\.0\.0\.1:1/,
    );
  });

  it('names a bad setting', async () => {
    expectOneLineError(await braid(['ask', 'hi'], { ...server(), BRAID_MAX_TOKENS: 'lots' }), 2, /invalid setting BRAID_MAX_TOKENS/);
  });
});

describe('braid tools', () => {
  it('prints the JSON schemas the model sees', async () => {
    const r = await braid(['tools', '--json']);
    expect(r.code).toBe(0);
    const specs = JSON.parse(r.stdout);
    expect(specs.map((s: { name: string }) => s.name)).toEqual(['sql_query', 'search_docs', 'calculator', 'read_file']);
    expect(specs.every((s: { input_schema: { type: string } }) => s.input_schema.type === 'object')).toBe(true);
  });
});
