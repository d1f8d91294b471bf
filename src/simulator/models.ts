// The models the simulator serves and what it knows about each: the limits requests are checked
// against (max_tokens, context window), the minimum prefix a cache breakpoint caches, which thinking
// modes are accepted, the `GET /v1/models` listing, and the model's personality — error rate,
// quality, latency and price. The built-in rows follow Anthropic's published figures for the models
// Braid defaults to and their neighbours, and Braid's own list prices (shared/pricing.ts), so the
// simulator's dollar figures are what Braid charges; the personalities are illustrative (a fast,
// cheap line is wrong more often than a capable one). The configuration's `models` adds rows or
// overrides fields, so a test can serve a made-up model, a tiny limit or a set error rate.
// A request naming a model not in the table gets 404, as it would from the API.
import { DEFAULT_PRICES, priceOf, priceTable } from '../shared/pricing';
import type { ModelConfig, ModelSpec } from './types';

const EPOCH = '1970-01-01T00:00:00Z';

export type Personality = Pick<ModelSpec, 'errorRate' | 'quality' | 'ttftMs' | 'perTokenMs'>;

/** Per model line (a name containing haiku, sonnet or opus): how often it is wrong, how much it uses, how fast it is. */
const LINE_PERSONALITY: Record<string, Personality> = {
  haiku: { errorRate: 0.15, quality: 0.6, ttftMs: { uniform: [80, 220] }, perTokenMs: 2 },
  sonnet: { errorRate: 0.08, quality: 0.85, ttftMs: { uniform: [150, 400] }, perTokenMs: 4 },
  opus: { errorRate: 0.04, quality: 0.95, ttftMs: { uniform: [300, 700] }, perTokenMs: 7 },
};

/** Any other model: never wrong unless configured to be, mid quality, the simulator's default latency. */
const NEUTRAL: Personality = { errorRate: 0, quality: 0.8 };

/** The personality of the line a model id names, and its list price when Braid knows one. */
function byName(id: string): Personality & Pick<ModelSpec, 'price'> {
  const line = /haiku|sonnet|opus/i.exec(id)?.[0].toLowerCase();
  return { ...(line ? LINE_PERSONALITY[line]! : NEUTRAL), price: priceOf(id, DEFAULT_PRICES) };
}

type Limits = Omit<ModelSpec, keyof Personality | 'price'>;

/** Newest first: the order `GET /v1/models` lists them in. Release dates come from dated ids; others are unknown (epoch). */
const BUILT_IN_LIMITS: Array<[string, Limits]> = [
  [
    'claude-opus-4-8',
    {
      displayName: 'Claude Opus 4.8',
      maxOutputTokens: 128_000,
      contextWindow: 1_000_000,
      minCacheTokens: 1024,
      createdAt: EPOCH,
      thinking: { enabled: false, adaptive: true },
      aliases: [],
    },
  ],
  [
    'claude-opus-4-7',
    {
      displayName: 'Claude Opus 4.7',
      maxOutputTokens: 128_000,
      contextWindow: 1_000_000,
      minCacheTokens: 2048,
      createdAt: EPOCH,
      thinking: { enabled: false, adaptive: true },
      aliases: [],
    },
  ],
  [
    'claude-sonnet-4-6',
    {
      displayName: 'Claude Sonnet 4.6',
      maxOutputTokens: 64_000,
      contextWindow: 1_000_000,
      minCacheTokens: 2048,
      createdAt: EPOCH,
      thinking: { enabled: true, adaptive: true },
      aliases: [],
    },
  ],
  [
    'claude-opus-4-6',
    {
      displayName: 'Claude Opus 4.6',
      maxOutputTokens: 128_000,
      contextWindow: 1_000_000,
      minCacheTokens: 4096,
      createdAt: EPOCH,
      thinking: { enabled: true, adaptive: true },
      aliases: [],
    },
  ],
  [
    'claude-opus-4-5-20251101',
    {
      displayName: 'Claude Opus 4.5',
      maxOutputTokens: 64_000,
      contextWindow: 200_000,
      minCacheTokens: 4096,
      createdAt: '2025-11-01T00:00:00Z',
      thinking: { enabled: true, adaptive: false },
      aliases: ['claude-opus-4-5'],
    },
  ],
  [
    'claude-haiku-4-5-20251001',
    {
      displayName: 'Claude Haiku 4.5',
      maxOutputTokens: 64_000,
      contextWindow: 200_000,
      minCacheTokens: 4096,
      createdAt: '2025-10-01T00:00:00Z',
      thinking: { enabled: true, adaptive: false },
      aliases: ['claude-haiku-4-5'],
    },
  ],
  [
    'claude-sonnet-4-5-20250929',
    {
      displayName: 'Claude Sonnet 4.5',
      maxOutputTokens: 64_000,
      contextWindow: 200_000,
      minCacheTokens: 1024,
      createdAt: '2025-09-29T00:00:00Z',
      thinking: { enabled: true, adaptive: false },
      aliases: ['claude-sonnet-4-5'],
    },
  ],
];

const BUILT_IN: Array<[string, ModelSpec]> = BUILT_IN_LIMITS.map(([id, limits]) => [id, { ...limits, ...byName(id) }]);

/** Limits a configured model gets when it names only some. */
const NEW_MODEL_LIMITS: Omit<Limits, 'displayName'> = {
  maxOutputTokens: 64_000,
  contextWindow: 200_000,
  minCacheTokens: 1024,
  createdAt: EPOCH,
  thinking: { enabled: true, adaptive: true },
  aliases: [],
};

/** One entry of `GET /v1/models`, shaped as the API's ModelInfo. */
export interface ModelInfo {
  type: 'model';
  id: string;
  display_name: string;
  created_at: string;
  max_input_tokens: number;
  max_tokens: number;
  capabilities: Record<string, unknown>;
  deprecated_at: null;
  retires_at: null;
  lifecycle: 'active';
  line: string | null;
}

const supported = (yes: boolean) => ({ supported: yes });

export class ModelCatalog {
  private readonly specs: Array<[string, ModelSpec]>;
  private readonly byName = new Map<string, [string, ModelSpec]>();

  constructor(overrides: Record<string, ModelConfig> = {}) {
    const rows = new Map<string, ModelSpec>(BUILT_IN.map(([id, spec]) => [id, spec]));
    const aliasOf = new Map(BUILT_IN.flatMap(([id, spec]) => spec.aliases.map((a) => [a, id] as const)));
    for (const [name, { price, ...patch }] of Object.entries(overrides)) {
      const id = aliasOf.get(name) ?? name;
      const base = rows.get(id) ?? { displayName: id, ...NEW_MODEL_LIMITS, ...byName(id) };
      rows.set(id, { ...base, ...patch, ...(price ? { price: priceTable({ [id]: price })[id] } : {}) });
    }
    // Configured models are listed before the built-in ones, newest-first being unknowable for them.
    const configured = [...rows.keys()].filter((id) => !BUILT_IN.some(([b]) => b === id));
    this.specs = [...configured, ...BUILT_IN.map(([id]) => id)].map((id) => [id, rows.get(id)!]);
    for (const row of this.specs) {
      this.byName.set(row[0], row);
      for (const alias of row[1].aliases) this.byName.set(alias, row);
    }
  }

  /** The spec for a model id or alias; undefined when the simulator does not serve it. */
  get(name: string): ModelSpec | undefined {
    return this.byName.get(name)?.[1];
  }

  /** How the model behaves: its row's personality, or (outside the table, for the planner used alone) its name's. */
  personality(name: string): Personality {
    return this.get(name) ?? byName(name);
  }

  /** The canonical id for an id or alias. */
  canonical(name: string): string | undefined {
    return this.byName.get(name)?.[0];
  }

  ids(): string[] {
    return this.specs.map(([id]) => id);
  }

  info(name: string): ModelInfo | undefined {
    const row = this.byName.get(name);
    if (!row) return undefined;
    const [id, spec] = row;
    const line = /^claude-(haiku|sonnet|opus|fable|mythos)\b/.exec(id)?.[1] ?? null;
    return {
      type: 'model',
      id,
      display_name: spec.displayName,
      created_at: spec.createdAt,
      max_input_tokens: spec.contextWindow,
      max_tokens: spec.maxOutputTokens,
      // What the simulator imitates for this model, in the API's capability vocabulary.
      capabilities: {
        batch: supported(true),
        citations: supported(true),
        code_execution: supported(false),
        context_management: { supported: false, clear_thinking_20251015: null, clear_tool_uses_20250919: null, compact_20260112: null },
        effort: {
          supported: false,
          low: supported(false),
          medium: supported(false),
          high: supported(false),
          max: supported(false),
          xhigh: null,
        },
        image_input: supported(true),
        pdf_input: supported(true),
        server_tools: { supported: false, code_execution: supported(false), web_search: supported(false) },
        structured_outputs: supported(true),
        thinking: {
          supported: spec.thinking.enabled || spec.thinking.adaptive,
          types: {
            adaptive: supported(spec.thinking.adaptive),
            between_tools: supported(false),
            disabled: supported(true),
            enabled: supported(spec.thinking.enabled),
          },
        },
      },
      deprecated_at: null,
      retires_at: null,
      lifecycle: 'active',
      line,
    };
  }
}

export class PageInvalid extends Error {
  override name = 'PageInvalid';
}

export interface Page<T> {
  data: T[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

/**
 * Cursor paging as the API documents it for list endpoints: `limit` (1–1000, default 20), and
 * either `after_id` (the page after that item) or `before_id` (the page just before it).
 */
export function paginate<T extends { id: string }>(items: T[], query: URLSearchParams): Page<T> {
  const rawLimit = query.get('limit');
  let limit = 20;
  if (rawLimit !== null) {
    if (!/^\d+$/.test(rawLimit)) throw new PageInvalid('limit: Input should be a valid integer');
    limit = Number(rawLimit);
    if (limit < 1 || limit > 1000)
      throw new PageInvalid('limit: Input should be greater than or equal to 1 and less than or equal to 1000');
  }
  const after = query.get('after_id');
  const before = query.get('before_id');
  if (after !== null && before !== null) throw new PageInvalid('Only one of before_id and after_id may be given');
  const indexOf = (id: string): number => {
    const i = items.findIndex((item) => item.id === id);
    if (i === -1) throw new PageInvalid(`No item with id ${id}`);
    return i;
  };
  let start: number;
  let end: number;
  if (before !== null) {
    end = indexOf(before);
    start = Math.max(0, end - limit);
  } else {
    start = after !== null ? indexOf(after) + 1 : 0;
    end = Math.min(items.length, start + limit);
  }
  const data = items.slice(start, end);
  const hasMore = before !== null ? start > 0 : end < items.length;
  return { data, has_more: hasMore, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}
