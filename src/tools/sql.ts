// `sql_query`: lets the model answer questions about Northwind Loom's sales by writing SQL
// against a small bundled SQLite database (data/sample-db.sql, made by scripts/make-sample-data.ts).
//
// The table signatures in the description are load-bearing: the model writes SQL from them, and
// the offline simulator parses the `table(col, …)` forms to do the same, so they must match the
// real schema exactly (a test checks this against the loaded database). Safety comes from two
// locks (the text guard in sql-guard.ts and SQLite's query_only mode) and from running queries
// in worker threads that can be stopped (sql-engine.ts).
import { z } from 'zod';
import { defineTool, ToolError } from './registry';
import { checkReadOnlySql } from './sql-guard';
import { SqlEngine, SqlFailure, SqlStopped } from './sql-engine';

export const SQL_MAX_ROWS = 200;
const SQL_MAX_CHARS = 100_000;
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
}

// One engine per database file, shared by every registry in the process, so the database is
// loaded once however many registries are built.
const engines = new Map<string, SqlEngine>();

function engineFor(dbPath: string): SqlEngine {
  let engine = engines.get(dbPath);
  if (!engine) {
    engine = new SqlEngine(dbPath);
    engines.set(dbPath, engine);
  }
  return engine;
}

/** Stops idle SQL threads (for tests and tidy shutdown; they never hold the process open). */
export async function closeSqlEngines(): Promise<void> {
  const all = [...engines.values()];
  engines.clear();
  await Promise.all(all.map((e) => e.close()));
}

export function createSqlTool(opts: SqlToolOptions) {
  const queryTimeoutMs = opts.queryTimeoutMs ?? 10_000;
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
    async handler({ sql }, ctx) {
      const verdict = checkReadOnlySql(sql);
      if (!verdict.ok) throw new ToolError(verdict.reason);
      const started = Date.now();
      const beat = setInterval(() => ctx.heartbeat({ tool: 'sql_query', runningMs: Date.now() - started }), HEARTBEAT_EVERY_MS);
      try {
        const result = await engineFor(opts.dbPath).query(sql, {
          maxRows: SQL_MAX_ROWS,
          maxChars: SQL_MAX_CHARS,
          timeoutMs: queryTimeoutMs,
          signal: ctx.signal,
        });
        return { columns: result.columns, rows: result.rows, rowCount: result.rows.length, truncated: result.truncated };
      } catch (err) {
        if (err instanceof SqlFailure) {
          const readonly = /readonly database/i.test(err.message);
          throw new ToolError(readonly ? `Only read-only queries are allowed (SQLite: ${err.message}).` : `SQLite error: ${err.message}`);
        }
        if (err instanceof SqlStopped) {
          throw new ToolError(
            `Query stopped: ${err.message}. Narrow it with WHERE, avoid unbounded recursion and cross joins, or aggregate.`,
          );
        }
        throw err;
      } finally {
        clearInterval(beat);
      }
    },
  });
}
