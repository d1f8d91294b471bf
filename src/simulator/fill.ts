// JSON answers: a template shown in the prompt ({"summary": "…", "points": ["…"]}) or a structured
// output's JSON schema, filled key by key from the evidence. A key's role comes from its name
// (label, verdict, reasons, summary, points, citations, relevant, …); any other key is a field to
// extract from the material by its kind (see extract.ts). Schema answers always conform: required
// properties present, enums respected, types coerced, arrays within their item counts.
import type { Evidence } from './evidence';
import { plain } from './evidence';
import { keyKind } from './extract';
import type { JsonSchema } from './types';

type Role =
  | 'label'
  | 'verdict'
  | 'reasons'
  | 'summary'
  | 'answer'
  | 'points'
  | 'title'
  | 'citations'
  | 'quotes'
  | 'relevant'
  | 'confidence'
  | 'field';

const ROLES: [RegExp, Role][] = [
  [
    /^(?:label|labels|category|categories|class|classification|intent|sentiment|tag|department|team|priority|severity|predicted_label)$/,
    'label',
  ],
  [/winner|verdict|better|best|preferred|preference|choice|chosen|pick|selected/, 'verdict'],
  [/reason|rationale|explanation|justification|^why$|critique/, 'reasons'],
  [/^(?:answer|response|reply|result|final_answer)$/, 'answer'],
  [/summary|^text$|description|body|content|overview|abstract|tldr|gist|synopsis|report|article|^analysis$/, 'summary'],
  [/points|highlights|bullets|facts|claims|findings|takeaways|^items$|^notes$|insights|key_?messages/, 'points'],
  [/^(?:title|heading|headline|subject)$/, 'title'],
  [/citation|^sources?$|^refs?$|references|chunk|^ids$/, 'citations'],
  [/quotes|evidence|spans|excerpts|supporting/, 'quotes'],
  [/relevant|relevance|bears|applies|on_topic/, 'relevant'],
  [/confidence|certainty|probability|^score$/, 'confidence'],
];

function roleOf(key: string, ev: Evidence): Role {
  const k = key.toLowerCase();
  for (const [re, role] of ROLES) if (re.test(k)) return role;
  if (ev.ctx.u.task === 'classify' && /^(?:type|kind|topic|group)$/.test(k)) return 'label';
  return 'field';
}

/** The answer's prose for summary-like keys; "not relevant" when nothing in the material bears on the task. */
export function summaryOf(ev: Evidence, purpose: 'summary' | 'answer'): string {
  if (!ev.relevant()) return `Not relevant to the task: this part covers ${ev.aboutMaterial()}.`;
  if (purpose === 'answer') return ev.quotes('answer').slice(0, 3).join(' ');
  // The summary line leads with the best of the selection; the points keep reading order.
  const best = [...ev.selection('summary')].sort((a, b) => b.score - a.score).slice(0, 2);
  return best
    .sort((a, b) => a.index - b.index)
    .map((r) => plain(r.sentence.text))
    .join(' ');
}

/** The selected sentences, less those the prose beside them already says. */
function pointsOf(ev: Evidence, prose: string): string[] {
  if (!ev.relevant()) return [];
  return ev.quotes('summary').filter((q) => !prose.includes(q));
}

function citationsOf(ev: Evidence, example: unknown): string[] {
  if (!ev.relevant()) return [];
  const used = ev.usedSources('summary');
  // "source:start-end" examples ask for file ranges; anything else for chunk ids.
  if (typeof example === 'string' && /source|start|:\d|-\d|range/i.test(example)) return [...new Set(used.flatMap((s) => s.labels))];
  return [...new Set(used.flatMap((s) => s.ids))];
}

function quoteObjects(ev: Evidence, shape: Record<string, unknown>): Record<string, unknown>[] {
  if (!ev.relevant()) return [];
  return ev.selection('summary').map((r) => {
    const source = ev.sources.find((s) => s.index === r.sentence.source);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(shape)) {
      const k = key.toLowerCase();
      if (/start/.test(k)) out[key] = r.sentence.start;
      else if (/end/.test(k)) out[key] = r.sentence.end;
      else if (/chunk|source|doc|id/.test(k)) out[key] = source?.ids[0] ?? source?.title ?? source?.index ?? 0;
      else out[key] = r.sentence.text;
    }
    return out;
  });
}

function titleOf(ev: Evidence): string {
  const heading = ev.sentences.find((s) => s.kind === 'heading');
  if (heading) return plain(heading.text);
  const source = ev.sources.find((s) => s.title && !/[./\\]\w+$/.test(s.title) && !/^(?:text|section|document)$/.test(s.title));
  if (source?.title) return source.title;
  return ev.quotes('summary')[0]?.split(/[,:;]/)[0]?.slice(0, 60) ?? 'Summary';
}

const reasonsText = (ev: Evidence): string[] => ev.verdict()?.reasons ?? [];

function scalarFor(key: string, role: Role, ev: Evidence, example?: unknown): unknown {
  switch (role) {
    case 'label':
      return ev.ctx.u.labels.length > 0 ? ev.label().label : ev.field(key);
    case 'verdict':
      return ev.verdict()?.label ?? ev.field(key);
    case 'reasons':
      return reasonsText(ev).join(' ');
    case 'answer':
      return ev.ctx.u.task === 'judge' ? (ev.verdict()?.label ?? '') : summaryOf(ev, 'answer');
    case 'summary':
      return summaryOf(ev, 'summary');
    case 'title':
      return titleOf(ev);
    case 'relevant':
      return ev.relevant();
    case 'confidence':
      return Math.round((0.5 + ev.ctx.profile.quality / 2) * 100) / 100;
    case 'citations':
      return citationsOf(ev, example).join(', ');
    case 'quotes':
    case 'points':
      return pointsOf(ev, '').join(' ');
    default:
      return ev.field(key) ?? null;
  }
}

/** Fills a prompt's example object with this request's values, keeping its keys and shapes. */
export function fillTemplate(template: Record<string, unknown>, ev: Evidence): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = Object.keys(template);
  // With both an answer/summary and points, points carry what the prose did not say.
  const proseKey = keys.find((k) => ['summary', 'answer'].includes(roleOf(k, ev)) && typeof template[k] === 'string');
  const prose = proseKey ? String(scalarFor(proseKey, roleOf(proseKey, ev), ev)) : '';
  for (const key of keys) {
    const example = template[key];
    const role = roleOf(key, ev);
    if (Array.isArray(example)) {
      const first = example[0];
      if (role === 'citations') out[key] = citationsOf(ev, first);
      else if (role === 'reasons') out[key] = reasonsText(ev);
      else if (typeof first === 'object' && first !== null) out[key] = quoteObjects(ev, first as Record<string, unknown>);
      else if (role === 'points' || role === 'quotes' || role === 'summary') out[key] = pointsOf(ev, prose);
      else if (role === 'label') out[key] = [ev.label().label];
      else {
        const value = ev.field(key);
        out[key] = value === undefined ? [] : [value];
      }
    } else if (typeof example === 'object' && example !== null) out[key] = fillTemplate(example as Record<string, unknown>, ev);
    else if (typeof example === 'boolean') out[key] = role === 'relevant' ? ev.relevant() : Boolean(ev.field(key));
    else if (typeof example === 'number') {
      const v = role === 'confidence' ? scalarFor(key, role, ev) : ev.field(key, { type: 'number' });
      out[key] = typeof v === 'number' ? v : role === 'points' ? pointsOf(ev, '').length : 0;
    } else out[key] = scalarFor(key, role, ev, example);
  }
  return out;
}

const typeOf = (schema: JsonSchema): string => {
  if (schema.enum) return 'enum';
  if (schema.const !== undefined) return 'const';
  const t = Array.isArray(schema.type) ? schema.type.find((x) => x !== 'null') : schema.type;
  if (t) return t;
  if (schema.properties) return 'object';
  if (schema.items) return 'array';
  if (schema.anyOf?.[0]) return typeOf(schema.anyOf[0]);
  return 'string';
};

const nullable = (schema: JsonSchema): boolean => (Array.isArray(schema.type) && schema.type.includes('null')) || schema.type === 'null';

function coerce(value: unknown, schema: JsonSchema): unknown {
  const type = typeOf(schema);
  if (value === undefined || value === null) {
    if (nullable(schema)) return null;
    if (type === 'number' || type === 'integer') return Math.min(Math.max(schema.minimum ?? 0, 0), schema.maximum ?? Infinity);
    return type === 'boolean' ? false : '';
  }
  if (type === 'string') {
    const s = typeof value === 'string' ? value : Array.isArray(value) ? value.join(' ') : String(value);
    if (schema.format === 'date') return s.slice(0, 10);
    if (schema.format === 'date-time') return /^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : /T\d{2}:\d{2}$/.test(s) ? `${s}:00Z` : s;
    return s;
  }
  if (type === 'number' || type === 'integer') {
    const n = typeof value === 'number' ? value : Number(String(value).replace(/[^\d.-]/g, ''));
    let v = Number.isFinite(n) ? n : 0;
    if (type === 'integer') v = Math.round(v);
    if (schema.minimum !== undefined) v = Math.max(schema.minimum, v);
    if (schema.maximum !== undefined) v = Math.min(schema.maximum, v);
    return v;
  }
  if (type === 'boolean') return typeof value === 'boolean' ? value : Boolean(value);
  return value;
}

/** A value conforming to `schema` for `key`, from the evidence. */
export function fillSchema(schema: JsonSchema, ev: Evidence, key = ''): unknown {
  const type = typeOf(schema);
  const role = key ? roleOf(key, ev) : 'summary';
  if (type === 'const') return schema.const;
  if (type === 'enum') {
    const options = (schema.enum ?? []).filter((v): v is string => typeof v === 'string');
    if (options.length === 0) return schema.enum?.[0] ?? null;
    if (role === 'verdict' && ev.verdict()) {
      const v = ev.verdict()!.label;
      return options.find((o) => o.toUpperCase() === v.toUpperCase() || o.toUpperCase().endsWith(` ${v.toUpperCase()}`)) ?? options[0];
    }
    return ev.label(options).label;
  }
  if (type === 'object') {
    const out: Record<string, unknown> = {};
    const required = new Set(schema.required ?? []);
    for (const [name, prop] of Object.entries(schema.properties ?? {})) {
      const value = fillSchema(prop, ev, name);
      if (value === undefined && !required.has(name)) continue;
      out[name] = value === undefined ? coerce(undefined, prop) : value;
    }
    return out;
  }
  if (type === 'array') {
    const item = schema.items ?? { type: 'string' };
    const itemType = typeOf(item);
    let values: unknown[];
    if (itemType === 'object')
      values = role === 'quotes' || role === 'points' ? quoteObjects(ev, item.properties ?? { text: '' }) : [fillSchema(item, ev, key)];
    else if (itemType === 'enum') values = [fillSchema(item, ev, key)];
    else if (role === 'citations') values = citationsOf(ev, undefined);
    else if (role === 'reasons') values = reasonsText(ev);
    else if (role === 'points' || role === 'quotes' || role === 'summary') values = pointsOf(ev, '');
    else {
      const v = ev.field(key, item);
      values = v === undefined ? [] : [v];
    }
    values = values.map((v) => (itemType === 'object' || itemType === 'enum' ? v : coerce(v, item)));
    if (schema.maxItems !== undefined) values = values.slice(0, schema.maxItems);
    while (schema.minItems !== undefined && values.length < schema.minItems) values.push(values[0] ?? coerce(undefined, item));
    return values;
  }
  if (role === 'field') {
    const kind = keyKind(key, schema);
    const v = ev.field(key, schema);
    return coerce(v === undefined && kind === 'text' && type === 'string' ? undefined : v, schema);
  }
  return coerce(scalarFor(key, role, ev), schema);
}
