// The sql_query engine as it runs inside a sandbox process (see sandbox.ts and sql.ts): SQLite
// compiled to WebAssembly (sql.js), with the sample database loaded once per process.
//
// Three limits are SQLite's own, set after the database is loaded. `query_only` makes SQLite refuse
// writes, whatever the text guard let through. `hard_heap_limit` caps SQLite's allocations, which
// live in WebAssembly memory that the process's JavaScript heap limit does not cover: without it
// `SELECT zeroblob(500000000)` grows that memory by 500 MB (and it never shrinks). `temp_store =
// MEMORY` keeps sorts and temporary tables inside that capped heap rather than in Emscripten's
// in-memory file system, which is JavaScript memory outside both limits.
import { readFileSync } from 'node:fs';
import initSqlJs from 'sql.js';

export interface SqlEngineInit {
  dbPath: string;
  /** SQLite's hard heap limit, in bytes. */
  heapLimitBytes: number;
}

export interface SqlRequest {
  sql: string;
  maxRows: number;
  /** Stop adding rows once their JSON passes this many characters. */
  maxChars: number;
}

export interface SqlReply {
  columns: string[];
  rows: unknown[][];
  truncated: boolean;
}

const MAX_CELL_CHARS = 2000;

function cell(v: unknown): unknown {
  if (v instanceof Uint8Array) return `<blob, ${v.length} bytes>`;
  if (typeof v === 'string' && v.length > MAX_CELL_CHARS) {
    return `${v.slice(0, MAX_CELL_CHARS)}… [${v.length - MAX_CELL_CHARS} more characters]`;
  }
  return v;
}

/** Sandbox entry point. A query error is thrown with SQLite's own message. */
export async function createHandler(init: SqlEngineInit): Promise<(req: SqlRequest) => SqlReply> {
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  try {
    db.exec(readFileSync(init.dbPath, 'utf8'));
  } catch (err) {
    throw new Error(`Could not load the sample database ${init.dbPath}: ${(err as Error).message}`);
  }
  db.exec(`PRAGMA query_only = 1; PRAGMA temp_store = MEMORY; PRAGMA hard_heap_limit = ${Math.floor(init.heapLimitBytes)};`);
  return (req) => {
    const stmt = db.prepare(req.sql);
    try {
      const columns = stmt.getColumnNames();
      const rows: unknown[][] = [];
      let truncated = false;
      let chars = 0;
      while (stmt.step()) {
        const row = stmt.get().map(cell);
        chars += JSON.stringify(row).length;
        if (rows.length >= req.maxRows || (chars > req.maxChars && rows.length > 0)) {
          truncated = true;
          break;
        }
        rows.push(row);
      }
      return { columns, rows, truncated };
    } finally {
      stmt.free();
    }
  };
}
