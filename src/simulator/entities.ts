// Typed values found in text: what extraction fills keys with and what tool inputs are made of.
// People, organisations and places come from `compromise` (a rule-and-lexicon English tagger),
// dates and times from `chrono-node`; the regular shapes (emails, phones, URLs, money, percentages,
// numbers, tickers) from patterns here. Relative dates ("next Tuesday") resolve against a fixed
// reference date, or the first full date the text itself gives, so the same text always yields the
// same values — the simulator never reads the clock.
import * as chrono from 'chrono-node';
import nlp from 'compromise';

export type EntityType =
  'person' | 'org' | 'place' | 'date' | 'time' | 'email' | 'phone' | 'url' | 'money' | 'percent' | 'number' | 'ticker';

export interface Entity {
  type: EntityType;
  /** As written. */
  text: string;
  /** Normalised: ISO dates, E.164-ish phones, numbers as numbers. */
  value: string | number;
  start: number;
}

/** compromise is linear but slow (~4 s per MB); entity search reads at most this much. */
const NLP_LIMIT = 20_000;
const REFERENCE = new Date(Date.UTC(2026, 0, 5, 12));

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const URL_RE = /\bhttps?:\/\/[^\s"'<>)\]]+/g;
const PHONE = /(?<![\w/-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,4}){1,4}(?![\w/-])/g;
const MONEY =
  /(?:(?:USD|EUR|GBP|CHF|JPY|CAD|AUD|US\$|\$|€|£)\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:k|m|bn|million|billion))?|\d[\d,]*(?:\.\d+)?\s?(?:USD|EUR|GBP|dollars|euros|pounds))\b/gi;
const PERCENT = /\b\d+(?:\.\d+)?\s?(?:%|percent\b)/gi;
const NUMBER = /(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?![\w])/g;

const TICKERS: Record<string, string> = {
  apple: 'AAPL',
  microsoft: 'MSFT',
  alphabet: 'GOOGL',
  google: 'GOOGL',
  amazon: 'AMZN',
  tesla: 'TSLA',
  nvidia: 'NVDA',
  meta: 'META',
  facebook: 'META',
  netflix: 'NFLX',
  intel: 'INTC',
  amd: 'AMD',
  ibm: 'IBM',
  oracle: 'ORCL',
  salesforce: 'CRM',
  adobe: 'ADBE',
  disney: 'DIS',
  walmart: 'WMT',
  'coca-cola': 'KO',
  nike: 'NKE',
  boeing: 'BA',
  pfizer: 'PFE',
  visa: 'V',
  jpmorgan: 'JPM',
  'berkshire hathaway': 'BRK.B',
  spotify: 'SPOT',
  uber: 'UBER',
  airbnb: 'ABNB',
  shopify: 'SHOP',
  paypal: 'PYPL',
};
/** All-capital words that are not tickers. */
const NOT_TICKERS = new Set(
  'A I AI API CEO CFO CTO CX EU UK US USA USD EUR GBP SQL JSON PDF HTML CSV URL FAQ ETA ID OK PM AM HR IT QA SLA VAT GDPR NASDAQ NYSE ETF IPO Q1 Q2 Q3 Q4 TODO FYI ASAP'.split(
    ' ',
  ),
);

const clean = (s: string): string => s.replace(/^[\s"'“‘(]+|[\s"'”’),.;:!?]+$/g, '');

function regexAll(text: string, re: RegExp, type: EntityType, value: (m: string) => string | number = (m) => m): Entity[] {
  return [...text.matchAll(re)].map((m) => ({ type, text: m[0], value: value(m[0]), start: m.index }));
}

const toNumber = (s: string): number => Number(s.replace(/[^\d.-]/g, ''));

function phones(text: string): Entity[] {
  return regexAll(text, PHONE, 'phone', (m) => m.trim()).filter((e) => {
    const digits = String(e.text).replace(/\D/g, '');
    // Not a date (2026-03-14), a year range or a plain number.
    return digits.length >= 7 && digits.length <= 15 && !/^\d{4}-\d{2}-\d{2}$/.test(e.text) && /[\s.()+-]/.test(e.text.trim());
  });
}

const pad = (n: number): string => String(n).padStart(2, '0');

function dates(text: string): Entity[] {
  const explicit = /\b(20\d{2}|19\d{2})-(\d{2})-(\d{2})\b/.exec(text);
  const ref = explicit ? new Date(Date.UTC(Number(explicit[1]), Number(explicit[2]) - 1, Number(explicit[3]), 12)) : REFERENCE;
  const out: Entity[] = [];
  for (const r of chrono.parse(text, { instant: ref, timezone: 0 }, { forwardDate: true })) {
    const c = r.start;
    const hasDay = c.isCertain('day') || c.isCertain('weekday');
    const y = c.get('year')!;
    const mo = c.get('month')!;
    const d = c.get('day')!;
    const date = `${y}-${pad(mo)}-${pad(d)}`;
    const time = c.isCertain('hour') ? `${pad(c.get('hour')!)}:${pad(c.get('minute') ?? 0)}` : undefined;
    if (hasDay || c.isCertain('month')) out.push({ type: 'date', text: r.text, value: time ? `${date}T${time}` : date, start: r.index });
    else if (time) out.push({ type: 'time', text: r.text, value: time, start: r.index });
  }
  return out;
}

function tagged(text: string): Entity[] {
  const doc = nlp(text.slice(0, NLP_LIMIT));
  const out: Entity[] = [];
  const collect = (view: { json(options: object): unknown }, type: EntityType): void => {
    let from = 0;
    for (const item of view.json({ offset: true, terms: { offset: false } }) as Array<{
      text: string;
      terms: { text: string; post: string }[];
    }>) {
      // A run of places ("Berlin, São Paulo, New York") is split at its commas.
      const parts: string[] = [];
      let current: string[] = [];
      for (const t of item.terms) {
        current.push(t.text);
        if (type === 'place' && /,/.test(t.post)) {
          parts.push(current.join(' '));
          current = [];
        }
      }
      if (current.length > 0) parts.push(current.join(' '));
      for (const part of parts.map(clean).filter((p) => p.length > 1)) {
        const at = text.indexOf(part, from);
        out.push({ type, text: part, value: part, start: at < 0 ? 0 : at });
        if (at >= 0) from = at + part.length;
      }
    }
  };
  collect(doc.people(), 'person');
  collect(doc.organizations(), 'org');
  collect(doc.places(), 'place');
  return out;
}

function tickers(text: string): Entity[] {
  const out: Entity[] = [];
  for (const m of text.matchAll(/\$([A-Z]{1,5})\b|\b([A-Z]{2,5}(?:\.[A-Z])?)\b/g)) {
    const symbol = m[1] ?? m[2]!;
    if (m[2] && NOT_TICKERS.has(symbol)) continue;
    out.push({ type: 'ticker', text: m[0], value: symbol, start: m.index });
  }
  const lower = text.toLowerCase();
  for (const [company, symbol] of Object.entries(TICKERS)) {
    for (let at = lower.indexOf(company); at >= 0; at = lower.indexOf(company, at + 1)) {
      if (/\w/.test(lower[at - 1] ?? ' ') || /\w/.test(lower[at + company.length] ?? ' ')) continue;
      out.push({ type: 'ticker', text: text.slice(at, at + company.length), value: symbol, start: at });
    }
  }
  return out;
}

/** Every entity in `text`, in order of appearance; a span is claimed by the most specific type. */
export function findEntities(text: string): Entity[] {
  const specific = [
    ...regexAll(text, EMAIL, 'email'),
    ...regexAll(text, URL_RE, 'url'),
    ...dates(text),
    ...phones(text),
    ...regexAll(text, MONEY, 'money', (m) => m.trim()),
    ...regexAll(text, PERCENT, 'percent', toNumber),
  ];
  const taken = (start: number, end: number): boolean => specific.some((e) => start < e.start + e.text.length && e.start < end);
  const numbers = regexAll(text, NUMBER, 'number', toNumber).filter((e) => !taken(e.start, e.start + e.text.length));
  const named = [...tagged(text), ...tickers(text)].filter((e) => !taken(e.start, e.start + e.text.length));
  return [...specific, ...numbers, ...named].sort((a, b) => a.start - b.start);
}

export const entitiesOf = (text: string, type: EntityType): Entity[] => findEntities(text).filter((e) => e.type === type);
