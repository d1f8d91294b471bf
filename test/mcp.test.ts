/**
 * MCP tool servers (issue #12 §3) against real servers from npm — the reference filesystem and
 * memory servers — and a misbehaving server built with the official SDK
 * (fixtures/mcp-crashy-server.mjs), all started by the test as stdio processes; the agent runs on
 * the real Temporal server with the simulator as its model.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentProgressQuery, ASK_WORKFLOW, type AgentInput, type AgentResult, type ToolApproval } from '../src/shared/ask';
import { decideUpdate, decisionSignal } from '../src/shared/publish';
import type { LlmRequest, ToolInfo, ToolResultBlock } from '../src/shared/types';
import type { Simulator } from '../src/simulator';
import { createReadFileTool, ToolRegistry } from '../src/tools';
import { connectMcpServers, mcpAnnotations, McpStartError, mcpToolName, type McpToolSet } from '../src/tools/mcp';
import { loadMcpConfig, McpConfigError, parseMcpConfig, type McpConfig } from '../src/tools/mcp-config';
import type { toolAgent } from '../src/workflows';
import { z } from 'zod';
import { braid, expectOneLineError, server } from './cli-helpers';
import {
  connect,
  localActivityResult,
  scheduledInputs,
  sleep,
  startSimulator,
  startWorker,
  workflowBundle,
  type Harness,
  type TestWorker,
} from './helpers';

const serverBin = (name: string) => require.resolve(`@modelcontextprotocol/${name}/dist/index.js`);
const CRASHY = join(__dirname, 'fixtures', 'mcp-crashy-server.mjs');

/** A streamable HTTP MCP server (the SDK's, stateless) with one tool, `lookup.city`: a name the Messages API refuses. */
async function startHttpServer(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const http: Server = createServer((req, res) => {
    requests++;
    const mcp = new McpServer({ name: 'http-test', version: '1.0.0' });
    mcp.registerTool(
      'lookup.city',
      { description: 'Looks up the country of a city.', inputSchema: { city: z.string() }, annotations: { readOnlyHint: true } },
      async ({ city }) => ({ content: [{ type: 'text', text: `${city} is in Atlantis` }] }),
    );
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void transport.close().then(() => mcp.close()));
    void mcp.connect(transport).then(() => transport.handleRequest(req, res));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    requests: () => requests,
    close: () => new Promise((resolve) => http.close(() => resolve())),
  };
}

describe('MCP tool names', () => {
  it('namespaces a tool by its server, so it cannot collide with a built-in of the same name', () => {
    expect(mcpToolName('fs', 'read_file')).toBe('fs__read_file');
  });

  it('makes a name the Messages API refuses safe, and keeps two such names apart', () => {
    const dotted = mcpToolName('srv', 'get.weather/v2');
    const plain = mcpToolName('srv', 'get_weather_v2');
    expect(dotted).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(dotted).not.toBe(plain);
    const long = 'x'.repeat(70);
    const a = mcpToolName('srv', `${long}a`);
    const b = mcpToolName('srv', `${long}b`);
    expect(a.length).toBeLessThanOrEqual(64);
    expect(a).not.toBe(b);
  });
});

describe('MCP annotations', () => {
  it("follows the server's annotations, and the config's lists over them", () => {
    const server = { command: 'x', destructive: ['archive'], idempotent: ['append'] };
    expect(mcpAnnotations({ name: 'read', annotations: { readOnlyHint: true, destructiveHint: true } }, server)).toEqual({
      readOnly: true,
      destructive: false,
      idempotent: true,
    });
    expect(mcpAnnotations({ name: 'drop', annotations: { destructiveHint: true } }, server)).toMatchObject({
      destructive: true,
      idempotent: false,
    });
    // No annotations: not read-only, so not retried after it may have acted; destructive only when someone says so.
    expect(mcpAnnotations({ name: 'post' }, server)).toEqual({ readOnly: false, destructive: false, idempotent: false });
    expect(mcpAnnotations({ name: 'archive', annotations: { destructiveHint: false } }, server)).toMatchObject({ destructive: true });
    expect(mcpAnnotations({ name: 'append' }, server)).toMatchObject({ idempotent: true });
  });

  it('lets a person approve calls only of the destructive tools the config lists under `approve`', () => {
    const server = { command: 'x', approve: ['drop', 'read'] };
    expect(mcpAnnotations({ name: 'drop', annotations: { destructiveHint: true } }, server)).toMatchObject({
      destructive: true,
      approve: true,
    });
    expect(mcpAnnotations({ name: 'read', annotations: { readOnlyHint: true } }, server)).not.toHaveProperty('approve');
    expect(mcpAnnotations({ name: 'wipe', annotations: { destructiveHint: true } }, server)).not.toHaveProperty('approve');
  });
});

describe('MCP config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'braid-mcp-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    [{ servers: {} }, /\(top level\)|servers/],
    [{ mcpServers: { fs: {} } }, /mcpServers\.fs: give either "command" .* or "url"/],
    [{ mcpServers: { 'bad name!': { command: 'x' } } }, /"bad name!" is not a server name; use 1-24 letters/],
    [{ mcpServers: { fs: { command: 'x', timeoutMs: -1 } } }, /mcpServers\.fs/],
    [{ mcpServers: { web: { url: 'not a url' } } }, /mcpServers\.web/],
  ])('refuses %j with one line', (raw, message) => {
    const err = (() => {
      try {
        parseMcpConfig(raw, 'servers.json');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(McpConfigError);
    expect(err!.message).toMatch(message);
    expect(err!.message).not.toContain('\n');
  });

  it('says when the file is missing or not JSON', () => {
    expect(() => loadMcpConfig(join(dir, 'missing.json'))).toThrow(/cannot read the MCP config .*ENOENT/);
    writeFileSync(join(dir, 'broken.json'), '{ "mcpServers": ');
    expect(() => loadMcpConfig(join(dir, 'broken.json'))).toThrow(/is not JSON/);
  });
});

describe('MCP servers that will not start', () => {
  it.each([
    ['a command that does not exist', { command: join(tmpdir(), 'no-such-mcp-server') }, /"ghost" .* did not start: .*ENOENT/],
    [
      'a process that exits at once',
      { command: process.execPath, args: ['-e', 'console.error("no config"); process.exit(3)'] },
      /"ghost" .* did not start: .*no config/,
    ],
  ])('%s is a one-line error', async (_what, server, message) => {
    const err = await connectMcpServers({ mcpServers: { ghost: server } }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(McpStartError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });
});

describe('MCP tools in the agent', () => {
  let h: Harness;
  let sim: Simulator;
  let worker: TestWorker;
  let mcp: McpToolSet;
  let dir: string;
  let crashLog: string;
  let httpServer: Awaited<ReturnType<typeof startHttpServer>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'braid-mcp-'));
    writeFileSync(join(dir, 'notes.txt'), 'The launch is on Tuesday.\n');
    crashLog = join(dir, 'crashy.log');
    httpServer = await startHttpServer();
    const config: McpConfig = {
      mcpServers: {
        fs: { command: process.execPath, args: [serverBin('server-filesystem'), dir], cwd: dir },
        mem: {
          command: process.execPath,
          args: [serverBin('server-memory')],
          env: { MEMORY_FILE_PATH: join(dir, 'memory.jsonl') },
          approve: ['delete_entities'],
        },
        crashy: { command: process.execPath, args: [CRASHY], env: { CRASHY_LOG: crashLog }, timeoutMs: 15_000 },
        web: { url: httpServer.url },
      },
    };
    [h, sim, mcp] = await Promise.all([connect(), startSimulator(), connectMcpServers(config)]);
    // The built-in read_file beside the filesystem server's own read_file.
    const registry = new ToolRegistry().register(createReadFileTool({ rootDir: dir }), ...mcp.tools);
    worker = await startWorker(h, registry, sim);
  });

  afterAll(async () => {
    await worker?.shutdown();
    await mcp?.close();
    await httpServer?.close();
    await sim?.close();
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (input: AgentInput) =>
    h.client.workflow.start<typeof toolAgent>(ASK_WORKFLOW, {
      taskQueue: worker.taskQueue,
      workflowId: `mcp-${Math.random().toString(36).slice(2)}`,
      args: [input],
    });

  it('offers the servers’ tools beside the built-ins, under their own names, with the servers’ schemas', () => {
    const names = worker.registry.names();
    expect(names).toEqual(
      expect.arrayContaining(['read_file', 'fs__read_file', 'fs__read_text_file', 'mem__read_graph', 'crashy__slow_echo']),
    );
    const spec = worker.registry.specs(['fs__read_text_file'])[0]!;
    expect(spec.input_schema).toMatchObject({ type: 'object', properties: { path: { type: 'string' } }, required: ['path'] });
    expect(mcp.resolve('fs__read_file')).toEqual({ server: 'fs', tool: 'read_file' });
    expect(mcp.resolve('read_file')).toBeUndefined();
  });

  it('runs MCP tools as activities over one pooled connection per server, and records the tool list in history', async () => {
    const tools = ['read_file', 'fs__read_text_file', 'mem__read_graph'];
    const question = `What does notes.txt say?\n#sim tools=${tools.join(',')}`;
    const [first, second] = await Promise.all([run({ question, tools }), run({ question, tools })]);
    for (const handle of [first, second]) {
      const r = await handle.result();
      const branches = r.branches.filter((b) => b.kind === 'tool');
      expect(Object.fromEntries(branches.map((b) => [b.name, b.status]))).toEqual({
        read_file: 'ok',
        fs__read_text_file: 'ok',
        mem__read_graph: 'ok',
      });
    }
    // Two runs, six MCP calls: still the one process per server started at the beginning.
    expect(mcp.connections.get('fs')!.opened).toBe(1);
    expect(mcp.connections.get('mem')!.opened).toBe(1);

    const history = await first.fetchHistory();
    // Listed by a local activity: the list is in its marker.
    const recorded = localActivityResult<ToolInfo[]>(history, 'listTools');
    const fsTool = recorded.find((t) => t.name === 'fs__read_text_file')!;
    expect(fsTool.origin).toBe('mcp:fs/read_text_file');
    expect(fsTool.annotations).toMatchObject({ readOnly: true });
    expect(fsTool.inputSchema).toMatchObject({ properties: { path: { type: 'string' } } });

    // The history replays on a worker that has no MCP server at all.
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: 'mcp' }, history)).resolves.toBeUndefined();
  });

  it('a server that crashes mid-call gives that branch an explicit error; a read-only call is retried, the others finish', async () => {
    const tools = ['crashy__crash', 'crashy__flaky_read', 'fs__read_text_file'];
    const handle = await run({ question: `Read notes.txt.\n#sim tools=${tools.join(',')}`, tools });
    const r = await handle.result();
    const status = Object.fromEntries(r.branches.filter((b) => b.kind === 'tool').map((b) => [b.name, b.status]));
    expect(status).toEqual({ crashy__crash: 'error', crashy__flaky_read: 'ok', fs__read_text_file: 'ok' });
    const crash = r.branches.find((b) => b.name === 'crashy__crash')!;
    expect(crash.error).toMatch(/may have taken effect; crash is not marked idempotent, so it was not retried/);
    const calls = readFileSync(crashLog, 'utf8').trim().split('\n');
    // Not idempotent: called once, never again after it may have acted. Read-only: called again after the crash.
    expect(calls.filter((c) => c === 'crash')).toHaveLength(1);
    expect(calls.filter((c) => c === 'flaky_read').length).toBeGreaterThanOrEqual(2);
    // The server was started again for the retry.
    expect(mcp.connections.get('crashy')!.opened).toBeGreaterThanOrEqual(2);
  });

  it('refuses a destructive tool with an explicit result, and runs nothing', async () => {
    const before = readdirSync(dir).sort();
    const tools = ['fs__write_file', 'fs__read_text_file'];
    const handle = await run({ question: `Write "done" to report.txt and read notes.txt.\n#sim tools=${tools.join(',')}`, tools });
    const r = await handle.result();
    const status = Object.fromEntries(r.branches.filter((b) => b.kind === 'tool').map((b) => [b.name, b.status]));
    expect(status).toEqual({ fs__write_file: 'error', fs__read_text_file: 'ok' });
    expect(r.branches.find((b) => b.name === 'fs__write_file')!.error).toMatch(/ToolRefused: fs__write_file is marked destructive/);
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  /** The tool calls a run holds for approval, once `n` of them wait. */
  async function waitingCalls(handle: Awaited<ReturnType<typeof run>>, n = 1): Promise<ToolApproval[]> {
    for (let i = 0; i < 200; i++) {
      const waiting = ((await handle.query(agentProgressQuery)).approvals ?? []).filter((a) => a.state === 'waiting');
      if (waiting.length >= n) return waiting;
      await sleep(100);
    }
    throw new Error(`no ${n} tool call(s) came to wait for approval`);
  }
  /**
   * A branch's status once it has left `running` (the sibling may still be finishing when the
   * held call starts to wait); still `running` after 20 s means the held call is blocking it.
   */
  async function siblingStatus(handle: Awaited<ReturnType<typeof run>>, name: string): Promise<string | undefined> {
    let status: string | undefined;
    for (let i = 0; i < 200; i++) {
      status = (await handle.query(agentProgressQuery)).branches.find((b) => b.name === name)?.status;
      if (status !== undefined && status !== 'running') return status;
      await sleep(100);
    }
    return status;
  }
  const toolStatus = (r: AgentResult) => Object.fromEntries(r.branches.filter((b) => b.kind === 'tool').map((b) => [b.name, b.status]));
  const written = (name: string) => readdirSync(dir).includes(name);

  it('holds a destructive call for a person, runs it once approved through `braid approve --call`, while its sibling goes on', async () => {
    const tools = ['fs__write_file', 'fs__read_text_file'];
    const handle = await run({
      question: `Write "done" to approved.txt and read notes.txt.\n#sim tools=${tools.join(',')}`,
      tools,
      approveTools: ['fs__write_file'],
    });
    const [waiting] = await waitingCalls(handle);
    expect(waiting).toMatchObject({ tool: 'fs__write_file', turn: 1, state: 'waiting' });
    expect(waiting!.input).toContain('approved.txt');
    // The read-only sibling runs to its end while the write is held; the write does not run.
    expect(await siblingStatus(handle, 'fs__read_text_file')).toBe('ok');
    expect(written('approved.txt')).toBe(false);

    const wrong = await braid(['approve', handle.workflowId, '--call', 'toolu_nope', '--as', 'alice'], server());
    expectOneLineError(wrong, 2, /decision refused: no tool call toolu_nope of this run awaits approval; waiting: toolu_/);
    const ok = await braid(['approve', handle.workflowId, '--call', waiting!.toolUseId, '--as', 'alice', '--comment', 'fine'], server());
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`approved tool call ${waiting!.toolUseId} of ${handle.workflowId} as alice`);

    const r = await handle.result();
    expect(toolStatus(r)).toEqual({ fs__write_file: 'ok', fs__read_text_file: 'ok' });
    expect(readFileSync(join(dir, 'approved.txt'), 'utf8')).toContain('done');
    expect(r.approvals).toEqual([
      expect.objectContaining({
        toolUseId: waiting!.toolUseId,
        state: 'approved',
        decision: expect.objectContaining({ verdict: 'approve', reviewer: 'alice', comment: 'fine', via: 'update' }) as unknown,
      }),
    ]);
    // A second decision on a decided call changes nothing.
    const again = await braid(['reject', handle.workflowId, '--call', waiting!.toolUseId, '--reason', 'late'], server());
    expectOneLineError(again, 2, /has finished/);
  });

  it('gives the model a refusal when a person rejects the call, and runs nothing', async () => {
    const tools = ['fs__write_file'];
    const handle = await run({
      question: `Write "done" to rejected.txt.\n#sim tools=${tools.join(',')}`,
      tools,
      approveTools: ['fs__write_file'],
      reviewers: ['bob'],
    });
    await waitingCalls(handle);
    // Not a reviewer of this run: refused, and the call still waits.
    await expect(handle.executeUpdate(decideUpdate, { args: [{ verdict: 'approve', reviewer: 'mallory' }] })).rejects.toMatchObject({
      cause: { message: 'unknown reviewer "mallory"; this run accepts decisions from bob' },
    });
    // No toolUseId: the one call that waits.
    const receipt = await handle.executeUpdate(decideUpdate, { args: [{ verdict: 'reject', reviewer: 'bob', reason: 'wrong file' }] });
    expect(receipt.decision).toMatchObject({ verdict: 'reject', reviewer: 'bob', reason: 'wrong file' });
    expect(receipt.decision.toolUseId).toMatch(/^toolu_/);
    const r = await handle.result();
    expect(toolStatus(r)).toEqual({ fs__write_file: 'error' });
    const turns = (await scheduledInputs(handle, 'llmTurn')) as LlmRequest[];
    const sent = turns.at(-1)!.messages.at(-1)!.content as ToolResultBlock[];
    expect(sent[0]).toMatchObject({
      is_error: true,
      content: 'ToolRefused: bob rejected this call of fs__write_file: wrong file; it was not run.',
    });
    expect(written('rejected.txt')).toBe(false);
    expect((await scheduledInputs(handle, 'runTool')).length).toBe(0);
  });

  it('refuses the call when no one decides in time, and asks which call when several wait', async () => {
    const tools = ['fs__write_file', 'fs__move_file'];
    const handle = await run({
      question: `Write "x" to late.txt and move notes.txt to moved.txt.\n#sim tools=${tools.join(',')}`,
      tools,
      approveTools: tools,
      approvalTimeoutMs: 3_000,
    });
    const waiting = await waitingCalls(handle, 2);
    expect(waiting.map((w) => w.tool).sort()).toEqual([...tools].sort());
    await expect(handle.executeUpdate(decideUpdate, { args: [{ verdict: 'approve', reviewer: 'alice' }] })).rejects.toMatchObject({
      cause: {
        message: expect.stringMatching(/^2 tool calls await approval \(toolu_.*, toolu_.*\); name one with its toolUseId$/) as unknown,
      },
    });
    const r = await handle.result();
    expect(toolStatus(r)).toEqual({ fs__write_file: 'error', fs__move_file: 'error' });
    for (const b of r.branches.filter((x) => x.kind === 'tool'))
      expect(b.error).toMatch(
        /^ToolRefused: no one approved this call of fs__\w+ in time \(no decision within 3 s; the configured default is to reject\)/,
      );
    expect(r.approvals!.map((a) => [a.state, a.decision?.via])).toEqual([
      ['rejected', 'deadline'],
      ['rejected', 'deadline'],
    ]);
    expect(written('late.txt')).toBe(false);
    expect(written('moved.txt')).toBe(false);
  });

  it('asks for approval of a tool the MCP config lists under `approve`, with no word from the run', async () => {
    const tools = ['mem__delete_entities'];
    const handle = await run({ question: `Delete the entity Alice.\n#sim tools=${tools.join(',')}`, tools });
    const [waiting] = await waitingCalls(handle);
    expect(waiting!.tool).toBe('mem__delete_entities');
    await handle.signal(decisionSignal, { verdict: 'approve', reviewer: 'carol', toolUseId: waiting!.toolUseId });
    const r = await handle.result();
    expect(toolStatus(r)).toEqual({ mem__delete_entities: 'ok' });
    expect(r.approvals![0]!.decision).toMatchObject({ verdict: 'approve', reviewer: 'carol', via: 'signal' });
  });

  it('fails the run with one line when approveTools names a tool it does not offer', async () => {
    const handle = await run({ question: 'Read notes.txt.', tools: ['fs__read_text_file'], approveTools: ['fs__write_file'] });
    await expect(handle.result()).rejects.toMatchObject({
      cause: { message: 'approveTools names fs__write_file, not among the tools this run offers (fs__read_text_file)' },
    });
  });

  it('calls a streamable HTTP server, its tool name made safe and mapped back', async () => {
    const name = mcpToolName('web', 'lookup.city');
    expect(name).toMatch(/^web__lookup_city_[a-z0-9]{7}$/);
    expect(mcp.resolve(name)).toEqual({ server: 'web', tool: 'lookup.city' });
    const before = httpServer.requests();
    const handle = await run({ question: `Which country is Paris in?\n#sim tools=${name}`, tools: [name] });
    const r = await handle.result();
    const branch = r.branches.find((b) => b.name === name)!;
    expect(branch.status).toBe('ok');
    const turns = (await scheduledInputs(handle, 'llmTurn')) as LlmRequest[];
    const sent = turns.at(-1)!.messages.at(-1)!.content as ToolResultBlock[];
    expect(sent[0]!.content).toMatch(/ is in Atlantis$/);
    expect(httpServer.requests()).toBeGreaterThan(before);
  });
});

describe('MCP HTTP servers that cannot be reached', () => {
  it('is a one-line error', async () => {
    const http = createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    const err = await connectMcpServers({ mcpServers: { gone: { url: `http://127.0.0.1:${port}/mcp`, startTimeoutMs: 5000 } } }).catch(
      (e: unknown) => e as Error,
    );
    await new Promise((resolve) => http.close(resolve));
    expect(err).toBeInstanceOf(McpStartError);
    expect((err as Error).message).toMatch(/^MCP server "gone" \(http:\/\/127\.0\.0\.1:\d+\/mcp\) did not start: /);
    expect((err as Error).message).not.toContain('\n');
  });
});

describe('braid worker with BRAID_MCP_CONFIG', () => {
  const dir = mkdtempSync(join(tmpdir(), 'braid-mcp-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('braid ask refuses --approve-tools naming a tool --tools does not offer, with one line and exit 2', async () => {
    const r = await braid(['ask', 'Write it.', '--tools', 'fs__read_file', '--approve-tools', 'fs__write_file'], server());
    expectOneLineError(r, 2, /--approve-tools names fs__write_file, not among --tools fs__read_file/);
  });

  it('stops with one line and exit 2 on a malformed config', async () => {
    const file = join(dir, 'servers.json');
    writeFileSync(file, JSON.stringify({ mcpServers: { fs: { command: 'x', timeout: 5 } } }));
    const r = await braid(['worker'], { ...server(), BRAID_MCP_CONFIG: file });
    expectOneLineError(r, 2, /servers\.json: mcpServers\.fs: Unrecognized key: "timeout"/);
  });

  it('stops with one line and exit 1 when a server will not start', async () => {
    const file = join(dir, 'ghost.json');
    writeFileSync(file, JSON.stringify({ mcpServers: { ghost: { command: join(dir, 'no-such-server') } } }));
    const r = await braid(['worker'], { ...server(), BRAID_MCP_CONFIG: file });
    expectOneLineError(r, 1, /MCP server "ghost" .* did not start: .*ENOENT/);
  });
});
