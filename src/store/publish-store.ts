/**
 * The default publication destination: an embedded SQLite database on disk (better-sqlite3).
 *
 * It holds the three things a publication touches — the stored report, a notification outbox and
 * a search index — and a log of compensations. Every row carries the idempotency key of the
 * activity that wrote it under a UNIQUE constraint, and each effect is one transaction that
 * inserts with `ON CONFLICT(key) DO NOTHING`. So an activity that is retried, or re-executed
 * after its worker died between the write and the report to Temporal, finds its own earlier
 * effect instead of applying a second one. Compensations work the same way: the compensation log
 * row and the undo are one transaction keyed by the compensation's own key, so an undo happens at
 * most once however often the compensation runs, and undoing something that never landed is a
 * recorded no-op.
 *
 * better-sqlite3 is loaded when the first destination opens, not with this module: the library
 * package declares it an optional peer, so a worker that never publishes to SQLite needs no native
 * module.
 */
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';

/** What an outbox message announces. */
export type OutboxKind = 'published' | 'retraction' | 'reminder';

/** Whether a side effect was applied now or had been already (its key was present). */
export interface EffectOutcome {
  /** False when the key was already present: the effect had been applied by an earlier attempt. */
  applied: boolean;
}

/** A published report. */
export interface ReportRow {
  key: string;
  workflow_id: string;
  title: string;
  body: string;
  created_at: string;
}

/** A message in the destination's outbox. */
export interface OutboxRow {
  id: number;
  key: string;
  workflow_id: string;
  kind: OutboxKind;
  subject: string;
  body: string;
  ref_key: string | null;
}

/** A report's entry in the destination's search index. */
export interface IndexRow {
  key: string;
  workflow_id: string;
  report_key: string;
  title: string;
  terms: string;
}

/** An undo the saga applied. */
export interface CompensationRow {
  id: number;
  key: string;
  step: string;
  target_key: string;
  /** Rows the undo removed or answered: 0 when the effect had never landed. */
  undone: number;
}

/** Everything a destination holds, for tests and inspection. */
export interface StoreSnapshot {
  reports: ReportRow[];
  outbox: OutboxRow[];
  index: IndexRow[];
  compensations: CompensationRow[];
}

/** A publish destination that cannot be opened or written. */
export class DestinationError extends Error {
  override name = 'DestinationError';
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  workflow_id TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  workflow_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  ref_key TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE IF NOT EXISTS search_index (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  workflow_id TEXT NOT NULL,
  report_key TEXT NOT NULL,
  title TEXT NOT NULL,
  terms TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS compensations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  step TEXT NOT NULL,
  target_key TEXT NOT NULL,
  undone INTEGER NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);`;

function sqlite(destination: string): typeof Database {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('better-sqlite3') as typeof Database;
  } catch {
    throw new DestinationError(
      `destination ${destination} needs the better-sqlite3 package; install it with \`npm install better-sqlite3\``,
    );
  }
}

/** Distinct lower-case words of four letters or more: what the index stores for lookup. */
function terms(text: string): string {
  return [...new Set(text.toLowerCase().match(/[a-z0-9]{4,}/g) ?? [])].slice(0, 500).join(' ');
}

/** A publish destination in one SQLite file: every effect keyed, so a repeated step applies once. */
export class SqlitePublishStore {
  private readonly db: Database.Database;

  constructor(readonly destination: string) {
    const dir = path.dirname(destination);
    if (!fs.existsSync(dir)) throw new DestinationError(`destination ${destination} is unreachable: directory ${dir} does not exist`);
    const Sqlite = sqlite(destination);
    try {
      this.db = new Sqlite(destination);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(SCHEMA);
    } catch (err) {
      throw new DestinationError(`destination ${destination} is unreachable: ${(err as Error).message}`);
    }
  }

  storeReport(key: string, r: { workflowId: string; title: string; body: string }): EffectOutcome {
    const info = this.db
      .prepare('INSERT INTO reports (key, workflow_id, title, body) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO NOTHING')
      .run(key, r.workflowId, r.title, r.body);
    return { applied: info.changes === 1 };
  }

  postMessage(key: string, m: { workflowId: string; kind: OutboxKind; subject: string; body: string; refKey?: string }): EffectOutcome {
    const info = this.db
      .prepare('INSERT INTO outbox (key, workflow_id, kind, subject, body, ref_key) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING')
      .run(key, m.workflowId, m.kind, m.subject, m.body, m.refKey ?? null);
    return { applied: info.changes === 1 };
  }

  indexReport(key: string, r: { workflowId: string; reportKey: string; title: string; body: string }): EffectOutcome {
    const info = this.db
      .prepare('INSERT INTO search_index (key, workflow_id, report_key, title, terms) VALUES (?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING')
      .run(key, r.workflowId, r.reportKey, r.title, terms(`${r.title} ${r.body}`));
    return { applied: info.changes === 1 };
  }

  /** Runs `undo` once per compensation key, in the same transaction as the log row that proves it ran. */
  private compensate(key: string, step: string, target: string, undo: () => number): EffectOutcome {
    return this.db
      .transaction((): EffectOutcome => {
        const seen = this.db.prepare('SELECT 1 FROM compensations WHERE key = ?').get(key);
        if (seen) return { applied: false };
        const undone = undo();
        this.db.prepare('INSERT INTO compensations (key, step, target_key, undone) VALUES (?, ?, ?, ?)').run(key, step, target, undone);
        return { applied: true };
      })
      .immediate();
  }

  retractReport(key: string, target: string): EffectOutcome {
    return this.compensate(key, 'retract-report', target, () => this.db.prepare('DELETE FROM reports WHERE key = ?').run(target).changes);
  }

  /** A posted notification cannot be unsent: its compensation posts a retraction that refers to it. */
  retractNotification(key: string, target: string, workflowId: string): EffectOutcome {
    return this.compensate(key, 'retract-notification', target, () => {
      const original = this.db.prepare('SELECT subject FROM outbox WHERE key = ?').get(target) as { subject: string } | undefined;
      if (!original) return 0;
      this.postMessage(key, {
        workflowId,
        kind: 'retraction',
        subject: `Retracted: ${original.subject}`,
        body: 'The publication was rolled back; disregard the earlier notification.',
        refKey: target,
      });
      return 1;
    });
  }

  unindexReport(key: string, target: string): EffectOutcome {
    return this.compensate(
      key,
      'unindex-report',
      target,
      () => this.db.prepare('DELETE FROM search_index WHERE key = ?').run(target).changes,
    );
  }

  snapshot(workflowId?: string): StoreSnapshot {
    const where = workflowId === undefined ? '' : ' WHERE workflow_id = ?';
    const args = workflowId === undefined ? [] : [workflowId];
    const all = <T>(sql: string, a: unknown[] = args) => this.db.prepare(sql).all(...a) as T[];
    return {
      reports: all<ReportRow>(`SELECT key, workflow_id, title, body, created_at FROM reports${where} ORDER BY id`),
      outbox: all<OutboxRow>(`SELECT id, key, workflow_id, kind, subject, body, ref_key FROM outbox${where} ORDER BY id`),
      index: all<IndexRow>(`SELECT key, workflow_id, report_key, title, terms FROM search_index${where} ORDER BY id`),
      compensations:
        workflowId === undefined
          ? all<CompensationRow>('SELECT id, key, step, target_key, undone FROM compensations ORDER BY id')
          : all<CompensationRow>('SELECT id, key, step, target_key, undone FROM compensations WHERE key LIKE ? ORDER BY id', [
              `${workflowId}/%`,
            ]),
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** The effects (and undos) a publish destination applies. */
export type PublishOperation = 'storeReport' | 'postMessage' | 'indexReport' | 'retractReport' | 'retractNotification' | 'unindexReport';

/** The store operations the publish activities use; another store (or a test double) may answer asynchronously. */
export type PublishStore = { readonly destination: string } & {
  [K in PublishOperation]: (...args: Parameters<SqlitePublishStore[K]>) => EffectOutcome | Promise<EffectOutcome>;
};

/** Opens destinations on demand and keeps them open for the worker's lifetime. */
export interface PublishStores {
  open(destination: string): PublishStore;
  close(): void;
}

/** Publish destinations as SQLite files, opened on first use and kept open; needs the optional `better-sqlite3` package. */
export function sqlitePublishStores(): PublishStores {
  const open = new Map<string, SqlitePublishStore>();
  return {
    open(destination) {
      let store = open.get(destination);
      if (!store) {
        store = new SqlitePublishStore(destination);
        open.set(destination, store);
      }
      return store;
    },
    close() {
      for (const s of open.values()) s.close();
      open.clear();
    },
  };
}
