// Entry point for tools: the registry types and the default set of four example tools, wired to
// the data bundled in the repository. Workers build one registry at start-up and hand it to the
// tool activity; the workflow only ever sees tool names and specs.
import { join } from 'node:path';
import { createCalculatorTool } from './calculator';
import { createReadFileTool } from './files';
import { defaultDataDir } from './paths';
import { ToolRegistry } from './registry';
import { createSearchTool } from './search';
import { createSqlTool } from './sql';

export * from './registry';
export { createCalculatorTool } from './calculator';
export { createReadFileTool, readAllowedFile } from './files';
export { createSearchTool, searchDocs } from './search';
export { createSqlTool } from './sql';
export { Sandbox, SandboxFailure, SandboxLimit } from './sandbox';
export { findRepoRoot } from './paths';
export { connectMcpServers, mcpToolName, McpStartError, type McpToolSet } from './mcp';
export { loadMcpConfig, parseMcpConfig, McpConfigError, type McpConfig, type McpServerConfig } from './mcp-config';

export interface DefaultToolOptions {
  /** Holds sample-db.sql and docs/; default <repo>/data. */
  dataDir?: string;
  /** The only directory read_file may read; default <dataDir>/files. */
  filesDir?: string;
}

/**
 * A registry with sql_query, search_docs, calculator and read_file. Data loads lazily on first use;
 * close() the registry to stop the calculator's and sql_query's sandbox processes.
 */
export function createDefaultRegistry(opts: DefaultToolOptions = {}): ToolRegistry {
  const dataDir = opts.dataDir ?? defaultDataDir();
  return new ToolRegistry().register(
    createSqlTool({ dbPath: join(dataDir, 'sample-db.sql') }),
    createSearchTool({ docsDir: join(dataDir, 'docs') }),
    createCalculatorTool(),
    createReadFileTool({ rootDir: opts.filesDir ?? join(dataDir, 'files') }),
  );
}
