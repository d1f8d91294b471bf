// `sql_query`: lets the model answer questions about Northwind Loom's sales by writing SQL
// against a small bundled SQLite database (data/sample-db.sql, made by scripts/make-sample-data.ts).
//
// The table signatures in the description are load-bearing: the model writes SQL from them, and
// the offline simulator parses the `table(col, …)` forms to do the same, so they must match the
// real schema exactly (a test checks this against the loaded database). Safety comes from two
// locks (the text guard in sql-guard.ts and SQLite's query_only mode) and from running queries in
// sandbox processes (sql-engine.ts) with bounded memory that are killed when a query runs too long.
import { extname, join } from 'node:path';
import { z } from 'zod';
import { defineTool, ToolError } from './registry';
import { Sandbox, SandboxFailure, SandboxLimit } from './sandbox';
import { checkReadOnlySql } from './sql-guard';
import type { SqlEngineInit, SqlReply, SqlRequest } from './sql-engine';
import { fileVersion } from './data-version';

export const SQL_MAX_ROWS = 200;
/** Rows stop being added once their JSON passes this; under the activity's result cap, so a result is cut at a row. */
const SQL_MAX_CHARS = 50_000;
/** SQLite's heap in each process (WebAssembly memory); the sample database needs well under 1 MB. */
export const SQL_HEAP_MB = 32;
/** JavaScript heap of each process: rows as they are read, before the caps. */
const SQL_JS_HEAP_MB = 64;
/** Resident memory at which a SQL process is killed (a warm one uses ~70 MB). */
export const SQL_RSS_MB = 256;
const HEARTBEAT_EVERY_MS = 2_000;

export const SQL_DESCRIPTION =
  "Run one read-only SQL query (SQLite dialect) against Northwind Loom's sales database and get the rows back. " +
  'Use it for questions about orders, revenue, customers or products: totals, counts, rankings, trends by month or region. ' +
  'Tables: orders(id, customer_id, product_id, region, quantity, amount_usd, ordered_on), ' +
  'customers(id, name, country, segment), products(id, name, category, unit_price_usd). ' +
  "Formats: ordered_on is 'YYYY-MM-DD' text (2024-01-01 to 2025-12-31); regions are 'North America', 'EMEA', 'APAC', 'LATAM'; " +
  "segments are 'Retail', 'Wholesale', 'Hospitality'; amount_usd is the order total after volume discount. " +
  `Only a single SELECT (or WITH … SELECT) is accepted. At most ${SQL_MAX_ROWS} rows come back, so aggregate in SQL instead of fetching raw orders.`;

export interface SqlToolOptions {
  /** The SQL script (CREATE TABLE + INSERTs) that builds the database. */
  dbPath: string;
  /** A query still running after this long is stopped; default 10 s. */
  queryTimeoutMs?: number;
  /** Queries running at once, one process each (default 2). */
  maxProcesses?: number;
}

export function createSqlTool(opts: SqlToolOptions) {
  const queryTimeoutMs = opts.queryTimeoutMs ?? 10_000;
  const sandbox = new Sandbox<SqlEngineInit, SqlRequest, SqlReply>({
    name: 'sql_query',
    module: join(__dirname, `sql-engine${extname(__filename)}`),
    init: { dbPath: opts.dbPath, heapLimitBytes: SQL_HEAP_MB * 1024 * 1024 },
    maxProcesses: opts.maxProcesses ?? 2,
    heapMb: SQL_JS_HEAP_MB,
    maxRssMb: SQL_RSS_MB,
    maxReplyChars: 2 * SQL_MAX_CHARS,
  });
  return defineTool({
    name: 'sql_query',
    description: SQL_DESCRIPTION,
    input: z.object({
      sql: z
        .string()
        .min(1)
        .max(10_000)
        .describe(
          "One SQLite SELECT statement, e.g. SELECT region, SUM(amount_usd) AS revenue FROM orders WHERE ordered_on >= '2025-01-01' GROUP BY region",
        ),
    }),
    timeoutMs: 30_000,
    dataVersion: () => fileVersion(opts.dbPath),
    async handler({ sql }, ctx) {
      const verdict = checkReadOnlySql(sql);
      if (!verdict.ok) throw new ToolError(verdict.reason);
      const started = Date.now();
      const beat = setInterval(() => ctx.heartbeat({ tool: 'sql_query', runningMs: Date.now() - started }), HEARTBEAT_EVERY_MS);
      try {
        const result = await sandbox.run(
          { sql, maxRows: SQL_MAX_ROWS, maxChars: SQL_MAX_CHARS },
          { signal: ctx.signal, timeoutMs: queryTimeoutMs },
        );
        return { columns: result.columns, rows: result.rows, rowCount: result.rows.length, truncated: result.truncated };
      } catch (err) {
        if (err instanceof SandboxFailure) {
          if (/readonly database/i.test(err.message)) throw new ToolError(`Only read-only queries are allowed (SQLite: ${err.message}).`);
          if (/out of memory|too big/i.test(err.message)) {
            throw new ToolError(
              `Query stopped: it needed more than the ${SQL_HEAP_MB} MB of memory a query may use (SQLite: ${err.message}). Aggregate, or select fewer or smaller values.`,
            );
          }
          throw new ToolError(`SQLite error: ${err.message}`);
        }
        if (err instanceof SandboxLimit) {
          throw new ToolError(
            `Query stopped: ${err.message}. Narrow it with WHERE, avoid unbounded recursion and cross joins, or aggregate.`,
          );
        }
        throw err;
      } finally {
        clearInterval(beat);
      }
    },
    warm: () => sandbox.warm(),
    close: () => sandbox.close(),
  });
}
