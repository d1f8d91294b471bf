/**
 * The search benchmark's labelled query set: 62 queries with passage-level relevance labels over
 * every passage the four sources hold — handbook sections (data/docs), sample database rows
 * (customers, products, orders), support tickets (data/fixtures/support-tickets.jsonl) and the
 * simulated web's pages (src/simulator/fixtures/web-pages.ts): about 1,100 passages.
 *
 * How the labels are made, without running any search: each query names what it is about, and the
 * relevant passages follow from what the data says of itself —
 * - handbook sections, picked by hand from reading the handbook (a section that answers the query is
 *   2, one that bears on it is 1);
 * - support tickets by the template they were written from (each of the 50 templates is one kind of
 *   request, e.g. "charged twice for order …"), so every ticket of a template has its grade;
 * - database rows by a predicate over the tables (the orders of one customer for one product, the
 *   customers of one country and segment, a product's own row);
 * - web pages by the tags their generator gave them (`topic:double-charge`, `product:7`, …).
 * A passage labelled by several rules keeps its highest grade; every other passage is 0.
 *
 * `npm run fixtures` writes the set to data/fixtures/search-queries.jsonl; a test checks the committed
 * file equals this generator's output, and that every labelled id is a passage a source holds. The
 * set was written and committed before the sources' rankers existed and is not tuned against them.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { handbookPassageId, passageId } from '../src/shared/search';
import { fromJsonl, SUPPORT_TICKET_LABELS, SUPPORT_TICKET_TEMPLATES } from '../src/simulator/fixtures/support-tickets';
import { webPages } from '../src/simulator/fixtures/web-pages';
import { splitSections } from '../src/tools/search';

export type Grade = 1 | 2;

export interface LabelledQuery {
  id: string;
  query: string;
  /** Passage id → grade (2: answers the query or is what it names; 1: bears on it). Unlisted passages are 0. */
  relevant: Record<string, Grade>;
}

/** An order predicate: the orders of one customer (by id) for one product (by id). */
interface OrdersOf {
  customer: number;
  product: number;
}

interface Topic {
  query: string;
  /** `<file stem>#<heading>` → grade. */
  handbook?: Record<string, Grade>;
  /** `<label>/<template index>` → grade. */
  tickets?: Record<string, Grade>;
  /** Web page tag → grade. */
  web?: Record<string, Grade>;
  /** Database rows: orders of a customer for a product (2), with the customer's and product's rows (1). */
  orders?: OrdersOf;
  /** Customer rows of a country and segment (2). */
  customers?: { country: string; segment: string };
  /** Rows by table and id → grade. */
  rows?: Record<string, Grade>;
}

const TOPICS: Topic[] = [
  {
    query: 'charged twice for one order',
    tickets: { 'billing/0': 2, 'billing/9': 1 },
    handbook: { 'support-sla#Priorities': 1 },
    web: { 'topic:double-charge': 2 },
  },
  {
    query: 'refund for an item that arrived damaged',
    handbook: {
      'refunds-and-returns#Refunds for damaged or faulty items': 2,
      'shipping#Damaged in transit': 2,
      'refunds-and-returns#Wholesale and hospitality accounts': 1,
    },
    web: { 'topic:damaged-delivery': 2 },
  },
  {
    query: 'how long until a refund appears on my card',
    handbook: { 'refunds-and-returns#How and when money is returned': 2 },
    web: { 'topic:refund-timing': 2 },
  },
  {
    query: 'return unused items within 30 days',
    handbook: { 'refunds-and-returns#Standard returns window': 2, 'refunds-and-returns#Exchanges': 1 },
    web: { 'topic:returns-window': 2 },
  },
  {
    query: 'parcel marked as delivered but never arrived',
    handbook: { 'shipping#Lost and late parcels': 2 },
    tickets: { 'shipping/4': 2 },
    web: { 'topic:delivered-not-received': 2 },
  },
  {
    query: 'tracking has not updated for days',
    handbook: { 'shipping#Lost and late parcels': 2, 'shipping#Carriers and tracking': 1 },
    tickets: { 'shipping/0': 2, 'shipping/6': 2, 'technical_issue/9': 1 },
    web: { 'topic:late-delivery': 1 },
  },
  {
    query: 'import duties charged on delivery',
    handbook: { 'shipping#Customs, duties and taxes': 2 },
    tickets: { 'shipping/5': 2 },
    web: { 'topic:duties': 2 },
  },
  {
    query: 'change the delivery address after ordering',
    handbook: { 'shipping#Addresses and changes': 2 },
    tickets: { 'shipping/2': 2, 'shipping/1': 1 },
    web: { 'topic:address-change': 2 },
  },
  {
    query: 'express delivery options and prices',
    handbook: { 'shipping#Delivery options and prices': 2 },
    tickets: { 'shipping/8': 2, 'shipping/3': 1 },
    web: { 'topic:express-delivery': 2 },
  },
  {
    query: 'discount code did not apply at checkout',
    handbook: { 'pricing-and-discounts#Promotions': 1 },
    tickets: { 'billing/3': 2 },
    web: { 'topic:discount-code': 2 },
  },
  {
    query: 'invoice with our VAT number',
    tickets: { 'billing/2': 2, 'billing/5': 1 },
    web: { 'topic:invoice-vat': 2 },
  },
  {
    query: 'volume discount for bulk orders',
    handbook: { 'pricing-and-discounts#Volume discounts': 2, 'pricing-and-discounts#Segment pricing': 1 },
    web: { 'topic:volume-discount': 2 },
  },
  {
    query: 'store credit bonus instead of a refund',
    handbook: { 'refunds-and-returns#How and when money is returned': 2 },
    tickets: { 'billing/7': 2 },
    web: { 'topic:store-credit': 2 },
  },
  {
    query: 'delete my account and personal data',
    handbook: { 'data-retention#Customer requests': 2, 'data-retention#Retention schedule': 1 },
    tickets: { 'account/2': 2 },
    web: { 'topic:data-deletion': 2 },
  },
  {
    query: 'locked out after too many login attempts',
    handbook: { 'security-policy#Accounts and passwords': 1 },
    tickets: { 'account/1': 2, 'account/6': 1 },
    web: { 'topic:account-lockout': 2 },
  },
  {
    query: 'two-factor authentication',
    handbook: { 'security-policy#Accounts and passwords': 2 },
    tickets: { 'account/5': 2 },
    web: { 'topic:2fa': 2 },
  },
  {
    query: 'password reset email never arrives',
    tickets: { 'technical_issue/5': 2 },
    web: { 'topic:password-reset': 2 },
  },
  {
    query: 'checkout freezes when I press pay',
    tickets: { 'technical_issue/0': 2, 'technical_issue/7': 1, 'billing/9': 1 },
    web: { 'topic:checkout-outage': 2 },
  },
  {
    query: 'app crashes when opening order history',
    tickets: { 'technical_issue/2': 2 },
    web: { 'topic:app-crash': 2 },
  },
  {
    query: 'product photos not loading on the website',
    tickets: { 'technical_issue/4': 2 },
    web: { 'topic:images-down': 2 },
  },
  {
    query: 'returns portal photo upload error',
    handbook: { 'refunds-and-returns#Refunds for damaged or faulty items': 1 },
    tickets: { 'technical_issue/8': 2 },
  },
  { query: 'merge two customer accounts', tickets: { 'account/3': 2 } },
  {
    query: 'stop marketing emails',
    handbook: { 'data-retention#Retention schedule': 1 },
    tickets: { 'account/7': 2 },
  },
  {
    query: 'add another user to a wholesale account',
    handbook: { 'support-sla#Wholesale and hospitality accounts': 1 },
    tickets: { 'account/8': 2 },
  },
  { query: 'gift wrapping at checkout', tickets: { 'feedback/7': 2 }, web: { 'topic:gift-wrap': 2 } },
  { query: 'how to wash linen bedding', tickets: { 'feedback/9': 1 }, web: { 'care:linen': 2 } },
  { query: 'plastic-free packaging', tickets: { 'feedback/4': 2 }, web: { 'topic:packaging': 2 } },
  {
    query: 'email support response time',
    handbook: { 'support-sla#Channels and hours': 2, 'support-sla#Wholesale and hospitality accounts': 1 },
  },
  {
    query: 'when to escalate to a team lead',
    handbook: { 'support-sla#Escalation': 2, 'refunds-and-returns#Exceptions': 1, 'pricing-and-discounts#Discretionary discounts': 1 },
  },
  { query: 'report a lost or stolen laptop', handbook: { 'security-policy#Devices': 2, 'security-policy#Reporting incidents': 2 } },
  {
    query: 'suspicious phishing email',
    handbook: { 'security-policy#Phishing and social engineering': 2, 'security-policy#Reporting incidents': 1 },
  },
  { query: 'working from another country', handbook: { 'remote-work#Working from abroad': 2 } },
  { query: 'home office allowance', handbook: { 'remote-work#Equipment and allowances': 2 } },
  {
    query: 'laptop shipped before the start date',
    handbook: { 'onboarding#Before the first day': 2, 'remote-work#Equipment and allowances': 1 },
  },
  { query: 'how long are support tickets kept', handbook: { 'data-retention#Retention schedule': 2 } },
  {
    query: 'customer data in AI tools',
    handbook: { 'data-retention#Analytics and AI tools': 2, 'security-policy#Data classification': 1 },
  },
  { query: 'customer satisfaction target', handbook: { 'support-sla#Quality': 2 } },
  { query: 'restocking fee for wholesale returns', handbook: { 'refunds-and-returns#Wholesale and hospitality accounts': 2 } },
  {
    query: 'free shipping threshold',
    handbook: { 'shipping#Delivery options and prices': 2 },
    tickets: { 'billing/8': 2 },
    web: { 'topic:free-shipping': 2 },
  },
  {
    query: 'orders during the holiday gifting peak',
    handbook: { 'shipping#Processing times': 2, 'onboarding#Before the first day': 1 },
  },
  {
    query: 'second parcel missing from my order',
    handbook: { 'shipping#Lost and late parcels': 1 },
    tickets: { 'shipping/9': 2 },
  },
  {
    query: 'order has not been dispatched yet',
    handbook: { 'shipping#Processing times': 1 },
    tickets: { 'shipping/7': 2 },
  },
  {
    query: 'carrier delays in Asia Pacific',
    handbook: { 'shipping#Shipping and Delivery': 1, 'shipping#Delivery options and prices': 1 },
    web: { 'topic:apac-delay': 2 },
  },
  { query: 'Melbourne warehouse', handbook: { 'shipping#Shipping and Delivery': 1 }, web: { 'topic:melbourne': 2 } },
  { query: 'where the linen is sourced', handbook: { 'onboarding#Week one': 2 }, web: { 'topic:mills': 2 } },
  {
    query: 'winter sale on throws and blankets',
    handbook: { 'pricing-and-discounts#Promotions': 2 },
    web: { 'topic:winter-sale': 2 },
  },
  { query: 'Juniper Hotel Percale Sheet Set orders', orders: { customer: 1, product: 2 }, web: { 'customer:1': 1 } },
  { query: 'Willow Suites waffle bath towels', orders: { customer: 3, product: 4 }, web: { 'customer:3': 1 } },
  { query: 'Copper Suites herringbone wool throws', orders: { customer: 15, product: 7 }, web: { 'customer:15': 1 } },
  { query: 'Meridian Textile Traders velvet fabric orders', orders: { customer: 10, product: 15 }, web: { 'customer:10': 1 } },
  { query: 'Harbour Merchants wool throw orders', orders: { customer: 18, product: 7 }, web: { 'customer:18': 1 } },
  { query: 'Linden Distribution merino baby blankets', orders: { customer: 4, product: 8 }, web: { 'customer:4': 1 } },
  { query: 'Copper Merchants linen duvet covers', orders: { customer: 12, product: 1 }, web: { 'customer:12': 1 } },
  { query: 'Birch Supply chunky knit blankets', orders: { customer: 20, product: 9 }, web: { 'customer:20': 1 } },
  { query: 'Oakhurst Hotel velvet upholstery', orders: { customer: 21, product: 15 }, web: { 'customer:21': 1 } },
  { query: 'Kestrel Living jacquard table runner orders', orders: { customer: 11, product: 12 } },
  {
    query: 'wholesale customers in Canada',
    customers: { country: 'Canada', segment: 'Wholesale' },
    web: { 'customer:4': 1, 'customer:10': 1 },
  },
  {
    query: 'hospitality customers in New Zealand',
    customers: { country: 'New Zealand', segment: 'Hospitality' },
    web: { 'customer:31': 1, 'customer:36': 1 },
  },
  { query: 'Herringbone Wool Throw reviews', rows: { 'products/7': 1 }, web: { 'product:7': 2 } },
  {
    query: 'price of the Chunky Knit Blanket',
    rows: { 'products/9': 2 },
    handbook: { 'pricing-and-discounts#How list prices are set': 2 },
    web: { 'product:9': 1 },
  },
  {
    query: 'Merino Baby Blanket safety issue',
    rows: { 'products/8': 1 },
    handbook: { 'support-sla#Priorities': 2 },
    web: { 'product:8': 1 },
  },
  { query: 'velvet upholstery fabric', rows: { 'products/15': 2 }, web: { 'product:15': 2, 'care:velvet': 1 } },
];

const ROOT = path.join(__dirname, '..');

/** Which template a ticket was written from: `<label>/<index>`. */
function templateOf(text: string, label: string): string {
  const templates = SUPPORT_TICKET_TEMPLATES[label as (typeof SUPPORT_TICKET_LABELS)[number]];
  const index = templates.findIndex((t) => {
    const pattern = t.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{\w+\\?\}/g, '(.+?)');
    return new RegExp(`^${pattern}$`).test(text);
  });
  if (index < 0) throw new Error(`no template of ${label} wrote "${text}"`);
  return `${label}/${index}`;
}

/** The labelled queries, q01 … in TOPICS order; throws when a topic names something the data does not hold. */
export function searchQuerySet(): LabelledQuery[] {
  const docsDir = path.join(ROOT, 'data', 'docs');
  const sections = new Set<string>();
  for (const file of fs.readdirSync(docsDir).filter((f) => f.endsWith('.md')))
    for (const s of splitSections(file, fs.readFileSync(path.join(docsDir, file), 'utf8')))
      sections.add(handbookPassageId(file, s.section));
  const tickets = fromJsonl('support-tickets', fs.readFileSync(path.join(ROOT, 'data', 'fixtures', 'support-tickets.jsonl'), 'utf8'));
  const ticketsBy = new Map<string, string[]>();
  for (const t of tickets.items) {
    const key = templateOf(t.text, t.label);
    ticketsBy.set(key, [...(ticketsBy.get(key) ?? []), t.id]);
  }
  const pages = webPages();
  const db = new Database(':memory:');
  db.exec(fs.readFileSync(path.join(ROOT, 'data', 'sample-db.sql'), 'utf8'));
  try {
    return TOPICS.map((t, i) => {
      const relevant: Record<string, Grade> = {};
      const mark = (id: string, grade: Grade) => {
        relevant[id] = Math.max(relevant[id] ?? 0, grade) as Grade;
      };
      for (const [key, grade] of Object.entries(t.handbook ?? {})) {
        const [file, heading] = key.split('#') as [string, string];
        const id = handbookPassageId(`${file}.md`, heading);
        if (!sections.has(id)) throw new Error(`${t.query}: no handbook section ${key}`);
        mark(id, grade);
      }
      for (const [key, grade] of Object.entries(t.tickets ?? {})) {
        const ids = ticketsBy.get(key);
        if (!ids) throw new Error(`${t.query}: no ticket was written from template ${key}`);
        for (const id of ids) mark(passageId('tickets', id), grade);
      }
      for (const [tag, grade] of Object.entries(t.web ?? {})) {
        const tagged = pages.filter((p) => p.tags.includes(tag));
        if (tagged.length === 0) throw new Error(`${t.query}: no web page is tagged ${tag}`);
        for (const p of tagged) mark(passageId('web', p.id), grade);
      }
      if (t.orders) {
        const ids = db
          .prepare('SELECT id FROM orders WHERE customer_id = ? AND product_id = ? ORDER BY id')
          .pluck()
          .all(t.orders.customer, t.orders.product) as number[];
        if (ids.length === 0) throw new Error(`${t.query}: no orders of customer ${t.orders.customer} for product ${t.orders.product}`);
        for (const id of ids) mark(passageId('database', `orders/${id}`), 2);
        mark(passageId('database', `customers/${t.orders.customer}`), 1);
        mark(passageId('database', `products/${t.orders.product}`), 1);
      }
      if (t.customers) {
        const ids = db
          .prepare('SELECT id FROM customers WHERE country = ? AND segment = ? ORDER BY id')
          .pluck()
          .all(t.customers.country, t.customers.segment) as number[];
        if (ids.length === 0) throw new Error(`${t.query}: no ${t.customers.segment} customers in ${t.customers.country}`);
        for (const id of ids) mark(passageId('database', `customers/${id}`), 2);
      }
      for (const [row, grade] of Object.entries(t.rows ?? {})) {
        const [table, id] = row.split('/') as [string, string];
        if (!db.prepare(`SELECT 1 FROM ${table} WHERE id = ?`).get(Number(id))) throw new Error(`${t.query}: no row ${row}`);
        mark(passageId('database', row), grade);
      }
      const sorted = Object.fromEntries(Object.entries(relevant).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      return { id: `q${String(i + 1).padStart(2, '0')}`, query: t.query, relevant: sorted };
    });
  } finally {
    db.close();
  }
}

/** JSON Lines, one query per line: the format of data/fixtures/search-queries.jsonl. */
export function querySetJsonl(set: LabelledQuery[]): string {
  return set.map((q) => JSON.stringify(q)).join('\n') + '\n';
}

/** Reads data/fixtures/search-queries.jsonl (or another file in its format). */
export function readQuerySet(file = path.join(ROOT, 'data', 'fixtures', 'search-queries.jsonl')): LabelledQuery[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LabelledQuery);
}
