// Writes data/sample-db.sql: the small sales database behind the `sql_query` tool.
//
// The data is generated rather than hand-written so it can be large enough to aggregate over
// (about 600 orders), yet it must never change between runs: tests and demo transcripts quote
// figures from it. Everything below is therefore driven by one seeded PRNG and fixed tables, and
// a test checks that the committed file is exactly what this script prints.
//
// Usage: npx tsx scripts/make-sample-data.ts [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SEED = 20240611;
const ORDER_COUNT = 600;

type Region = 'North America' | 'EMEA' | 'APAC' | 'LATAM';
type Segment = 'Retail' | 'Wholesale' | 'Hospitality';

const COUNTRIES: Record<Region, string[]> = {
  'North America': ['United States', 'United States', 'United States', 'Canada'],
  EMEA: ['United Kingdom', 'Germany', 'France', 'Netherlands', 'Sweden', 'Spain'],
  APAC: ['Australia', 'Japan', 'Singapore', 'New Zealand'],
  LATAM: ['Brazil', 'Mexico', 'Chile', 'Colombia'],
};

// Customers per region: 16 + 13 + 7 + 4 = 40.
const REGION_CUSTOMERS: [Region, number][] = [
  ['North America', 16],
  ['EMEA', 13],
  ['APAC', 7],
  ['LATAM', 4],
];

const NAME_FIRST = [
  'Alder',
  'Harbour',
  'Juniper',
  'Copper',
  'Willow',
  'Saffron',
  'Granite',
  'Marlow',
  'Birch',
  'Indigo',
  'Larkspur',
  'Foxglove',
  'Cedar',
  'Meridian',
  'Tamarind',
  'Oakhurst',
  'Bluebell',
  'Kestrel',
  'Linden',
  'Fernbrook',
];
const NAME_SECOND: Record<Segment, string[]> = {
  Retail: ['Home Goods', 'Interiors', 'Living', 'Homestore', 'Linen Co.', 'Trading'],
  Wholesale: ['Supply', 'Distribution', 'Textile Traders', 'Wholesale', 'Merchants'],
  Hospitality: ['Hotel', 'Inn & Spa', 'Suites', 'Lodge', 'Guesthouse'],
};

interface Product {
  name: string;
  category: string;
  price: number;
  weight: number;
}
const PRODUCTS: Product[] = [
  { name: 'Stonewashed Linen Duvet Cover', category: 'Bedding', price: 189, weight: 6 },
  { name: 'Percale Sheet Set', category: 'Bedding', price: 129, weight: 9 },
  { name: 'Linen Pillowcase Pair', category: 'Bedding', price: 45, weight: 10 },
  { name: 'Waffle Bath Towel', category: 'Bath', price: 32, weight: 12 },
  { name: 'Turkish Cotton Hand Towel', category: 'Bath', price: 18, weight: 12 },
  { name: 'Organic Cotton Bathrobe', category: 'Bath', price: 98, weight: 5 },
  { name: 'Herringbone Wool Throw', category: 'Throws & Blankets', price: 145, weight: 6 },
  { name: 'Merino Baby Blanket', category: 'Throws & Blankets', price: 79, weight: 4 },
  { name: 'Chunky Knit Blanket', category: 'Throws & Blankets', price: 210, weight: 3 },
  { name: 'Linen Tablecloth 180cm', category: 'Table Linen', price: 85, weight: 5 },
  { name: 'Cotton Napkins (Set of 4)', category: 'Table Linen', price: 28, weight: 9 },
  { name: 'Jacquard Table Runner', category: 'Table Linen', price: 39, weight: 5 },
  { name: 'Washed Linen Fabric (per metre)', category: 'Fabric', price: 24, weight: 7 },
  { name: 'Organic Canvas Fabric (per metre)', category: 'Fabric', price: 19, weight: 6 },
  { name: 'Velvet Upholstery Fabric (per metre)', category: 'Fabric', price: 42, weight: 4 },
];

/** mulberry32: tiny, well-mixed 32-bit PRNG; deterministic for a given seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  const item = items[Math.floor(rand() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

function weighted<T>(rand: () => number, items: readonly T[], weight: (t: T) => number): T {
  const total = items.reduce((sum, t) => sum + weight(t), 0);
  let r = rand() * total;
  for (const t of items) {
    r -= weight(t);
    if (r < 0) return t;
  }
  return items[items.length - 1] as T;
}

/** Volume discount per order line; the same tiers are described in data/docs/pricing-and-discounts.md. */
export function volumeDiscount(quantity: number): number {
  if (quantity >= 50) return 0.15;
  if (quantity >= 25) return 0.1;
  if (quantity >= 10) return 0.05;
  return 0;
}

const sqlText = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const round2 = (n: number): number => Math.round(n * 100) / 100;

interface Customer {
  id: number;
  name: string;
  country: string;
  segment: Segment;
  region: Region;
  activity: number;
}

function makeCustomers(rand: () => number): Customer[] {
  const customers: Customer[] = [];
  const used = new Set<string>();
  for (const [region, count] of REGION_CUSTOMERS) {
    for (let i = 0; i < count; i++) {
      const segment = weighted<Segment>(rand, ['Retail', 'Wholesale', 'Hospitality'], (s) => (s === 'Retail' ? 5 : 3));
      let name = '';
      do name = `${pick(rand, NAME_FIRST)} ${pick(rand, NAME_SECOND[segment])}`;
      while (used.has(name));
      used.add(name);
      const activity = segment === 'Wholesale' ? 2 + rand() * 2 : 0.5 + rand();
      customers.push({ id: customers.length + 1, name, country: pick(rand, COUNTRIES[region]), segment, region, activity });
    }
  }
  return customers;
}

/** A day in 2024–2025, with more orders in later months (growth) and in Q4 (gifting season). */
function orderDate(rand: () => number): string {
  const start = Date.UTC(2024, 0, 1);
  const days = 731;
  for (;;) {
    const day = Math.floor(rand() * days);
    const date = new Date(start + day * 86_400_000);
    const growth = 0.6 + 0.4 * (day / days);
    const season = date.getUTCMonth() >= 9 ? 1 : 0.75;
    if (rand() < growth * season) return date.toISOString().slice(0, 10);
  }
}

function quantityFor(rand: () => number, segment: Segment): number {
  const r = rand();
  if (segment === 'Wholesale')
    return r < 0.3 ? 10 + Math.floor(rand() * 15) : r < 0.75 ? 25 + Math.floor(rand() * 25) : 50 + Math.floor(rand() * 71);
  if (segment === 'Hospitality') return r < 0.4 ? 4 + Math.floor(rand() * 6) : 10 + Math.floor(rand() * 30);
  return r < 0.85 ? 1 + Math.floor(rand() * 6) : 6 + Math.floor(rand() * 10);
}

export function renderSampleDb(): string {
  const rand = prng(SEED);
  const customers = makeCustomers(rand);
  const orders = Array.from({ length: ORDER_COUNT }, () => {
    const customer = weighted(rand, customers, (c) => c.activity);
    const productIndex = PRODUCTS.indexOf(weighted(rand, PRODUCTS, (p) => p.weight));
    const product = PRODUCTS[productIndex] as Product;
    const quantity = quantityFor(rand, customer.segment);
    const amount = round2(quantity * product.price * (1 - volumeDiscount(quantity)));
    return { customer, productId: productIndex + 1, quantity, amount, date: orderDate(rand) };
  }).sort((a, b) => a.date.localeCompare(b.date) || a.customer.id - b.customer.id);

  const out: string[] = [
    '-- Northwind Loom sample sales data. Generated by scripts/make-sample-data.ts; do not edit by hand.',
    'CREATE TABLE customers (',
    '  id INTEGER PRIMARY KEY,',
    '  name TEXT NOT NULL,',
    '  country TEXT NOT NULL,',
    "  segment TEXT NOT NULL -- 'Retail', 'Wholesale' or 'Hospitality'",
    ');',
    'CREATE TABLE products (',
    '  id INTEGER PRIMARY KEY,',
    '  name TEXT NOT NULL,',
    '  category TEXT NOT NULL,',
    '  unit_price_usd REAL NOT NULL',
    ');',
    'CREATE TABLE orders (',
    '  id INTEGER PRIMARY KEY,',
    '  customer_id INTEGER NOT NULL REFERENCES customers(id),',
    '  product_id INTEGER NOT NULL REFERENCES products(id),',
    "  region TEXT NOT NULL, -- 'North America', 'EMEA', 'APAC' or 'LATAM'",
    '  quantity INTEGER NOT NULL,',
    '  amount_usd REAL NOT NULL, -- quantity * unit price, less the volume discount',
    "  ordered_on TEXT NOT NULL -- 'YYYY-MM-DD'",
    ');',
    'CREATE INDEX orders_ordered_on ON orders(ordered_on);',
    'CREATE INDEX orders_customer_id ON orders(customer_id);',
    'BEGIN;',
  ];
  for (const c of customers) {
    out.push(`INSERT INTO customers VALUES (${c.id}, ${sqlText(c.name)}, ${sqlText(c.country)}, ${sqlText(c.segment)});`);
  }
  PRODUCTS.forEach((p, i) => {
    out.push(`INSERT INTO products VALUES (${i + 1}, ${sqlText(p.name)}, ${sqlText(p.category)}, ${p.price.toFixed(2)});`);
  });
  orders.forEach((o, i) => {
    out.push(
      `INSERT INTO orders VALUES (${i + 1}, ${o.customer.id}, ${o.productId}, ${sqlText(o.customer.region)}, ${o.quantity}, ${o.amount.toFixed(2)}, '${o.date}');`,
    );
  });
  out.push('COMMIT;', '');
  return out.join('\n');
}

export const SAMPLE_DB_PATH = join(__dirname, '..', 'data', 'sample-db.sql');

function main(): void {
  const sql = renderSampleDb();
  if (process.argv.includes('--check')) {
    const same = readFileSync(SAMPLE_DB_PATH, 'utf8') === sql;
    console.log(same ? 'data/sample-db.sql is up to date' : 'data/sample-db.sql differs from the generator output');
    process.exitCode = same ? 0 : 1;
    return;
  }
  writeFileSync(SAMPLE_DB_PATH, sql);
  console.log(`wrote ${SAMPLE_DB_PATH} (${Buffer.byteLength(sql)} bytes)`);
}

if (process.argv[1]?.endsWith('make-sample-data.ts')) main();
