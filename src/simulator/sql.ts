// A tiny text-to-SQL for tools with a `sql` property. The tool's description is expected to list
// its tables as `name(col1, col2, ...)`; the question picks a table, an aggregate, a grouping, an
// ordering and a year filter. It always yields one read-only SELECT — good enough for the
// simulated model to drive a real SQL tool with plausible queries, not a general translator.
import { stem, words } from './text';

export interface TableSig {
  name: string;
  columns: string[];
}

/** Table signatures found in free text, e.g. "orders(id, customer_id, amount_usd, ordered_on)". */
export function parseTables(description: string): TableSig[] {
  const tables: TableSig[] = [];
  for (const m of description.matchAll(/\b([A-Za-z_]\w*)\s*\(([^()]*)\)/g)) {
    const columns = (m[2] ?? '')
      .split(',')
      .map((c) => c.trim().split(/\s+/)[0] ?? '')
      .filter((c) => /^[A-Za-z_]\w*$/.test(c));
    if (m[1] && columns.length >= 2 && !tables.some((t) => t.name === m[1])) tables.push({ name: m[1], columns });
  }
  return tables;
}

const SYNONYMS: Record<string, string[]> = {
  order: ['sale', 'revenue', 'purchas', 'sold', 'spend', 'income', 'turnover'],
  customer: ['client', 'buyer', 'account', 'user'],
  product: ['item', 'good', 'sku', 'catalog'],
};

/** Columns a SUM/AVG should use, best first; "money" columns are what sales questions mean. */
const MONEY = /amount|revenue|total|sales/;
const AMOUNT = /amount|revenue|total|sales|price|value|cost/;
/** Columns a capitalised value ("in Germany", "for EMEA") most likely filters on. */
const FILTER_COLUMNS = ['country', 'region', 'city', 'state', 'segment', 'category', 'status'];
const DATE = /(_on|_at|date|_time)$|^date/;

function singular(name: string): string {
  return stem(name);
}

/** How strongly a clause's stems point at a table (name, synonyms, column names). */
function tableScore(t: TableSig, stems: Set<string>): number {
  let score = 0;
  const base = singular(t.name);
  if (stems.has(base)) score += 3;
  for (const syn of SYNONYMS[base] ?? []) if (stems.has(syn)) score += 2;
  for (const c of t.columns) for (const part of c.split('_')) if (part.length > 2 && stems.has(stem(part))) score += 1;
  return score;
}

function findColumn(t: TableSig, word: string): string | undefined {
  const s = stem(word);
  return (
    t.columns.find((c) => stem(c) === s) ??
    t.columns.find((c) => c.split('_').some((p) => stem(p) === s) && !c.endsWith('_id')) ??
    t.columns.find((c) => c.split('_').some((p) => stem(p) === s))
  );
}

interface Source {
  from: string;
  /** Qualifies a column of the main table (aliased `t` when a join is present). */
  col(c: string): string;
}

/**
 * A column of another table reachable through a `<table>_id` foreign key of the main table, for
 * "sales by category" when category lives in products.
 */
function joinFor(main: TableSig, tables: TableSig[], word: string): { table: TableSig; column: string; fk: string } | undefined {
  for (const other of tables) {
    if (other === main) continue;
    const fk = main.columns.find((c) => c === `${singular(other.name)}_id` || c === `${other.name}_id`);
    if (!fk) continue;
    const column =
      findColumn(other, word) ?? (stem(word) === singular(other.name) ? (other.columns.find((c) => c === 'name') ?? 'id') : undefined);
    if (column) return { table: other, column, fk };
  }
  return undefined;
}

/** A single SELECT answering `clause` against the tables listed in `description`. */
export function textToSql(clause: string, description: string): string {
  const tables = parseTables(description);
  if (tables.length === 0) return 'SELECT 1';
  const lower = clause.toLowerCase();
  const stems = new Set(words(clause).map(stem));
  const wantsMoney = /\b(sales|revenue|spend|spent|income|turnover|sold)\b/.test(lower);
  const main = tables
    .map((t, i) => ({
      t,
      i,
      score: tableScore(t, stems) + (wantsMoney && t.columns.some((c) => MONEY.test(c) && !c.endsWith('_id')) ? 3 : 0),
    }))
    .sort((a, b) => b.score - a.score || a.i - b.i)[0]!.t;

  const amountCol =
    main.columns.find((c) => MONEY.test(c) && !c.endsWith('_id')) ?? main.columns.find((c) => AMOUNT.test(c) && !c.endsWith('_id'));
  let agg: string | undefined;
  let aggName = 'value';
  if (/\b(how many|count|number of)\b/.test(lower)) {
    agg = 'COUNT(*)';
    aggName = 'count';
  } else if (/\b(average|mean|avg)\b/.test(lower) && amountCol) {
    agg = `AVG(${amountCol})`;
    aggName = `avg_${amountCol}`;
  } else if (/\b(total|sum|revenue|sales|spend|spent|turnover)\b/.test(lower) && amountCol) {
    agg = `SUM(${amountCol})`;
    aggName = `total_${amountCol}`;
  }

  // Group by "by X" / "per X" / "each X", on the main table or a table joined by foreign key.
  let group: { expr: string; join?: string } | undefined;
  for (const m of lower.matchAll(/\b(?:by|per|each|for each)\s+([a-z_]+)(?:\s+([a-z_]+))?/g)) {
    const candidates = [m[2] && `${m[1]}_${m[2]}`, m[2], m[1]].filter((w): w is string => Boolean(w));
    for (const w of candidates) {
      const own = findColumn(main, w);
      if (own) {
        group = { expr: own };
        break;
      }
      const j = joinFor(main, tables, w);
      if (j) {
        group = { expr: `j.${j.column}`, join: `JOIN ${j.table.name} j ON j.id = t.${j.fk}` };
        break;
      }
    }
    if (group) break;
  }

  const topMatch = /\b(?:top|which|the|first)\s+(\d{1,3})\b(?!\s*%)/.exec(lower);
  const ranked = topMatch !== null || /\b(highest|most|largest|biggest|best|lowest|least|smallest|worst)\b/.test(lower);
  const ascending = /\b(lowest|least|smallest|worst)\b/.test(lower);
  const limit = topMatch?.[1] ? Number(topMatch[1]) : 5;

  // "Top customers by revenue": rank the entity named in the clause through its foreign key.
  if (!group && ranked && agg) {
    for (const other of tables) {
      if (other === main || !stems.has(singular(other.name))) continue;
      const j = joinFor(main, tables, other.name);
      if (j) group = { expr: `j.${j.column}`, join: `JOIN ${j.table.name} j ON j.id = t.${j.fk}` };
      if (group) break;
    }
  }
  if (group && !agg) {
    agg = 'COUNT(*)';
    aggName = 'count';
  }

  const src: Source = group?.join ? { from: `${main.name} t ${group.join}`, col: (c) => `t.${c}` } : { from: main.name, col: (c) => c };
  const qualify = (expr: string): string => (group?.join ? expr.replace(/\(([a-z_]\w*)\)/i, '(t.$1)') : expr);

  const year = /\b(19\d{2}|20\d{2})\b/.exec(clause)?.[1];
  const dateCol = main.columns.find((c) => DATE.test(c));
  const conditions: string[] = [];
  if (year && dateCol) conditions.push(`${src.col(dateCol)} LIKE '${year}%'`);
  // "customers in Germany": a capitalised word after in/from/for filters the likeliest column.
  const value = /\b(?:in|from|for)\s+(?:the\s+)?([A-Z][A-Za-z]+(?:\s+[A-Z][A-Za-z]+)?)/.exec(clause)?.[1];
  const candidates = FILTER_COLUMNS.filter((c) => main.columns.includes(c));
  const filterCol = candidates.find((c) => stems.has(stem(c))) ?? candidates[0];
  if (value && filterCol && group?.expr !== filterCol) conditions.push(`${src.col(filterCol)} = '${value.replace(/'/g, "''")}'`);
  const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';

  if (!agg) return `SELECT * FROM ${main.name}${where} LIMIT 5`;
  const aggExpr = qualify(agg);
  if (!group) return `SELECT ${aggExpr} AS ${aggName} FROM ${src.from}${where}`;
  const order = ranked ? ` ORDER BY ${aggName} ${ascending ? 'ASC' : 'DESC'} LIMIT ${limit}` : ` ORDER BY ${group.expr}`;
  return `SELECT ${group.expr}, ${aggExpr} AS ${aggName} FROM ${src.from}${where} GROUP BY ${group.expr}${order}`;
}
