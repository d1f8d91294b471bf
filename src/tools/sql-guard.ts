// Decides, before SQLite sees it, whether a model-written query is one read-only statement.
//
// This is the first of two locks. It scans the text the way SQLite's tokenizer would (skipping
// string literals, quoted identifiers and comments) so that `SELECT ';DROP'` is one harmless
// statement while `SELECT 1; DROP TABLE x` is two. The second lock is in the engine: the database
// runs with `PRAGMA query_only`, which catches writes this scan cannot see, such as
// `WITH … REPLACE INTO …` (REPLACE is also an ordinary string function, so it is not banned here).

/** Words that never belong in a read-only query; found outside strings and comments, they reject it. */
const FORBIDDEN = new Set([
  'INSERT',
  'UPDATE',
  'DELETE',
  'UPSERT',
  'CREATE',
  'DROP',
  'ALTER',
  'ATTACH',
  'DETACH',
  'PRAGMA',
  'VACUUM',
  'REINDEX',
  'ANALYZE',
  'BEGIN',
  'COMMIT',
  'ROLLBACK',
  'SAVEPOINT',
  'RELEASE',
  'EXPLAIN',
]);

export type GuardResult = { ok: true } | { ok: false; reason: string };

/** Bare words (keywords and unquoted identifiers) in order, and whether a second statement follows a ';'. */
function scan(sql: string): { words: string[]; extraStatement: boolean } {
  const words: string[] = [];
  let ended = false;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && next === '-') {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? sql.length : eol + 1;
    } else if (c === '/' && next === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close === -1 ? sql.length : close + 2;
    } else if (c === ';') {
      ended = true;
      i++;
    } else {
      if (ended) return { words, extraStatement: true };
      if (c === "'" || c === '"' || c === '`' || c === '[') {
        const close = c === '[' ? ']' : c;
        i++;
        // A doubled quote inside a literal is an escaped quote, not the end.
        while (i < sql.length && !(sql[i] === close && sql[i + 1] !== close)) i += sql[i] === close ? 2 : 1;
        i++;
      } else if (/[A-Za-z_]/.test(c)) {
        const match = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i, i + 200)) as RegExpExecArray;
        words.push(match[0].toUpperCase());
        i += match[0].length;
      } else {
        i++;
      }
    }
  }
  return { words, extraStatement: false };
}

export function checkReadOnlySql(sql: string): GuardResult {
  const { words, extraStatement } = scan(sql);
  if (extraStatement) {
    return { ok: false, reason: 'Only one statement per call is allowed; remove everything after the first ";" or make separate calls.' };
  }
  const first = words[0];
  if (first !== 'SELECT' && first !== 'WITH') {
    return {
      ok: false,
      reason: `Only read-only SELECT queries (or WITH … SELECT) are allowed; this statement starts with ${first ?? 'nothing'}.`,
    };
  }
  const banned = words.find((w) => FORBIDDEN.has(w));
  if (banned) {
    return { ok: false, reason: `Only read-only SELECT queries are allowed; ${banned} is not permitted.` };
  }
  return { ok: true };
}
