// The MCP server file a worker reads (BRAID_MCP_CONFIG): which servers to start or reach, and what
// Braid adds to what each server says of its tools. The shape follows the `mcpServers` object other
// MCP clients use, so an existing file mostly works as it is; unknown keys are errors, so a typo
// never silently drops a setting.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** An MCP server name becomes the prefix of its tools' names (`fs__read_file`), so it is short and plain. */
export const MCP_SERVER_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]|_(?!_)){0,23}$/;

const toolList = z.array(z.string().min(1)).optional();
const ms = z.number().int().positive();

/** What Braid adds to any server: time budgets, and its own word on tools the server does not annotate (or annotates wrongly). */
const braidSettings = {
  /** Each call's budget (the activity's timeout, retries included); default DEFAULT_TOOL_TIMEOUT_MS. */
  timeoutMs: ms.optional(),
  /** How long connecting (and starting a stdio server) may take; default 20 s. */
  startTimeoutMs: ms.optional(),
  /** Offer only these tools (the server's names); default: all. */
  tools: toolList,
  /** Tools that need a person's approval per call, whatever the server says. */
  destructive: toolList,
  /** Destructive tools whose calls wait for a person's approval (`braid approve … --call <id>`) instead of being refused. */
  approve: toolList,
  /** Tools safe to call again after a failure that may have acted, whatever the server says. */
  idempotent: toolList,
};

const stdioServer = z.strictObject({
  command: z.string().min(1),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().min(1).optional(),
  ...braidSettings,
});

const httpServer = z.strictObject({
  url: z.url(),
  headers: z.record(z.string(), z.string()).optional(),
  ...braidSettings,
});

/** What Braid adds to any server's settings. */
export interface McpBraidSettings {
  /** Each call's budget (the activity's timeout, retries included); default DEFAULT_TOOL_TIMEOUT_MS. */
  timeoutMs?: number;
  /** How long connecting (and starting a stdio server) may take; default 20 s. */
  startTimeoutMs?: number;
  /** Offer only these tools (the server's names); default: all. */
  tools?: string[];
  /** Tools that need a person's approval per call, whatever the server says. */
  destructive?: string[];
  /** Destructive tools whose calls wait for a person's approval (`braid approve … --call <id>`) instead of being refused. */
  approve?: string[];
  /** Tools safe to call again after a failure that may have acted, whatever the server says. */
  idempotent?: string[];
}

/** A server started as a child process of the worker, spoken to over its stdin and stdout. */
export interface McpStdioServer extends McpBraidSettings {
  command: string;
  args?: string[];
  /** Added to a minimal environment (PATH, HOME…), not to the worker's whole one. */
  env?: Record<string, string>;
  cwd?: string;
}

/** A server reached over MCP's streamable HTTP transport. */
export interface McpHttpServer extends McpBraidSettings {
  url: string;
  headers?: Record<string, string>;
}

/** One server: a command to start (stdio) or a URL to reach (streamable HTTP), plus Braid's settings. */
export type McpServerConfig = McpStdioServer | McpHttpServer;

const configFile = z.strictObject({
  mcpServers: z.record(
    z.string(),
    z.union([stdioServer, httpServer], { error: 'give either "command" (a stdio server) or "url" (a streamable HTTP server)' }),
  ),
});

/** The MCP server file: the servers by name, in the file's order. */
export interface McpConfig {
  mcpServers: Record<string, McpServerConfig>;
}

/** The file is missing, is not JSON, or does not have the expected shape. */
export class McpConfigError extends Error {
  override name = 'McpConfigError';
}

/** Checks an already parsed config; `where` names it in the one-line error. */
export function parseMcpConfig(raw: unknown, where = 'MCP config'): McpConfig {
  const servers = (raw as { mcpServers?: unknown } | null)?.mcpServers;
  const badName = servers && typeof servers === 'object' ? Object.keys(servers).find((n) => !MCP_SERVER_NAME.test(n)) : undefined;
  if (badName !== undefined) {
    throw new McpConfigError(
      `${where}: mcpServers: ${JSON.stringify(badName)} is not a server name; use 1-24 letters, digits, "-" or single "_"`,
    );
  }
  const parsed = configFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String).join('.') || '(top level)';
    throw new McpConfigError(`${where}: ${path}: ${issue.message}`);
  }
  return parsed.data;
}

/** Reads and checks the MCP server file at `file`. */
export function loadMcpConfig(file: string): McpConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new McpConfigError(`cannot read the MCP config ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new McpConfigError(`the MCP config ${file} is not JSON: ${(err as Error).message}`);
  }
  return parseMcpConfig(raw, file);
}
