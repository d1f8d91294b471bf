/**
 * The budget arithmetic both limiter backends share: per-model requests/min and tokens/min buckets
 * that refill continuously. A bucket holds at most `burstMs` worth of its per-minute rate, not a
 * whole minute: a full-minute bucket would let a fleet of idle workers fire a minute's budget in
 * one second, which the provider's own (also continuous) bucket answers with 429s. With a small
 * burst, the tokens sent in any window of W ms stay under `burst + rate·W`.
 *
 * A call that costs more than the bucket can hold is admitted when the bucket is full and drives
 * it below zero, so large prompts are delayed rather than refused, and the long-run rate still
 * holds. The Redis backend runs the same arithmetic in Lua (redis-limiter.ts).
 */

export interface ModelLimits {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
}

export interface BucketState {
  level: number;
  at: number;
}

/** What one bucket can hold: `burstMs` of its rate, and never less than one request. */
export function capacity(perMinute: number, burstMs: number, min = 1): number {
  return Math.max(min, (perMinute * burstMs) / 60_000);
}

export function refill(b: BucketState | undefined, perMinute: number, cap: number, now: number): number {
  if (!b) return cap;
  return Math.min(cap, b.level + ((now - b.at) * perMinute) / 60_000);
}

/** Milliseconds until `amount` (capped at the capacity) is there; 0 when it already is. */
export function waitFor(level: number, amount: number, perMinute: number, cap: number): number {
  const need = Math.min(amount, cap);
  if (level >= need) return 0;
  return Math.ceil(((need - level) * 60_000) / perMinute);
}

/** One model's budget right now: its limits, what is available, and any pause. */
export interface BudgetSnapshot {
  model: string;
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** Requests / tokens available right now (the burst bucket's level; may be negative after a large call). */
  requestsAvailable?: number;
  tokensAvailable?: number;
  /** Epoch ms until which every worker holds back this model, after a 429 or an exhausted provider budget. */
  pausedUntil?: number;
}

/** A budget store: the in-process one (memory) or the shared one (redis). Times are the store's own clock. */
export interface LimiterBackend {
  readonly kind: 'memory' | 'redis';
  /**
   * Takes one request and `tokens` when both are available (and the model is not paused); else
   * returns the wait in ms and takes nothing.
   */
  tryAcquire(model: string, limits: ModelLimits, burstMs: number, tokens: number): Promise<number>;
  /** Charges (positive) or refunds (negative) tokens after the fact. */
  adjust(model: string, limits: ModelLimits, burstMs: number, tokens: number): Promise<void>;
  /** Lowers the buckets to what the provider says is left. */
  clamp(model: string, limits: ModelLimits, burstMs: number, remaining: { requests?: number; tokens?: number }): Promise<void>;
  /** Holds every caller of this model back for `ms`. */
  pause(model: string, ms: number): Promise<void>;
  snapshot(model: string, limits: ModelLimits, burstMs: number): Promise<BudgetSnapshot>;
  close(): Promise<void>;
}

/** One process's budgets: right for a single worker, and the default. */
export class MemoryBackend implements LimiterBackend {
  readonly kind = 'memory' as const;
  private readonly buckets = new Map<string, BucketState>();
  private readonly paused = new Map<string, number>();

  constructor(private readonly clock: () => number = Date.now) {}

  private level(key: string, perMinute: number, cap: number, now: number): number {
    return refill(this.buckets.get(key), perMinute, cap, now);
  }

  private set(key: string, level: number, now: number): void {
    this.buckets.set(key, { level, at: now });
  }

  async tryAcquire(model: string, limits: ModelLimits, burstMs: number, tokens: number): Promise<number> {
    const now = this.clock();
    const pausedFor = (this.paused.get(model) ?? 0) - now;
    if (pausedFor > 0) return pausedFor;
    const { requestsPerMinute: rpm, tokensPerMinute: tpm } = limits;
    let wait = 0;
    let rl = 0;
    let tl = 0;
    if (rpm) {
      rl = this.level(`${model}:r`, rpm, capacity(rpm, burstMs), now);
      wait = Math.max(wait, waitFor(rl, 1, rpm, capacity(rpm, burstMs)));
    }
    if (tpm) {
      tl = this.level(`${model}:t`, tpm, capacity(tpm, burstMs), now);
      wait = Math.max(wait, waitFor(tl, tokens, tpm, capacity(tpm, burstMs)));
    }
    if (wait > 0) return wait;
    if (rpm) this.set(`${model}:r`, rl - 1, now);
    if (tpm) this.set(`${model}:t`, tl - tokens, now);
    return 0;
  }

  async adjust(model: string, limits: ModelLimits, burstMs: number, tokens: number): Promise<void> {
    const tpm = limits.tokensPerMinute;
    if (!tpm || tokens === 0) return;
    const now = this.clock();
    const cap = capacity(tpm, burstMs);
    this.set(`${model}:t`, Math.min(cap, this.level(`${model}:t`, tpm, cap, now) - tokens), now);
  }

  async clamp(model: string, limits: ModelLimits, burstMs: number, remaining: { requests?: number; tokens?: number }): Promise<void> {
    const now = this.clock();
    for (const [suffix, perMinute, left] of [
      ['r', limits.requestsPerMinute, remaining.requests],
      ['t', limits.tokensPerMinute, remaining.tokens],
    ] as const) {
      if (!perMinute || left === undefined) continue;
      const key = `${model}:${suffix}`;
      const level = this.level(key, perMinute, capacity(perMinute, burstMs), now);
      if (left < level) this.set(key, left, now);
    }
  }

  async pause(model: string, ms: number): Promise<void> {
    const until = this.clock() + ms;
    if (until > (this.paused.get(model) ?? 0)) this.paused.set(model, until);
  }

  async snapshot(model: string, limits: ModelLimits, burstMs: number): Promise<BudgetSnapshot> {
    const now = this.clock();
    const { requestsPerMinute: rpm, tokensPerMinute: tpm } = limits;
    const paused = this.paused.get(model) ?? 0;
    return {
      model,
      requestsPerMinute: rpm,
      tokensPerMinute: tpm,
      requestsAvailable: rpm ? Math.floor(this.level(`${model}:r`, rpm, capacity(rpm, burstMs), now)) : undefined,
      tokensAvailable: tpm ? Math.floor(this.level(`${model}:t`, tpm, capacity(tpm, burstMs), now)) : undefined,
      pausedUntil: paused > now ? paused : undefined,
    };
  }

  async close(): Promise<void> {}
}
