// MCP tool servers as Braid tools. Each configured server gets one connection per worker — one
// child process for a stdio server, one session for a streamable HTTP one — that every call shares
// (MCP multiplexes requests over it); a connection that drops is opened again by the next call.
// At start-up each server's tool list is read once and its tools join the registry under
// namespaced names, with the server's own JSON schemas as the model sees them.
//
// Names: a server's tool `read_file` is offered as `<server>__read_file`, so it cannot collide with
// a built-in `read_file` or another server's. A name the Messages API would refuse (its rule is
// ^[a-zA-Z0-9_-]{1,64}$) or one that would be too long is made safe and given a short hash of the
// original, so two tools never map to one name; the mapping back is kept per tool (`origin`).
//
// Retries follow the tools' annotations: a call that failed before reaching the server (it could
// not connect) is retried like any crash, but one that failed after it was sent may have acted, so
// it is retried only for a tool that is read-only or idempotent; for any other the model gets an
// explicit error result saying the call may have taken effect, and Temporal does not try again.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, type Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { McpConfig, McpServerConfig } from './mcp-config';
import { ToolError, ToolInputError, type ToolAnnotations, type ToolContext, type ToolDefinition, type ToolOutput } from './registry';

/** How long connecting to a server (and starting a stdio one) may take when its config names no `startTimeoutMs`. */
export const DEFAULT_MCP_START_TIMEOUT_MS = 20_000;
const SEPARATOR = '__';
const MAX_NAME = 64;
const STDERR_TAIL = 600;

/** A server could not be started or reached, or did not answer its tool list. */
export class McpStartError extends Error {
  override name = 'McpStartError';
}

/** The call failed after it was sent: the tool may have acted. Thrown only for tools that are safe to call again. */
export class McpCallFailed extends Error {
  override name = 'McpCallFailed';
}

/** A short, stable hash (FNV-1a, base 36) that keeps made-safe names apart. */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36).padStart(7, '0').slice(0, 7);
}

/** The registry name of `tool` on `server`: `<server>__<tool>`, made safe for the Messages API when it must be. */
export function mcpToolName(server: string, tool: string): string {
  const plain = `${server}${SEPARATOR}${tool}`;
  if (/^[a-zA-Z0-9_-]+$/.test(tool) && plain.length <= MAX_NAME) return plain;
  const suffix = `_${shortHash(tool)}`;
  const safe = `${server}${SEPARATOR}${tool.replace(/[^a-zA-Z0-9_-]/g, '_')}`;
  return `${safe.slice(0, MAX_NAME - suffix.length)}${suffix}`;
}

/** What Braid makes of a tool's MCP annotations and the server's settings. */
export function mcpAnnotations(tool: Pick<McpTool, 'name' | 'annotations'>, server: McpServerConfig): ToolAnnotations {
  const a = tool.annotations ?? {};
  const readOnly = a.readOnlyHint === true;
  const destructive = (server.destructive?.includes(tool.name) ?? false) || (!readOnly && a.destructiveHint === true);
  return {
    readOnly,
    destructive,
    idempotent: (server.idempotent?.includes(tool.name) ?? false) || readOnly || a.idempotentHint === true,
    ...(destructive && server.approve?.includes(tool.name) ? { approve: true } : {}),
  };
}

/** A call result's content as text for the model. */
function contentText(result: Record<string, unknown>): string {
  const blocks = Array.isArray(result.content) ? (result.content as Record<string, unknown>[]) : [];
  const parts = blocks.map((b) => {
    if (b.type === 'text' && typeof b.text === 'string') return b.text;
    if (b.type === 'resource' && typeof (b.resource as { text?: unknown })?.text === 'string') return (b.resource as { text: string }).text;
    if (b.type === 'resource_link' || b.type === 'resource') return `[resource ${String((b.resource as { uri?: unknown })?.uri ?? b.uri)}]`;
    return `[${String(b.type)} content${typeof b.mimeType === 'string' ? ` (${b.mimeType})` : ''} not shown]`;
  });
  if (parts.length === 0 && result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  return parts.join('\n');
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/** One server's connection, shared by every call on this worker and opened again after it drops. */
export class McpConnection {
  private client: Promise<Client> | undefined;
  private stderrTail = '';
  private closed = false;
  /** How many times a connection was opened (a stdio server started): 1 while it never dropped. */
  opened = 0;

  constructor(
    readonly server: string,
    readonly config: McpServerConfig,
  ) {}

  /** The open client, connecting first when there is none. */
  connect(): Promise<Client> {
    if (this.closed) return Promise.reject(new McpStartError(`MCP server "${this.server}" is closed`));
    this.client ??= this.open().catch((err: unknown) => {
      this.client = undefined;
      throw err;
    });
    return this.client;
  }

  private transport(): Transport {
    const c = this.config;
    if ('url' in c) return new StreamableHTTPClientTransport(new URL(c.url), { requestInit: { headers: c.headers ?? {} } });
    const t = new StdioClientTransport({
      command: c.command,
      args: c.args ?? [],
      env: { ...getDefaultEnvironment(), ...c.env },
      ...(c.cwd ? { cwd: c.cwd } : {}),
      stderr: 'pipe',
    });
    // Kept for the start error; read so the pipe never fills and stalls the server.
    t.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-STDERR_TAIL);
    });
    return t;
  }

  private async open(): Promise<Client> {
    const client = new Client({ name: 'braid', version: '1' });
    this.stderrTail = '';
    const timeout = this.config.startTimeoutMs ?? DEFAULT_MCP_START_TIMEOUT_MS;
    try {
      await client.connect(this.transport(), { timeout });
    } catch (err) {
      await client.close().catch(() => undefined);
      const where = 'url' in this.config ? this.config.url : this.config.command;
      const said = this.stderrTail.trim() ? `; it said: ${oneLine(this.stderrTail).slice(-300)}` : '';
      throw new McpStartError(`MCP server "${this.server}" (${where}) did not start: ${oneLine((err as Error).message)}${said}`);
    }
    this.opened++;
    const opened = this.client;
    client.onclose = () => {
      // The next call opens a new connection (starts the server again).
      if (this.client === opened) this.client = undefined;
    };
    return client;
  }

  /** Every tool the server offers (all pages). */
  async listTools(): Promise<McpTool[]> {
    const client = await this.connect();
    const tools: McpTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined);
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  }

  /**
   * Calls `tool`. An `isError` result is a ToolError; a failure after sending is McpCallFailed (retried),
   * or a ToolError when the tool is not safe to call again.
   */
  async call(tool: string, args: Record<string, unknown>, ctx: ToolContext, retryable: boolean): Promise<ToolOutput> {
    const client = await this.connect(); // a failure here acted on nothing: thrown as is, and retried
    let result;
    try {
      const timeout = ctx.deadline !== undefined ? Math.max(1, ctx.deadline - Date.now()) : undefined;
      result = await client.callTool({ name: tool, arguments: args }, undefined, {
        signal: ctx.signal,
        ...(timeout ? { timeout, maxTotalTimeout: timeout } : {}),
      });
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason; // the registry's timeout, or the caller's cancellation
      if (err instanceof McpError && [ErrorCode.InvalidParams, ErrorCode.MethodNotFound, ErrorCode.InvalidRequest].includes(err.code)) {
        throw new ToolInputError(`MCP server "${this.server}" refused the call to ${tool}: ${err.message}`);
      }
      const why = `MCP server "${this.server}" failed during ${tool}: ${oneLine((err as Error).message)}`;
      if (retryable) throw new McpCallFailed(why);
      throw new ToolError(`${why}. The call may have taken effect; ${tool} is not marked idempotent, so it was not retried.`);
    }
    const text = contentText(result as Record<string, unknown>);
    if (result.isError) throw new ToolError(text || `${tool} reported an error`);
    return text;
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    await (await client?.catch(() => undefined))?.close();
  }
}

/** The tools of the configured MCP servers, and their connections; close() stops the servers. */
export interface McpToolSet {
  tools: ToolDefinition[];
  connections: Map<string, McpConnection>;
  /** The server and its own tool name for a registry name (the reverse of mcpToolName). */
  resolve(name: string): { server: string; tool: string } | undefined;
  close(): Promise<void>;
}

function toolDefinition(server: string, conn: McpConnection, tool: McpTool): ToolDefinition {
  const annotations = mcpAnnotations(tool, conn.config);
  const retryable = annotations.idempotent === true;
  const schema = { ...(tool.inputSchema as Record<string, unknown>) };
  delete schema.$schema;
  return {
    name: mcpToolName(server, tool.name),
    description: tool.description?.trim() || tool.title?.trim() || `The ${tool.name} tool of the MCP server "${server}".`,
    input: z.record(z.string(), z.unknown()),
    inputSchema: schema,
    annotations,
    origin: `mcp:${server}/${tool.name}`,
    ...(conn.config.timeoutMs ? { timeoutMs: conn.config.timeoutMs } : {}),
    handler: (input, ctx) => conn.call(tool.name, input as Record<string, unknown>, ctx, retryable),
  };
}

/**
 * Connects to every configured server at once and lists its tools. One server that does not start
 * fails the whole set with a one-line McpStartError (and closes the ones that did).
 */
export async function connectMcpServers(config: McpConfig): Promise<McpToolSet> {
  const connections = new Map(Object.entries(config.mcpServers).map(([name, c]) => [name, new McpConnection(name, c)]));
  const close = async () => {
    await Promise.all([...connections.values()].map((c) => c.close()));
  };
  const listed = await Promise.allSettled(
    [...connections.values()].map(async (conn) => {
      const all = await conn.listTools().catch((err: unknown) => {
        if (err instanceof McpStartError) throw err;
        throw new McpStartError(`MCP server "${conn.server}" did not list its tools: ${oneLine((err as Error).message)}`);
      });
      const named = [...new Set([...(conn.config.tools ?? []), ...(conn.config.approve ?? [])])];
      const unknown = named.filter((t) => !all.some((a) => a.name === t));
      if (unknown.length > 0) {
        throw new McpStartError(
          `MCP server "${conn.server}" has no tool ${unknown.map((t) => `"${t}"`).join(', ')}; it offers ${all.map((t) => t.name).join(', ')}`,
        );
      }
      const chosen = conn.config.tools ? all.filter((t) => conn.config.tools!.includes(t.name)) : all;
      return chosen.map((t) => toolDefinition(conn.server, conn, t));
    }),
  );
  const failed = listed.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await close();
    throw failed.reason;
  }
  const tools = listed.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
  const origins = new Map(tools.map((t) => [t.name, t.origin!]));
  if (origins.size < tools.length) {
    await close();
    const dup = tools.find((t, i) => tools.findIndex((u) => u.name === t.name) !== i)!;
    throw new McpStartError(`two MCP tools map to the name "${dup.name}"; rename a server in the MCP config`);
  }
  return {
    tools,
    connections,
    resolve(name) {
      const origin = origins.get(name);
      if (!origin) return undefined;
      const [server, ...rest] = origin.slice('mcp:'.length).split('/');
      return { server: server!, tool: rest.join('/') };
    },
    close,
  };
}
