/**
 * The answer cache behind `braid ask --speculate`'s `cache` strategy: an embedded SQLite database
 * (better-sqlite3, loaded on first use like the publish store's) of answers keyed by the normalised
 * question, the tools offered and the data version each of those tools reports (`dataVersion()` in
 * the tool registry), with a time to live. Data that changes changes its version, so the key no
 * longer matches and the stale answer is never served; storing the new answer deletes the rows of
 * the same question and tools under older versions.
 *
 * With a key ring (encryption on), answers are sealed (`src/encryption/seal.ts`) and the row keys are
 * HMACs under a key derived from the ring's newest key, so the file reveals neither questions nor
 * answers. A key rotation therefore misses every entry cached under the old key (they expire); rows
 * written before encryption are still found (under their plain hash) until they expire or a sealed
 * answer to the same question replaces them.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { KeyRing } from '../encryption/keys';
import { keyedHash, openText, sealText } from '../encryption/seal';
import { normalizeQuestion } from '../shared/speculate';

const SEAL_LABEL = 'answer-cache';

export interface CacheKeyParts {
  question: string;
  /** The tools offered, in any order. */
  tools: string[];
  /** Each tool's data version (absent: the tool reads no data that changes). */
  versions: Record<string, string>;
}

export interface CachedAnswer {
  answer: string;
  storedAt: number;
  expiresAt: number;
}

/** The row's identity without the data versions (so newer versions replace older ones) and with them (the lookup key). */
export function cacheKeys(p: CacheKeyParts, ring?: KeyRing): { family: string; key: string } {
  const hash = (text: string) => (ring ? keyedHash(ring, SEAL_LABEL, text) : createHash('sha256').update(text).digest('hex'));
  const tools = [...new Set(p.tools)].sort();
  const family = hash(JSON.stringify([normalizeQuestion(p.question), tools]));
  const versions = tools.map((t) => [t, p.versions[t] ?? null]);
  const key = hash(JSON.stringify([family, versions]));
  return { family, key };
}

function loadSqlite(): typeof Database {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional, loaded on first use
    return require('better-sqlite3') as typeof Database;
  } catch {
    throw new Error('the answer cache needs the better-sqlite3 package; install it with `npm install better-sqlite3`');
  }
}

export class AnswerCache {
  private db: Database.Database | undefined;

  constructor(
    readonly file: string,
    private readonly now: () => number = Date.now,
    /** Encryption on: answers sealed, keys HMACs. */
    private readonly ring?: KeyRing,
  ) {}

  private open(): Database.Database {
    if (this.db) return this.db;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const Sqlite = loadSqlite();
    const db = new Sqlite(this.file);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    if (this.ring) db.pragma('secure_delete = ON'); // a plain row replaced by a sealed one leaves no text behind
    db.exec(`CREATE TABLE IF NOT EXISTS answers (
      key TEXT PRIMARY KEY, family TEXT NOT NULL, answer TEXT NOT NULL, stored_at INTEGER NOT NULL, expires_at INTEGER NOT NULL)`);
    db.exec('CREATE INDEX IF NOT EXISTS answers_family ON answers (family)');
    this.db = db;
    return db;
  }

  /** The live answer for these parts, or why there is none. */
  get(p: CacheKeyParts): CachedAnswer | { miss: string } {
    const { family, key } = cacheKeys(p, this.ring);
    const db = this.open();
    const select = db.prepare('SELECT answer, stored_at, expires_at FROM answers WHERE key = ?');
    type Row = { answer: string; stored_at: number; expires_at: number };
    // A row cached before encryption was turned on is under the plain hash: it still reads.
    const row = (select.get(key) ?? (this.ring ? select.get(cacheKeys(p).key) : undefined)) as Row | undefined;
    if (row && row.expires_at > this.now())
      return {
        answer: openText(this.ring, SEAL_LABEL, row.answer, "the answer cache's entry"),
        storedAt: row.stored_at,
        expiresAt: row.expires_at,
      };
    if (row) return { miss: 'the cached answer expired' };
    const older = db.prepare('SELECT 1 FROM answers WHERE family = ? LIMIT 1').get(family);
    return { miss: older ? 'the data the tools read changed since the answer was cached' : 'no cached answer' };
  }

  /** Stores an answer for `ttlMs`, replacing this question's answers under older data versions. */
  put(p: CacheKeyParts, answer: string, ttlMs: number): void {
    const { family, key } = cacheKeys(p, this.ring);
    const db = this.open();
    const at = this.now();
    db.transaction(() => {
      db.prepare('DELETE FROM answers WHERE family = ? AND key <> ?').run(family, key);
      // The plain row of the same question, cached before encryption, goes (its bytes zeroed: secure_delete).
      if (this.ring) db.prepare('DELETE FROM answers WHERE family = ?').run(cacheKeys(p).family);
      db.prepare('INSERT OR REPLACE INTO answers (key, family, answer, stored_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(
        key,
        family,
        this.ring ? sealText(this.ring, SEAL_LABEL, answer) : answer,
        at,
        at + ttlMs,
      );
    })();
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }
}
