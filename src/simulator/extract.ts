// Filling named keys from text: what kind of value a key wants (from its name, JSON-schema type,
// format and description), and the value of that kind the text contains. Used for extraction
// answers ("name, company, meeting_date, phone"), structured outputs and tool inputs alike, so
// `city` gets "Paris" and an email field gets an address — the value, never the whole clause.
import { findEntities, type Entity, type EntityType } from './entities';
import { flat, splitSentences } from './sentences';
import { contentStems, words } from './text';
import type { JsonSchema } from './types';

export type KeyKind = EntityType | 'first_name' | 'last_name' | 'country' | 'language' | 'text';

const KINDS: [RegExp, KeyKind][] = [
  [/e-?mail/, 'email'],
  [/phone|^tel$|telephone|mobile|cell/, 'phone'],
  [/url|website|link|homepage|uri/, 'url'],
  [/ticker|stock_?symbol|^symbol$/, 'ticker'],
  [/first_?name|given_?name|forename/, 'first_name'],
  [/last_?name|surname|family_?name/, 'last_name'],
  [/date|deadline|birthday|^dob$|^day$|^when$|due|scheduled|^start$|^end$/, 'date'],
  [/time|^hour$/, 'time'],
  [/country|nation/, 'country'],
  [/city|location|place|town|destination|origin|venue|where|address|region/, 'place'],
  [/compan|organi[sz]ation|^org$|employer|business|vendor|supplier|firm|^client$|brand|manufacturer/, 'org'],
  [/name|person|contact|customer|sender|author|requester|attendee|^who$|manager|owner|assignee|recipient|speaker/, 'person'],
  [/language|^lang$|locale/, 'language'],
  [/percent|percentage|^rate$|discount/, 'percent'],
  [/amount|price|cost|total|budget|salary|fee|revenue|spend|value|balance/, 'money'],
  [/count|number|quantity|qty|^age$|^year$|^num|size|^n$|^k$|limit|days|hours|minutes|weeks|months/, 'number'],
];

const snake = (key: string): string =>
  key
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .replace(/[\s-]+/g, '_')
    .toLowerCase();

/** What a key wants, from its name, then its schema's format and description. */
export function keyKind(key: string, schema?: JsonSchema): KeyKind {
  const name = snake(key);
  if (schema?.format === 'email') return 'email';
  if (schema?.format === 'date' || schema?.format === 'date-time') return 'date';
  if (schema?.format === 'uri' || schema?.format === 'url') return 'url';
  if (schema?.format === 'time') return 'time';
  const numeric = schema?.type === 'number' || schema?.type === 'integer';
  for (const [re, kind] of KINDS) if (re.test(name)) return numeric && !['money', 'percent', 'number'].includes(kind) ? 'number' : kind;
  const description = (schema?.description ?? '').toLowerCase();
  if (description) {
    if (/\be-?mail address\b/.test(description)) return 'email';
    if (/\bphone\b/.test(description)) return 'phone';
    if (/\bticker\b|\bstock symbol\b/.test(description)) return 'ticker';
    if (/\bcity\b|\blocation\b|\bplace\b/.test(description)) return 'place';
    if (/\bcountry\b/.test(description)) return 'country';
    if (/\bdate\b/.test(description)) return 'date';
    if (/\bcompany\b|\borgani[sz]ation\b/.test(description)) return 'org';
    if (/\bperson\b|\bfull name\b|\bname of\b/.test(description)) return 'person';
  }
  const type = Array.isArray(schema?.type) ? schema.type[0] : schema?.type;
  if (type === 'number' || type === 'integer') return 'number';
  return 'text';
}

const LANGUAGES = ['English', 'French', 'German', 'Spanish', 'Italian', 'Portuguese', 'Dutch', 'Japanese', 'Chinese', 'Korean', 'Polish'];

/** Entities in `text`, found once per text (extraction asks for several keys of one text). */
export class EntityIndex {
  private cache = new Map<string, Entity[]>();
  of(text: string): Entity[] {
    let found = this.cache.get(text);
    if (!found) {
      found = findEntities(text);
      this.cache.set(text, found);
    }
    return found;
  }
}

const byType = (entities: Entity[], ...types: EntityType[]): Entity[] => entities.filter((e) => types.includes(e.type));

/** "order number: A-1234", "invoice #5521": the token after the key's own words. */
function labelledValue(key: string, text: string): string | undefined {
  const parts = words(snake(key).replace(/_/g, ' ')).filter((w) => w.length > 1);
  if (parts.length === 0) return undefined;
  const re = new RegExp(
    `\\b${parts.join('[\\s_-]*')}\\w*\\s*(?:is|was|are|:|=|#|of)?\\s*#?([A-Z0-9][\\w./-]*\\d[\\w./-]*|"[^"\\n]{1,80}"|[A-Z][\\w'-]*(?:\\s+[A-Z][\\w'-]*){0,3})`,
    'i',
  );
  return re
    .exec(text)?.[1]
    ?.replace(/^"|"$/g, '')
    .replace(/[.,;:]$/, '');
}

/** The sentence of `text` that best matches the key's words, whitespace collapsed. */
function sentenceAbout(key: string, text: string): string | undefined {
  const stems = new Set(contentStems(snake(key).replace(/_/g, ' ')));
  let best: { s: string; score: number } | undefined;
  for (const s of splitSentences(text)) {
    if (s.kind === 'heading') continue;
    const score = contentStems(s.text).filter((w) => stems.has(w)).length;
    if (score > 0 && (!best || score > best.score)) best = { s: flat(s.text), score };
  }
  return best?.s;
}

/**
 * The value of `key` in `text`, typed for its schema: an entity of the key's kind, a labelled
 * value, or the sentence about it; `undefined` when the text holds none (callers decide on null).
 * `nth` picks a later entity of the same kind (several calls for "Paris and Tokyo").
 */
export function valueForKey(key: string, schema: JsonSchema | undefined, text: string, index = new EntityIndex(), nth = 0): unknown {
  const kind = keyKind(key, schema);
  const type = Array.isArray(schema?.type) ? schema.type.find((t) => t !== 'null') : schema?.type;
  const entities = index.of(text);
  const pick = (...types: EntityType[]): Entity | undefined => byType(entities, ...types)[nth];
  let found: unknown;
  switch (kind) {
    case 'first_name':
    case 'last_name': {
      const person = pick('person');
      if (person) {
        const parts = String(person.value).split(/\s+/);
        found = kind === 'first_name' ? parts[0] : parts.length > 1 ? parts.at(-1) : undefined;
      }
      break;
    }
    case 'country':
    case 'place':
      found = pick('place')?.value;
      break;
    case 'language':
      found = LANGUAGES.find((l) => new RegExp(`\\b${l}\\b`, 'i').test(text));
      break;
    case 'money':
    case 'percent':
    case 'number': {
      const e = kind === 'number' ? pick('number', 'money', 'percent') : (pick(kind) ?? pick('number'));
      if (e) found = type === 'number' || type === 'integer' ? Number(String(e.value).replace(/[^\d.-]/g, '')) : e.text.trim();
      break;
    }
    case 'text':
      found = labelledValue(key, text) ?? sentenceAbout(key, text);
      break;
    default:
      found = pick(kind)?.value;
  }
  if (found === undefined && kind !== 'text') found = labelledValue(key, text);
  if (found === undefined) return undefined;
  if ((type === 'integer' || type === 'number') && typeof found !== 'number') {
    const n = Number(String(found).replace(/[^\d.-]/g, ''));
    if (!Number.isFinite(n) || String(found).replace(/[^\d]/g, '') === '') return undefined;
    found = type === 'integer' ? Math.round(n) : n;
  }
  if (type === 'integer' && typeof found === 'number') found = Math.round(found);
  return found;
}

/** How many distinct values of the key's kind the text holds (one tool call each). */
export function valueCount(key: string, schema: JsonSchema | undefined, text: string, index = new EntityIndex()): number {
  const kind = keyKind(key, schema);
  const types: Partial<Record<KeyKind, EntityType[]>> = {
    place: ['place'],
    country: ['place'],
    ticker: ['ticker'],
    email: ['email'],
    phone: ['phone'],
    url: ['url'],
    person: ['person'],
    org: ['org'],
  };
  const wanted = types[kind];
  if (!wanted) return 1;
  return new Set(byType(index.of(text), ...wanted).map((e) => String(e.value))).size;
}
