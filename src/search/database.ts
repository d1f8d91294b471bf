/**
 * The `database` source: SQLite full-text search (FTS5, with the Porter stemmer) over the rows of the
 * sample sales database (data/sample-db.sql), one passage per customer, product and order, each
 * row written out as a sentence with the names its keys point at (an order names its customer and
 * product), ranked by SQLite's own bm25() with a row's title weighing twice its text.
 *
 * The database is loaded into memory once per worker, on the first search, with better-sqlite3
 * (whose SQLite has FTS5; the sql_query tool's sql.js build does not). The query reaches SQLite only
 * as a bound parameter: each of its words becomes a quoted FTS5 term, any of which may match.
 */
import { readFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { passageId, type SourceHit } from '../shared/search';
import { searchTerms } from '../tools/search';
import { defineSource, SourceError } from './source';

/** The rows as passages: `[key, title, body]`, key `<table>/<id>`. */
const ROWS = `
  SELECT 'customers/' || id, 'Customer ' || name, name || ' is a ' || segment || ' customer in ' || country || '.' FROM customers
  UNION ALL
  SELECT 'products/' || id, 'Product ' || name, name || ' is in ' || category || ', list price USD ' || printf('%.2f', unit_price_usd) || '.' FROM products
  UNION ALL
  SELECT 'orders/' || o.id, 'Order ' || o.id || ': ' || c.name || ', ' || p.name,
    'On ' || o.ordered_on || ' ' || c.name || ' (' || c.segment || ', ' || c.country || ') ordered ' || o.quantity || ' × ' || p.name ||
    ' (' || p.category || ') for USD ' || printf('%.2f', o.amount_usd) || ', region ' || o.region || '.'
  FROM orders o JOIN customers c ON c.id = o.customer_id JOIN products p ON p.id = o.product_id`;

function open(sql: string): Database.Database {
  const db = new Database(':memory:');
  db.exec(sql);
  db.exec("CREATE VIRTUAL TABLE passages USING fts5(key UNINDEXED, title, body, tokenize = 'porter unicode61')");
  db.exec(`INSERT INTO passages (key, title, body) ${ROWS}`);
  return db;
}

export function createDatabaseSource(opts: { dbPath: string }) {
  let db: Promise<Database.Database> | undefined;
  const database = () => {
    db ??= readFile(opts.dbPath, 'utf8').then(open, (err: Error) => {
      throw new SourceError(`cannot read the sample database ${opts.dbPath}: ${err.message}`);
    });
    db.catch(() => (db = undefined));
    return db;
  };
  return defineSource({
    name: 'database',
    description: 'rows of the sample sales database: customers, products and orders',
    async search(query, ctx): Promise<SourceHit[]> {
      const terms = [...new Set(searchTerms(query))];
      if (terms.length === 0) return [];
      const match = terms.map((t) => `"${t.replace(/"/g, '""')}"`).join(' OR ');
      const rows = (await database())
        .prepare(
          `SELECT key, title, snippet(passages, 2, '', '', '…', 32) AS snippet FROM passages WHERE passages MATCH ?
           ORDER BY bm25(passages, 0, 2, 1), rowid LIMIT ?`,
        )
        .all(match, ctx.limit) as { key: string; title: string; snippet: string }[];
      return rows.map((r) => ({ id: passageId('database', r.key), title: r.title, snippet: r.snippet }));
    },
    async passages(ids) {
      const keys = ids.filter((id) => id.startsWith('database:')).map((id) => id.slice('database:'.length));
      const get = (await database()).prepare('SELECT title, body FROM passages WHERE key = ?');
      const out = new Map<string, string>();
      for (const key of keys) {
        const row = get.get(key) as { title: string; body: string } | undefined;
        if (row) out.set(passageId('database', key), `${row.title}. ${row.body}`);
      }
      return out;
    },
    async warm() {
      await database();
    },
    async close() {
      if (db) (await db.catch(() => undefined))?.close();
    },
  });
}
