// Runs SQLite (sql.js, compiled to WASM) in worker threads rather than on the activity worker's
// own thread.
//
// A model can easily write a query that never finishes, e.g. a recursive CTE without a LIMIT,
// and sql.js offers no progress hook to interrupt it. Run in-process, that query would freeze the
// event loop: no heartbeats, no cancellation, no other activity on the worker. In a worker thread
// it can be stopped by terminating the thread, and the main thread stays free to heartbeat.
//
// Each thread loads the database once and then serves one query at a time; idle threads are kept
// for reuse and a thread that timed out is discarded. The database is opened with
// `PRAGMA query_only` so that SQLite itself refuses writes, whatever the text guard let through.
// The thread's code is a plain JavaScript string (`eval: true`) so it runs the same under tsx,
// vitest and compiled dist/ output, without a TypeScript loader in the thread.
import { Worker } from 'node:worker_threads';

export interface QueryLimits {
  maxRows: number;
  /** Stop adding rows once their JSON passes this many characters (keeps Temporal payloads small). */
  maxChars: number;
  timeoutMs: number;
  signal: AbortSignal;
}

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  truncated: boolean;
}

/** SQLite rejected the query; the message is SQLite's own. */
export class SqlFailure extends Error {
  override name = 'SqlFailure';
}

/** The query ran past its time limit, or crashed the engine thread, and was stopped. */
export class SqlStopped extends Error {
  override name = 'SqlStopped';
}

type Reply = { ok: true; columns: string[]; rows: unknown[][]; truncated: boolean } | { ok: false; kind: 'sql' | 'load'; message: string };

const THREAD_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const initSqlJs = require(workerData.sqlJsPath);
const MAX_CELL_CHARS = 2000;
const ready = initSqlJs().then((SQL) => {
  const db = new SQL.Database();
  db.exec(readFileSync(workerData.dbPath, 'utf8'));
  db.exec('PRAGMA query_only = 1');
  return db;
});
ready.catch(() => undefined); // reported to each query instead
const messageOf = (err) => String((err && err.message) || err);
function cell(v) {
  if (v instanceof Uint8Array) return '<blob, ' + v.length + ' bytes>';
  if (typeof v === 'string' && v.length > MAX_CELL_CHARS) {
    return v.slice(0, MAX_CELL_CHARS) + '… [' + (v.length - MAX_CELL_CHARS) + ' more characters]';
  }
  return v;
}
function run(db, req) {
  let stmt;
  try {
    stmt = db.prepare(req.sql);
    const columns = stmt.getColumnNames();
    const rows = [];
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
    return { ok: true, columns, rows, truncated };
  } catch (err) {
    return { ok: false, kind: 'sql', message: messageOf(err) };
  } finally {
    if (stmt) stmt.free();
  }
}
parentPort.on('message', (req) => {
  ready.then(
    (db) => parentPort.postMessage(run(db, req)),
    (err) => parentPort.postMessage({ ok: false, kind: 'load', message: messageOf(err) }),
  );
});
`;

export class SqlEngine {
  private readonly idle: Worker[] = [];
  private readonly waiting: (() => void)[] = [];
  private active = 0;

  constructor(
    private readonly dbPath: string,
    private readonly maxThreads = 4,
  ) {}

  async query(sql: string, limits: QueryLimits): Promise<QueryResult> {
    await this.acquire(limits.signal);
    try {
      const worker = this.idle.pop() ?? this.spawn();
      const reply = await this.send(worker, sql, limits);
      if (!reply.ok) {
        if (reply.kind === 'load') {
          void worker.terminate();
          throw new Error(`Could not load the sample database ${this.dbPath}: ${reply.message}`);
        }
        this.idle.push(worker);
        throw new SqlFailure(reply.message);
      }
      this.idle.push(worker);
      return { columns: reply.columns, rows: reply.rows, truncated: reply.truncated };
    } finally {
      this.release();
    }
  }

  /** Stops every idle thread. Threads are unref'd, so this is only needed for a tidy shutdown. */
  async close(): Promise<void> {
    const threads = this.idle.splice(0);
    await Promise.all(threads.map((w) => w.terminate()));
  }

  private spawn(): Worker {
    const worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: { sqlJsPath: require.resolve('sql.js'), dbPath: this.dbPath },
    });
    worker.unref();
    // Keep an idle thread's failure from becoming an uncaught 'error' event; drop it from the pool.
    worker.on('error', () => undefined);
    worker.once('exit', () => {
      const i = this.idle.indexOf(worker);
      if (i !== -1) this.idle.splice(i, 1);
    });
    return worker;
  }

  /** Sends one query and waits for its reply; on timeout, abort or crash the thread is terminated. */
  private send(worker: Worker, sql: string, limits: QueryLimits): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        limits.signal.removeEventListener('abort', onAbort);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const stop = (err: Error): void => {
        cleanup();
        void worker.terminate();
        reject(err);
      };
      const onMessage = (reply: Reply): void => {
        cleanup();
        resolve(reply);
      };
      const onError = (err: Error): void => stop(new SqlStopped(`the SQL engine crashed: ${err.message}`));
      const onExit = (code: number): void => stop(new SqlStopped(`the SQL engine exited unexpectedly (code ${code})`));
      const onAbort = (): void => stop(limits.signal.reason instanceof Error ? limits.signal.reason : new Error('aborted'));
      const timer = setTimeout(
        () => stop(new SqlStopped(`the query ran longer than ${limits.timeoutMs / 1000} s and was stopped`)),
        limits.timeoutMs,
      );
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      limits.signal.addEventListener('abort', onAbort, { once: true });
      if (limits.signal.aborted) {
        onAbort();
        return;
      }
      worker.postMessage({ sql, maxRows: limits.maxRows, maxChars: limits.maxChars });
    });
  }

  private async acquire(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.active < this.maxThreads) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiting.indexOf(grant);
        if (i !== -1) this.waiting.splice(i, 1);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
    });
  }

  /** Hands the slot straight to the next waiter, or frees it. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
