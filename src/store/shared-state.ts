/**
 * State agents share, when they must: a versioned key-value store with compare-and-swap writes.
 *
 * Each key holds a JSON value and a version that every write increments. A writer reads the value
 * and its version, computes the new value, and writes it only if the version is still the one it
 * read; otherwise it reads again and retries. Two agents that read the same version can then never
 * both write: one wins, the other sees the conflict — the fix for the lost updates a read, modify,
 * write without that check suffers (`test/actor-shared.test.ts` shows both).
 *
 * Every write carries its writer's token (the activity's identity: workflow, run and activity id),
 * and the store remembers each key's recent tokens with the version they wrote. A write retried after
 * it landed (its worker died before reporting, a timeout) finds its token and reports its own success
 * instead of a conflict, so a retried increment is never applied twice.
 *
 * Two backends: Redis (REDIS_URL; shared by every worker, one Lua script per operation, so each is
 * atomic) and SQLite (a file on one host: BRAID_SHARED_DB; one transaction per operation).
 * With encryption on, `EncryptedVersionedStore` seals every value before either backend sees it.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import Redis from 'ioredis';

export interface Versioned {
  /** The stored value; undefined (version 0) for a key never written. */
  value: unknown;
  version: number;
}

export interface WriteRequest {
  key: string;
  value: unknown;
  /** Compare-and-swap: write only if the key is at this version (0 = never written). Absent: write regardless. */
  expectedVersion?: number;
  /** Identifies this write, so a retry of it is recognised. */
  token: string;
}

export interface WriteOutcome {
  ok: boolean;
  /** The version written (ok), or the version found (a conflict). */
  version: number;
}

export interface VersionedStore {
  read(key: string): Promise<Versioned>;
  write(w: WriteRequest): Promise<WriteOutcome>;
  close(): Promise<void>;
  readonly location: string;
}

/** Tokens remembered per key: enough for every writer of a burst to find its own write. */
const TOKENS_KEPT = 256;

// KEYS: the value hash, the tokens hash, the tokens list. ARGV: value JSON, expected version ('' = none), token, tokens kept.
const WRITE_SCRIPT = `
local mine = redis.call('HGET', KEYS[2], ARGV[3])
if mine then return {1, tonumber(mine)} end
local version = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= version then return {0, version} end
version = version + 1
redis.call('HSET', KEYS[1], 'v', version, 'd', ARGV[1])
redis.call('HSET', KEYS[2], ARGV[3], version)
redis.call('RPUSH', KEYS[3], ARGV[3])
local extra = redis.call('LLEN', KEYS[3]) - tonumber(ARGV[4])
for i = 1, extra do redis.call('HDEL', KEYS[2], redis.call('LPOP', KEYS[3])) end
return {1, version}
`;

const parse = (text: string | null | undefined): unknown => (text === null || text === undefined ? undefined : JSON.parse(text));
const json = (value: unknown): string => JSON.stringify(value ?? null);

export class RedisVersionedStore implements VersionedStore {
  private readonly redis: Redis;

  constructor(
    readonly location: string,
    private readonly prefix = 'braid:shared:',
  ) {
    // Commands fail fast while Redis is unreachable (the activity's retry policy waits), never queue.
    this.redis = new Redis(location, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true });
    this.redis.on('error', () => {});
  }

  // A hash tag keeps a key's three Redis keys in one cluster slot.
  private keys(key: string): [string, string, string] {
    const k = `${this.prefix}{${key}}`;
    return [k, `${k}:tokens`, `${k}:order`];
  }

  async read(key: string): Promise<Versioned> {
    const [d, v] = await this.redis.hmget(this.keys(key)[0], 'd', 'v');
    return { value: parse(d), version: Number(v ?? 0) };
  }

  async write(w: WriteRequest): Promise<WriteOutcome> {
    const [ok, version] = (await this.redis.eval(
      WRITE_SCRIPT,
      3,
      ...this.keys(w.key),
      json(w.value),
      w.expectedVersion === undefined ? '' : String(w.expectedVersion),
      w.token,
      String(TOKENS_KEPT),
    )) as [number, number];
    return { ok: ok === 1, version: Number(version) };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS shared_values (key TEXT PRIMARY KEY, value TEXT NOT NULL, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS shared_writes (
  key TEXT NOT NULL, token TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (key, token)
);
CREATE INDEX IF NOT EXISTS shared_writes_by_version ON shared_writes (key, version);
`;

export class SqliteVersionedStore implements VersionedStore {
  private db: Database.Database | undefined;

  constructor(readonly location: string) {}

  private open(): Database.Database {
    if (!this.db) {
      fs.mkdirSync(path.dirname(this.location), { recursive: true });
      const db = new Database(this.location);
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 5000');
      db.exec(SCHEMA);
      this.db = db;
    }
    return this.db;
  }

  async read(key: string): Promise<Versioned> {
    const row = this.open().prepare('SELECT value, version FROM shared_values WHERE key = ?').get(key) as
      { value: string; version: number } | undefined;
    return row ? { value: parse(row.value), version: row.version } : { value: undefined, version: 0 };
  }

  async write(w: WriteRequest): Promise<WriteOutcome> {
    const db = this.open();
    return db
      .transaction((): WriteOutcome => {
        const mine = db.prepare('SELECT version FROM shared_writes WHERE key = ? AND token = ?').get(w.key, w.token) as
          { version: number } | undefined;
        if (mine) return { ok: true, version: mine.version };
        const row = db.prepare('SELECT version FROM shared_values WHERE key = ?').get(w.key) as { version: number } | undefined;
        const current = row?.version ?? 0;
        if (w.expectedVersion !== undefined && w.expectedVersion !== current) return { ok: false, version: current };
        const version = current + 1;
        db.prepare(
          'INSERT INTO shared_values (key, value, version) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = excluded.version',
        ).run(w.key, json(w.value), version);
        db.prepare('INSERT INTO shared_writes (key, token, version) VALUES (?, ?, ?)').run(w.key, w.token, version);
        db.prepare('DELETE FROM shared_writes WHERE key = ? AND version <= ?').run(w.key, version - TOKENS_KEPT);
        return { ok: true, version };
      })
      .immediate();
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = undefined;
  }
}

/** The store a worker uses: Redis when REDIS_URL is set (shared by every worker), else a SQLite file on this host. */
export function versionedStore(o: { redisUrl?: string; sqliteFile: string }): VersionedStore {
  return o.redisUrl ? new RedisVersionedStore(o.redisUrl) : new SqliteVersionedStore(o.sqliteFile);
}
