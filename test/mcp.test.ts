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
import { ASK_WORKFLOW, type AgentInput } from '../src/shared/ask';
import type { LlmRequest, ToolInfo, ToolResultBlock } from '../src/shared/types';
import type { Simulator } from '../src/simulator';
import { createReadFileTool, ToolRegistry } from '../src/tools';
import { connectMcpServers, mcpAnnotations, McpStartError, mcpToolName, type McpToolSet } from '../src/tools/mcp';
import { loadMcpConfig, McpConfigError, parseMcpConfig, type McpConfig } from '../src/tools/mcp-config';
import type { toolAgent } from '../src/workflows';
import { z } from 'zod';
import { braid, expectOneLineError, server } from './cli-helpers';
import { connect, scheduledInputs, startSimulator, startWorker, workflowBundle, type Harness, type TestWorker } from './helpers';

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
        mem: { command: process.execPath, args: [serverBin('server-memory')], env: { MEMORY_FILE_PATH: join(dir, 'memory.jsonl') } },
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
    const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'listTools')!;
    const completed = history.events!.find(
      (e) => e.activityTaskCompletedEventAttributes?.scheduledEventId?.toString() === scheduled.eventId!.toString(),
    )!;
    const payload = completed.activityTaskCompletedEventAttributes!.result!.payloads![0]!;
    const recorded = JSON.parse(Buffer.from(payload.data!).toString()) as ToolInfo[];
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
