/**
 * What model calls cost in US dollars: a price table per model and the arithmetic that turns a
 * call's token usage into money.
 *
 * Parallelism is a latency loan paid in tokens, so every result Braid returns states its cost next
 * to its token counts. The defaults are Anthropic's published list prices for the models Braid
 * names or is likely to be pointed at; `BRAID_MODEL_PRICES` overrides or adds entries (a deployment
 * with negotiated prices, a new model, a self-hosted endpoint). Prices change: the table carries
 * the date it was last checked, and a model missing from it is reported as unpriced, never as free.
 *
 * Pure and free of Node APIs: workflows may add costs up deterministically from recorded usage.
 */

/** US dollars per million tokens, by kind of token. */
export interface ModelPrice {
  input: number;
  output: number;
  /** Writing a prompt-cache entry that lives 5 minutes (the default TTL). */
  cacheWrite5m: number;
  /** Writing a prompt-cache entry that lives 1 hour. */
  cacheWrite1h: number;
  /** Reading from the prompt cache (a cache hit or refresh). */
  cacheRead: number;
  /** Multiplier on input and output tokens sent through the Message Batches API (0.5: half price). */
  batchFactor: number;
}

/** The day the defaults below were compared with Anthropic's pricing page. */
export const PRICES_CHECKED_ON = '2026-11-30';

const price = (input: number, output: number, cacheWrite5m: number, cacheWrite1h: number, cacheRead: number): ModelPrice => ({
  input,
  output,
  cacheWrite5m,
  cacheWrite1h,
  cacheRead,
  batchFactor: 0.5,
});

/**
 * List prices (USD per million tokens) from platform.claude.com's pricing and model pages. Keys
 * are model ids; a dated id (`claude-haiku-4-5-20251001`) is priced by its undated alias.
 * Models priced by prompt length (a second band above a threshold) are left out: set them in
 * BRAID_MODEL_PRICES at the band you use.
 */
export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  'claude-haiku-4-5': price(1, 5, 1.25, 2, 0.1),
  'claude-sonnet-4-5': price(3, 15, 3.75, 6, 0.3),
  'claude-sonnet-4-6': price(3, 15, 3.75, 6, 0.3),
  'claude-sonnet-5': price(2, 10, 2.5, 4, 0.2),
  'claude-sonnet-5-5': price(2, 10, 2.5, 4, 0.2),
  'claude-opus-4-5': price(5, 25, 6.25, 10, 0.5),
  'claude-opus-4-6': price(5, 25, 6.25, 10, 0.5),
  'claude-opus-4-7': price(5, 25, 6.25, 10, 0.5),
  'claude-opus-4-8': price(5, 25, 6.25, 10, 0.5),
  'claude-opus-5': price(5, 25, 6.25, 10, 0.5),
};

export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** Token counts of one call or a sum of calls, as the Messages API bills them. */
export interface BilledUsage {
  /** Input tokens not read from or written to the cache. */
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  /** Tokens written to a 5-minute cache entry (the API's total cache_creation_input_tokens when no split is given). */
  cacheWriteTokens?: number;
  /** Tokens written to a 1-hour cache entry. */
  cacheWrite1hTokens?: number;
}

/** The table entry for a model id: exact, else the id without a trailing date (-YYYYMMDD). */
export function priceOf(model: string, table: PriceTable = DEFAULT_PRICES): ModelPrice | undefined {
  return table[model] ?? table[model.replace(/-\d{8}$/, '')];
}

/** Dollars for one call's (or a sum of calls') usage; undefined when the model has no price. */
export function usdFor(model: string, u: BilledUsage, opts: { batch?: boolean; table?: PriceTable } = {}): number | undefined {
  const p = priceOf(model, opts.table);
  if (!p) return undefined;
  const factor = opts.batch ? p.batchFactor : 1;
  const usd =
    (u.inputTokens * p.input * factor +
      u.outputTokens * p.output * factor +
      (u.cacheReadTokens ?? 0) * p.cacheRead +
      (u.cacheWriteTokens ?? 0) * p.cacheWrite5m +
      (u.cacheWrite1hTokens ?? 0) * p.cacheWrite1h) /
    1_000_000;
  return roundUsd(usd);
}

/** Dollars to a millionth of a cent, so sums of many small calls do not drift in binary floating point. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e8) / 1e8;
}

/** Per model, what a run's calls used and cost (the `cost.byModel` entries of every `--json` result). */
export interface ModelCost {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** Calls billed at the Message Batches rate. */
  batch: number;
  usd: number;
}

/** A run's cost: what every `--json` result carries as `cost`. */
export interface CostSummary {
  totalUsd: number;
  /** The part of totalUsd that is estimated (e.g. the spend of a call cancelled mid-stream). */
  estimatedUsd: number;
  /** What caching and batching saved against list price without them. */
  savedUsd: number;
  byModel: Record<string, ModelCost>;
  /** Models that had no price: their tokens are counted, their cost is not in totalUsd. */
  unpriced?: string[];
}

export const emptyCost = (): CostSummary => ({ totalUsd: 0, estimatedUsd: 0, savedUsd: 0, byModel: {} });

/**
 * Adds one call to a cost summary (in place) and returns the call's dollars. `estimated` marks
 * spend inferred rather than billed back to us (a cancelled or failed attempt's streamed usage).
 * `u` may also be the sum of `calls` calls of one kind (batch requests added up).
 */
export function addCall(
  summary: CostSummary,
  model: string,
  u: BilledUsage,
  opts: { batch?: boolean; estimated?: boolean; table?: PriceTable; calls?: number } = {},
): number | undefined {
  const m = (summary.byModel[model] ??= { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, batch: 0, usd: 0 });
  m.inputTokens += u.inputTokens;
  m.outputTokens += u.outputTokens;
  m.cacheReadTokens += u.cacheReadTokens ?? 0;
  m.cacheWriteTokens += (u.cacheWriteTokens ?? 0) + (u.cacheWrite1hTokens ?? 0);
  if (opts.batch) m.batch += opts.calls ?? 1;
  const usd = usdFor(model, u, opts);
  if (usd === undefined) {
    summary.unpriced = [...new Set([...(summary.unpriced ?? []), model])].sort();
    return undefined;
  }
  // Without the cache, cached tokens would have been plain input; without batching, full price.
  const list = usdFor(
    model,
    { inputTokens: u.inputTokens + (u.cacheReadTokens ?? 0), outputTokens: u.outputTokens },
    { table: opts.table },
  )!;
  const listWithWrites = roundUsd(
    list + usdFor(model, { inputTokens: (u.cacheWriteTokens ?? 0) + (u.cacheWrite1hTokens ?? 0), outputTokens: 0 }, { table: opts.table })!,
  );
  m.usd = roundUsd(m.usd + usd);
  summary.totalUsd = roundUsd(summary.totalUsd + usd);
  if (opts.estimated) summary.estimatedUsd = roundUsd(summary.estimatedUsd + usd);
  summary.savedUsd = roundUsd(summary.savedUsd + (listWithWrites - usd));
  return usd;
}

/**
 * Charges spend the provider never billed back to us (attempts that failed or were cancelled
 * mid-stream; see `PartialSpend` in usage.ts) to a cost summary, in place, as estimated.
 */
export function addEstimated(
  summary: CostSummary,
  spends: readonly { model: string; usage: BilledUsage }[] | undefined,
  table?: PriceTable,
): CostSummary {
  for (const s of spends ?? []) addCall(summary, s.model, s.usage, { estimated: true, table });
  return summary;
}

/** Sums cost summaries (children's, segments' across continue-as-new) into a new one. */
export function mergeCosts(...parts: CostSummary[]): CostSummary {
  const out = emptyCost();
  for (const p of parts) {
    out.totalUsd = roundUsd(out.totalUsd + p.totalUsd);
    out.estimatedUsd = roundUsd(out.estimatedUsd + p.estimatedUsd);
    out.savedUsd = roundUsd(out.savedUsd + p.savedUsd);
    for (const [model, c] of Object.entries(p.byModel)) {
      const m = (out.byModel[model] ??= { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, batch: 0, usd: 0 });
      m.inputTokens += c.inputTokens;
      m.outputTokens += c.outputTokens;
      m.cacheReadTokens += c.cacheReadTokens;
      m.cacheWriteTokens += c.cacheWriteTokens;
      m.batch += c.batch;
      m.usd = roundUsd(m.usd + c.usd);
    }
    if (p.unpriced?.length) out.unpriced = [...new Set([...(out.unpriced ?? []), ...p.unpriced])].sort();
  }
  return out;
}

/** What made `savedUsd`: 'prompt cache' when cache tokens were billed, 'Message Batches' when batch requests were. */
export function savingSources(c: CostSummary): string[] {
  const all = Object.values(c.byModel);
  return [
    ...(all.some((m) => m.cacheReadTokens || m.cacheWriteTokens) ? ['prompt cache'] : []),
    ...(all.some((m) => m.batch) ? ['Message Batches'] : []),
  ];
}

/** "$0.0123" for people: cents and below shown to four significant places. */
export function formatUsd(usd: number): string {
  if (usd === 0) return '$0';
  if (usd >= 1) return `$${usd.toFixed(2)}`;
  return `$${usd.toPrecision(3).replace(/0+$/, '').replace(/\.$/, '')}`;
}

/** A price as a deployment gives it: input and output are required; the rest follow Anthropic's multipliers. */
export interface PriceOverride {
  input: number;
  output: number;
  cacheWrite5m?: number;
  cacheWrite1h?: number;
  cacheRead?: number;
  batchFactor?: number;
}

/**
 * The defaults with a deployment's overrides on top. Cache prices not given follow the published
 * multipliers of the base input price (5-minute write 1.25×, 1-hour write 2×, read 0.1×), and
 * batches cost half unless said otherwise.
 */
export function priceTable(overrides: Record<string, PriceOverride> = {}): PriceTable {
  const table: Record<string, ModelPrice> = { ...DEFAULT_PRICES };
  for (const [model, o] of Object.entries(overrides)) {
    table[model] = {
      input: o.input,
      output: o.output,
      cacheWrite5m: o.cacheWrite5m ?? o.input * 1.25,
      cacheWrite1h: o.cacheWrite1h ?? o.input * 2,
      cacheRead: o.cacheRead ?? o.input * 0.1,
      batchFactor: o.batchFactor ?? 0.5,
    };
  }
  return table;
}

/**
 * A cost summary from token usage already added up by model (a run's `usage.byModel`). Prices are
 * linear in tokens, so this equals the sum of the calls priced one by one. `table` is the run's
 * input `prices` (the starter's table, BRAID_MODEL_PRICES included); default the list prices.
 */
export function costOfUsage(byModel: Readonly<Record<string, BilledUsage>>, table?: PriceTable): CostSummary {
  const cost = emptyCost();
  for (const [model, u] of Object.entries(byModel)) addCall(cost, model, u, { table });
  return cost;
}

/** Usage of Message Batches requests added up by model, with how many requests it covers. */
export type BatchUsage = Record<string, BilledUsage & { calls: number }>;

/** The same for requests sent through the Message Batches API: billed at the batch rate, counted in `batch`. */
export function costOfBatchUsage(byModel: Readonly<BatchUsage>, table?: PriceTable): CostSummary {
  const cost = emptyCost();
  for (const [model, { calls, ...u }] of Object.entries(byModel)) addCall(cost, model, u, { table, batch: true, calls });
  return cost;
}
