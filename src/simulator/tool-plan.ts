// How the simulated model decides which tools to call and with what input: split the question
// into clauses, score every clause against every offered tool by word overlap (plus a few strong
// signals: a file path, a calculation, a table or column named in a SQL tool's description, an
// explicit tool name), and build each call's input from the tool's JSON schema. Each property is
// filled by what it asks for — its name, type, format, enum and description: a city for `city`, a
// ticker for `ticker`, an address for an email field, numbers for numbers — and a clause naming
// several values of the kind a property takes ("weather in Paris and Tokyo") becomes one call per
// value. The point is plausible, schema-valid parallel tool calls, not general understanding.
import { extractExpression, looksMathematical } from './expression';
import { EntityIndex, keyKind, valueCount, valueForKey } from './extract';
import { parseTables, textToSql } from './sql';
import { contentStems, stem, words } from './text';
import type { JsonSchema, ToolDef } from './types';

export interface PlannedCall {
  name: string;
  input: Record<string, unknown>;
}

const QUESTION_START =
  '(?:what|how|who|where|when|which|why|is|are|can|could|tell|show|find|list|give|read|look|search|calculate|compute|convert|summari[sz]e|open|check)';

/** Splits a question into clauses that may each need a different tool. */
export function splitClauses(question: string): string[] {
  return question
    .split(/[?;\n]+|\.(?=\s|$)/)
    .flatMap((part) => part.split(/,\s*and\s+(?:also\s+)?|\s+and\s+also\s+/i))
    .flatMap((part) => part.split(new RegExp(`,\\s*(?=${QUESTION_START}\\b)|\\s+and\\s+(?=${QUESTION_START}\\b)`, 'i')))
    .map((c) => c.trim())
    .filter((c) => /[a-z0-9]/i.test(c));
}

/** Drops leading question words ("what does", "tell me about") and "... say about" framing. */
export function topicOf(clause: string): string {
  const text = clause.trim().replace(/[?.!]+$/, '');
  const about =
    /\b(?:says?|said|mentions?|states?|tells? (?:us|me)|know|information|info|details|policy|policies|docs?|documentation)\s+(?:about|on|regarding|concerning|for)\s+(.+)$/i.exec(
      text,
    );
  if (about?.[1]) return about[1].trim();
  const subject = /\b(?:about|regarding|concerning)\s+(.{3,})$/i.exec(text);
  if (subject?.[1]) return subject[1].trim();
  const stripped = text
    .replace(
      /^(?:(?:please|can you|could you|would you|tell me|show me|give me|find|search(?: for)?|look up|what|who|where|when|which|why|how)\s+)+/i,
      '',
    )
    .replace(/^(?:(?:is|are|was|were|does|do|did|the|about|a|an|me|us)\s+)+/i, '')
    .trim();
  return stripped.length > 0 ? stripped : text;
}

const PATH_LIKE = /(?:[\w-]+\/)*[\w.-]*\.[A-Za-z][\w]*/;
const URL_LIKE = /https?:\/\/[^\s"'<>]+/;

const PATH_PROPS = ['path', 'file', 'filename', 'file_path', 'filepath'];

function paths(clause: string): string[] {
  const found: string[] = [];
  for (const token of clause.split(/\s+/)) {
    const m = PATH_LIKE.exec(token.replace(/^[("'`]+|[)"'`,;:?!]+$/g, ''));
    if (m && (m[0].includes('/') || /\.[a-z]{1,5}$/i.test(m[0])) && !/^\d/.test(m[0])) found.push(m[0].replace(/\.$/, ''));
  }
  return found;
}

const firstPath = (clause: string): string | undefined => paths(clause)[0];

const typeOf = (schema: JsonSchema): string =>
  Array.isArray(schema.type) ? (schema.type.find((t) => t !== 'null') ?? 'string') : (schema.type ?? (schema.enum ? 'enum' : 'string'));

interface ToolProfile {
  tool: ToolDef;
  /** stem -> weight */
  weights: Map<string, number>;
  props: Set<string>;
  /** Kinds of value its properties take (see extract.ts). */
  valueKinds: Set<string>;
  sqlTables: number;
}

function profile(tool: ToolDef): ToolProfile {
  const weights = new Map<string, number>();
  const add = (text: string, w: number): void => {
    for (const s of contentStems(text)) weights.set(s, Math.max(weights.get(s) ?? 0, w));
  };
  add(tool.description ?? '', 1);
  const props = new Set<string>();
  for (const [name, schema] of Object.entries(tool.input_schema.properties ?? {})) {
    props.add(name.toLowerCase());
    add(name.replace(/_/g, ' '), 1);
    add(schema.description ?? '', 1);
  }
  add(tool.name.replace(/[_-]/g, ' '), 3);
  const valueKinds = new Set(Object.entries(tool.input_schema.properties ?? {}).map(([name, schema]) => keyKind(name, schema)));
  return { tool, weights, props, valueKinds, sqlTables: props.has('sql') ? parseTables(tool.description ?? '').length : 0 };
}

const clauseEntities = new EntityIndex();
/** Whether the clause names a value of this kind (a city, a ticker, …). */
function clauseHas(clause: string, kind: string): boolean {
  const types: Record<string, string[]> = { place: ['place'], ticker: ['ticker'], email: ['email'], phone: ['phone'] };
  return clauseEntities
    .of(clause)
    .some(
      (e) =>
        types[kind]?.includes(e.type) &&
        !(e.type === 'ticker' && e.text === e.text.toUpperCase() && !e.text.startsWith('$') && e.text.length < 3),
    );
}

function scoreClause(p: ToolProfile, clause: string): number {
  const lower = clause.toLowerCase();
  const spokenName = p.tool.name.toLowerCase().replace(/[_-]/g, ' ');
  if (lower.includes(p.tool.name.toLowerCase()) || (spokenName.includes(' ') && lower.includes(spokenName))) return 100;
  let score = 0;
  for (const s of new Set(contentStems(clause))) score += p.weights.get(s) ?? 0;
  const has = (...names: string[]): boolean => names.some((n) => p.props.has(n));
  // A search tool needs less evidence: one shared topic word is enough to look it up.
  if (score > 0 && has('query', 'q', 'question', 'search', 'topic')) score += 1;
  if (has(...PATH_PROPS) && firstPath(clause)) score += 4;
  if (has('expression', 'expr') && looksMathematical(clause)) score += 5;
  if (has('url') && URL_LIKE.test(clause)) score += 4;
  // A property that takes a kind of value the clause names (a city, a ticker, an address) is a strong hint.
  if (score > 0 || p.valueKinds.size > 0) {
    const kinds = [...p.valueKinds].filter((k) => ['place', 'ticker', 'email', 'phone'].includes(k));
    if (kinds.some((k) => clauseHas(clause, k))) score += 2;
  }
  if (p.sqlTables > 0) {
    const tables = parseTables(p.tool.description ?? '');
    const stems = new Set(words(clause).map(stem));
    for (const t of tables) {
      if (stems.has(stem(t.name))) score += 2;
      for (const c of t.columns) if (c !== 'id' && stems.has(stem(c))) score += 1;
    }
    if (/\b(total|sum|average|how many|count|number of|top \d+|sales|revenue)\b/.test(lower)) score += 2;
  }
  return score;
}

function pickEnum(values: unknown[], clause: string, fallback: unknown): unknown {
  const stems = new Set(contentStems(clause));
  const hit = values.find((v) => typeof v === 'string' && contentStems(v).some((s) => stems.has(s)));
  return hit ?? fallback ?? values[0];
}

const COUNT_PROPS = /^(?:limit|size|count|n|k|top|top_k|max|max_results|num_results|page_size|results)$/;

/** A number the clause gives for this property: "<name> 3", or for count-like properties "top 3" / "3 results". */
function numberIn(clause: string, name: string): number | undefined {
  const spoken = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/_/g, '[ _]');
  const named = new RegExp(`\\b${spoken}\\s*(?:=|:|of)?\\s*(\\d+(?:\\.\\d+)?)\\b`, 'i').exec(clause)?.[1];
  if (named) return Number(named);
  if (!COUNT_PROPS.test(name)) return undefined;
  const top = /\b(?:top|first|last)\s+(\d+)\b/i.exec(clause)?.[1];
  const counted = /\b(\d+)\s+(?:results?|items?|rows?|passages?|documents?|docs?|records?|entries|matches)\b/i.exec(clause)?.[1];
  const n = top ?? counted;
  return n ? Number(n) : undefined;
}

function clamp(n: number, schema: JsonSchema, integer: boolean): number {
  let v = integer ? Math.round(n) : n;
  if (schema.minimum !== undefined) v = Math.max(schema.minimum, v);
  if (schema.maximum !== undefined) v = Math.min(schema.maximum, v);
  return v;
}

/** What input building may consult beyond the clause. */
export interface InputContext {
  /** The whole question: values a clause does not hold are looked for here. */
  whole?: string;
  /** Which of several values of the property's kind to use (one call per value). */
  nth?: number;
  entities?: EntityIndex;
  /** Chooses a label among an enum's options when the text names none (classification). */
  choose?: (options: string[], text: string) => string;
}

const LABEL_KEY = /^(?:label|category|class|classification|intent|sentiment|department|team|priority|severity|topic)$/i;

/** The message an email or note tool should carry: what follows "that", "saying" or a colon. */
function messageOf(clause: string): string | undefined {
  const m = /\b(?:that|saying|to say|telling (?:them|him|her))\s+(.+)$/i.exec(clause) ?? /:\s*(.{3,})$/.exec(clause);
  if (!m?.[1]) return undefined;
  const body = m[1].trim().replace(/[?]$/, '');
  return body[0]!.toUpperCase() + body.slice(1) + (/[.!]$/.test(body) ? '' : '.');
}

/** A value for one property, or undefined when an optional property has no evident value. */
function valueFor(name: string, schema: JsonSchema, clause: string, required: boolean, tool: ToolDef, ctx: InputContext): unknown {
  const key = name.toLowerCase();
  const type = typeOf(schema);
  const whole = ctx.whole ?? clause;
  const entities = (ctx.entities ??= new EntityIndex());
  if (schema.enum && schema.enum.length > 0) {
    const strings = schema.enum.filter((v): v is string => typeof v === 'string');
    const named = strings.find((v) =>
      new RegExp(`\\b${v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/_/g, '[ _]')}\\b`, 'i').test(clause),
    );
    if (named) return named;
    if (!required) return undefined;
    if (ctx.choose && strings.length === schema.enum.length && (LABEL_KEY.test(key) || strings.length > 2))
      return ctx.choose(strings, whole);
    return pickEnum(schema.enum, clause, schema.default);
  }
  switch (type) {
    case 'integer':
    case 'number': {
      const found =
        numberIn(clause, key) ??
        (keyKind(name, schema) !== 'number' ? (valueForKey(name, schema, clause, entities) as number | undefined) : undefined);
      if (found === undefined && !required) return undefined;
      const n = found ?? (typeof schema.default === 'number' ? schema.default : (schema.minimum ?? 1));
      return clamp(n, schema, type === 'integer');
    }
    case 'boolean':
      return required ? (typeof schema.default === 'boolean' ? schema.default : false) : undefined;
    case 'array': {
      if (!required) return undefined;
      const item = valueFor(name, schema.items ?? { type: 'string' }, clause, true, tool, ctx);
      return item === undefined ? [] : [item];
    }
    case 'object':
      return required ? inputFromSchema(schema, clause, tool, ctx) : undefined;
    default:
      break;
  }
  if (key === 'sql') return textToSql(clause, tool.description ?? '');
  if (key === 'expression' || key === 'expr') return extractExpression(clause) ?? topicOf(clause);
  if (PATH_PROPS.includes(key)) {
    const path = firstPath(clause);
    return path ?? (required ? topicOf(clause) : undefined);
  }
  if (key === 'url') {
    const url = URL_LIKE.exec(clause)?.[0];
    return url ?? (required ? topicOf(clause) : undefined);
  }
  const kind = keyKind(name, schema);
  if (kind !== 'text' && kind !== 'number') {
    const typed = valueForKey(name, schema, clause, entities, ctx.nth ?? 0) ?? valueForKey(name, schema, whole, entities, ctx.nth ?? 0);
    if (typed !== undefined) return typeof typed === 'string' || type !== 'string' ? typed : String(typed);
  }
  if (/^(?:body|message|content|text|note|msg)$/.test(key)) {
    const body = messageOf(clause) ?? messageOf(whole);
    if (body) return body;
  }
  if (/^(?:subject|title|headline)$/.test(key)) {
    const about = /\b(?:about|regarding|re:?)\s+([^,.;?]+)/i.exec(clause)?.[1] ?? messageOf(clause)?.replace(/\.$/, '');
    if (about) return about[0]!.toUpperCase() + about.slice(1);
  }
  if (!required) return undefined;
  if (typeof schema.default === 'string') return schema.default;
  const topic = topicOf(clause);
  // Free-text inputs stay query-sized even when the clause is a paragraph.
  return topic.length <= 200 ? topic : topic.slice(0, 200).replace(/\s+\S*$/, '');
}

/** Builds an input object for `tool` from `clause`: required properties always, optional ones when evident. */
export function inputFromSchema(schema: JsonSchema, clause: string, tool: ToolDef, ctx: InputContext = {}): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const required = new Set(schema.required ?? []);
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const value = valueFor(name, prop, clause, required.has(name), tool, ctx);
    if (value !== undefined) input[name] = value;
  }
  return input;
}

/** The first scalar property naming a kind of value the clause holds several of ("Paris and Tokyo"), and how many. */
function fanOutProperty(tool: ToolDef, clause: string, entities: EntityIndex): { count: number } | undefined {
  for (const [name, prop] of Object.entries(tool.input_schema.properties ?? {})) {
    if (typeOf(prop) !== 'string' || prop.enum || PATH_PROPS.includes(name.toLowerCase())) continue;
    const kind = keyKind(name, prop);
    if (!['place', 'country', 'ticker', 'email', 'person', 'org', 'url', 'phone'].includes(kind)) continue;
    const count = valueCount(name, prop, clause, entities);
    if (count > 1) return { count: Math.min(count, 8) };
  }
  return undefined;
}

const MIN_SCORE = 2;

function dedupe(calls: PlannedCall[]): PlannedCall[] {
  const seen = new Set<string>();
  return calls.filter((c) => {
    const key = `${c.name}\u0000${JSON.stringify(c.input)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Heuristic plan: the best tool per clause (above a threshold), deduplicated, in question order. */
export function planCalls(question: string, tools: ToolDef[], ctx: InputContext = {}): PlannedCall[] {
  const profiles = tools.map(profile);
  const calls: PlannedCall[] = [];
  const entities = (ctx.entities ??= new EntityIndex());
  for (const clause of splitClauses(question)) {
    let best: { p: ToolProfile; score: number } | undefined;
    for (const p of profiles) {
      const score = scoreClause(p, clause);
      if (score >= MIN_SCORE && (!best || score > best.score)) best = { p, score };
    }
    if (!best) continue;
    const tool = best.p.tool;
    const base = { ...ctx, whole: question, entities };
    const input = inputFromSchema(tool.input_schema, clause, tool, base);
    // "Read a.md and b.md": a tool taking one path is called once per path; likewise one city, one ticker.
    const pathProp = Object.keys(input).find((k) => PATH_PROPS.includes(k.toLowerCase()));
    const all = paths(clause);
    const fan = fanOutProperty(tool, clause, entities);
    if (pathProp && all.length > 1) for (const path of all) calls.push({ name: tool.name, input: { ...input, [pathProp]: path } });
    else if (fan)
      for (let nth = 0; nth < fan.count; nth++)
        calls.push({ name: tool.name, input: inputFromSchema(tool.input_schema, clause, tool, { ...base, nth }) });
    else calls.push({ name: tool.name, input });
  }
  return dedupe(calls);
}

/** Calls for exactly the named tools, in order; each input built from the clause that suits it best. */
export function planNamedCalls(question: string, names: string[], tools: ToolDef[], ctx: InputContext = {}): PlannedCall[] {
  const clauses = splitClauses(question);
  const calls: PlannedCall[] = [];
  for (const name of names) {
    const tool = tools.find((t) => t.name === name);
    if (!tool) continue;
    const p = profile(tool);
    const ranked = clauses.map((c, i) => ({ c, i, s: scoreClause(p, c) })).sort((a, b) => b.s - a.s || a.i - b.i);
    const clause = ranked[0] && ranked[0].s > 0 ? ranked[0].c : question;
    calls.push({ name, input: inputFromSchema(tool.input_schema, clause, tool, { ...ctx, whole: question }) });
  }
  return calls;
}
