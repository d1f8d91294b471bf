// Validation for simulator configuration that arrives as JSON from outside the process: the
// standalone entry's `--config` file and `POST /_sim/config`. Objects are strict so a misspelt key
// ("requestPerMinute") is an error rather than a silently unlimited simulator.
import { z } from 'zod';
import { priceOverride } from '../config';
import type { SimulatorOptions } from './types';

const ms = z.number().finite().nonnegative();

const dist = z.union([
  ms,
  z.strictObject({ fixed: ms }),
  z.strictObject({ uniform: z.tuple([ms, ms]) }),
  z.strictObject({ normal: z.strictObject({ mean: ms, sd: ms }) }),
  z.strictObject({ lognormal: z.strictObject({ median: ms, sigma: ms }) }),
]);

const latency = z.strictObject({
  ttftMs: dist.optional(),
  perTokenMs: dist.optional(),
  models: z.record(z.string(), z.strictObject({ ttftMs: dist.optional(), perTokenMs: dist.optional() })).optional(),
  tools: z.record(z.string(), dist).optional(),
});

const rateLimits = z.strictObject({
  requestsPerMinute: z.number().positive().optional(),
  tokensPerMinute: z.number().positive().optional(),
  inputTokensPerMinute: z.number().positive().optional(),
  outputTokensPerMinute: z.number().positive().optional(),
});

const tokens = z.number().int().positive();
const share = z.number().min(0).max(1);

/** A row of the model table: limits, personality, latency and price (in BRAID_MODEL_PRICES' shape). */
const modelSpec = z.strictObject({
  displayName: z.string().min(1).optional(),
  maxOutputTokens: tokens.optional(),
  contextWindow: tokens.optional(),
  minCacheTokens: z.number().int().nonnegative().optional(),
  createdAt: z.iso.datetime().optional(),
  thinking: z.strictObject({ enabled: z.boolean(), adaptive: z.boolean() }).optional(),
  aliases: z.array(z.string().min(1)).optional(),
  errorRate: share.optional(),
  quality: share.optional(),
  ttftMs: dist.optional(),
  perTokenMs: dist.optional(),
  price: priceOverride.optional(),
});

const models = z.record(z.string().min(1), modelSpec);

const batches = z.strictObject({
  processingMs: ms.optional(),
  expiresAfterMs: ms.optional(),
  cancelMs: ms.optional(),
});

const promptCache = z.strictObject({
  ttl5mMs: ms.optional(),
  ttl1hMs: ms.optional(),
});

const faultRule = z.strictObject({
  kind: z.enum(['status', 'stall', 'reset', 'malformed', 'sse_error', 'truncate']),
  status: z.number().int().min(400).max(599).optional(),
  retryAfterS: z.number().nonnegative().optional(),
  retryAfterMs: z.number().nonnegative().optional(),
  rate: z.number().min(0).max(1).optional(),
  times: z.number().int().nonnegative().optional(),
  match: z.strictObject({ model: z.string().optional(), contains: z.string().optional(), stream: z.boolean().optional() }).optional(),
});

const labelledSet = z
  .strictObject({
    name: z.string().min(1),
    labels: z.array(z.string().min(1)).min(2),
    items: z.array(z.strictObject({ id: z.string().min(1), text: z.string().min(1), label: z.string().min(1) })).min(1),
  })
  .superRefine((set, ctx) => {
    set.items.forEach((item, i) => {
      if (!set.labels.includes(item.label))
        ctx.addIssue({ code: 'custom', path: ['items', i, 'label'], message: `"${item.label}" is not one of the set's labels` });
    });
  });

const answerRule = z.strictObject({
  answer: z.enum(['right', 'wrong', 'invalid']).optional(),
  slowMs: ms.optional(),
  rate: share.optional(),
  match: z.strictObject({ model: z.string().optional(), contains: z.string().optional() }).optional(),
});

const searchPage = z.strictObject({ id: z.string().min(1), title: z.string(), url: z.string().optional(), text: z.string() });
/** Corpora of the search endpoint, by tool name; each replaces the one of that name (`web_search` is built in). */
const searchCorpora = z.record(z.string().min(1), z.array(searchPage));

const mind = {
  errorCorrelation: share.optional(),
  datasets: z.array(labelledSet).optional(),
  answerRules: z.array(answerRule).optional(),
};

const options = z.strictObject({
  port: z.number().int().min(0).max(65535).optional(),
  host: z.string().optional(),
  seed: z.number().finite().optional(),
  latency: latency.optional(),
  rateLimits: rateLimits.optional(),
  faults: z.array(faultRule).optional(),
  apiKey: z.string().optional(),
  quiet: z.boolean().optional(),
  models: models.optional(),
  batches: batches.optional(),
  promptCache: promptCache.optional(),
  searchCorpora: searchCorpora.optional(),
  ...mind,
});

/** Runtime patch: the sections configure() replaces; `null` clears a section over HTTP. */
const patch = z.strictObject({
  latency: latency.nullable().optional(),
  rateLimits: rateLimits.nullable().optional(),
  faults: z.array(faultRule).nullable().optional(),
  seed: z.number().finite().optional(),
  apiKey: z.string().nullable().optional(),
  models: models.nullable().optional(),
  errorCorrelation: mind.errorCorrelation.nullable(),
  datasets: mind.datasets.nullable(),
  answerRules: mind.answerRules.nullable(),
  searchCorpora: searchCorpora.nullable().optional(),
});

export type ConfigPatch = Partial<
  Pick<
    SimulatorOptions,
    'latency' | 'rateLimits' | 'faults' | 'seed' | 'apiKey' | 'models' | 'errorCorrelation' | 'datasets' | 'answerRules' | 'searchCorpora'
  >
>;

export class ConfigInvalid extends Error {
  override name = 'ConfigInvalid';
}

function oneLine(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

function checkStatusFaults(faults: SimulatorOptions['faults'] | null | undefined): void {
  faults?.forEach((f, i) => {
    if (f.kind === 'status' && f.status === undefined) throw new ConfigInvalid(`faults.${i}.status: required when kind is "status"`);
  });
}

/** Parses full options (the `--config` file); throws ConfigInvalid with a one-line message. */
export function parseOptions(value: unknown): SimulatorOptions {
  const result = options.safeParse(value);
  if (!result.success) throw new ConfigInvalid(oneLine(result.error));
  checkStatusFaults(result.data.faults);
  return result.data;
}

/** Parses a runtime patch (`POST /_sim/config`), turning `null` sections into cleared ones. */
export function parseConfigPatch(value: unknown): ConfigPatch {
  const result = patch.safeParse(value);
  if (!result.success) throw new ConfigInvalid(oneLine(result.error));
  checkStatusFaults(result.data.faults);
  const out: ConfigPatch = {};
  for (const [key, v] of Object.entries(result.data)) (out as Record<string, unknown>)[key] = v ?? undefined;
  return out;
}
