// Requests-per-minute and token-per-minute limits as continuously refilling buckets, the way the
// real API describes its limits: capacity is the per-minute figure and it refills smoothly rather
// than resetting at minute boundaries. Three token budgets can be set:
// - `tokensPerMinute`, the simulator's combined budget: input tokens are taken at admission and
//   output tokens debited as they are produced, which may drive it below zero and delay the next
//   admission exactly as a burst of long answers would;
// - `inputTokensPerMinute`, the API's input limit: uncached input plus cache writes (cache reads
//   do not count), taken at admission;
// - `outputTokensPerMinute`, the API's output limit: `max_tokens` is reserved at admission and what
//   the answer did not use is given back when it ends.
// Produces the `anthropic-ratelimit-*` headers (requests, tokens, input-tokens, output-tokens) and
// the `retry-after` a client uses to back off.
import type { RateLimitConfig } from './types';

class Bucket {
  private level: number;
  private last: number;
  private readonly perMs: number;

  constructor(
    readonly capacity: number,
    now: number,
  ) {
    this.level = capacity;
    this.last = now;
    this.perMs = capacity / 60_000;
  }

  private refill(now: number): void {
    this.level = Math.min(this.capacity, this.level + (now - this.last) * this.perMs);
    this.last = now;
  }

  /** Milliseconds until `amount` (capped at capacity) is available; 0 when it already is. */
  waitFor(amount: number, now: number): number {
    this.refill(now);
    const need = this.capacity > 0 ? Math.min(amount, this.capacity) : amount;
    if (this.level >= need) return 0;
    return this.perMs > 0 ? (need - this.level) / this.perMs : 60_000;
  }

  take(amount: number, now: number): void {
    this.refill(now);
    this.level -= amount;
  }

  give(amount: number, now: number): void {
    this.refill(now);
    this.level = Math.min(this.capacity, this.level + amount);
  }

  remaining(now: number): number {
    this.refill(now);
    return Math.max(0, Math.floor(this.level));
  }

  /** When the bucket will be full again. */
  fullAt(now: number): number {
    this.refill(now);
    return this.perMs > 0 ? now + Math.ceil(Math.max(0, this.capacity - this.level) / this.perMs) : now;
  }
}

export type Admission =
  { ok: true; headers: Record<string, string> } | { ok: false; retryAfterMs: number; headers: Record<string, string> };

const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** What one request asks of the token budgets. */
export interface TokenDemand {
  /** Input tokens the input limit counts: uncached input plus cache writes. */
  input: number;
  /** Output tokens reserved up front: the request's max_tokens. */
  maxOutput: number;
}

export class RateLimiter {
  private readonly requests?: Bucket;
  private readonly tokens?: Bucket;
  private readonly inputTokens?: Bucket;
  private readonly outputTokens?: Bucket;

  constructor(config: RateLimitConfig = {}, now = Date.now()) {
    if (config.requestsPerMinute !== undefined) this.requests = new Bucket(config.requestsPerMinute, now);
    if (config.tokensPerMinute !== undefined) this.tokens = new Bucket(config.tokensPerMinute, now);
    if (config.inputTokensPerMinute !== undefined) this.inputTokens = new Bucket(config.inputTokensPerMinute, now);
    if (config.outputTokensPerMinute !== undefined) this.outputTokens = new Bucket(config.outputTokensPerMinute, now);
  }

  /** Takes one request and the demanded tokens if every bucket allows it; otherwise takes nothing. */
  admit(demand: TokenDemand, now = Date.now()): Admission {
    const wait = Math.max(
      this.requests?.waitFor(1, now) ?? 0,
      this.tokens?.waitFor(demand.input, now) ?? 0,
      this.inputTokens?.waitFor(demand.input, now) ?? 0,
      this.outputTokens?.waitFor(demand.maxOutput, now) ?? 0,
    );
    if (wait > 0) {
      const retryAfterMs = Math.ceil(wait);
      return {
        ok: false,
        retryAfterMs,
        headers: {
          ...this.headers(now),
          'retry-after': String(Math.max(1, Math.ceil(wait / 1000))),
          'retry-after-ms': String(retryAfterMs),
        },
      };
    }
    this.requests?.take(1, now);
    this.tokens?.take(demand.input, now);
    this.inputTokens?.take(demand.input, now);
    this.outputTokens?.take(demand.maxOutput, now);
    return { ok: true, headers: this.headers(now) };
  }

  /** Output tokens as they are produced (the combined budget). */
  debit(outputTokens: number, now = Date.now()): void {
    this.tokens?.take(outputTokens, now);
  }

  /** The answer ended after `used` of the `reserved` output tokens: the rest goes back to the output budget. */
  settle(reserved: number, used: number, now = Date.now()): void {
    if (reserved > used) this.outputTokens?.give(reserved - used, now);
  }

  /** `anthropic-ratelimit-*` headers; empty when no limit is configured. */
  headers(now = Date.now()): Record<string, string> {
    const h: Record<string, string> = {};
    // Without a combined budget, `tokens-*` reports the tighter of the input and output budgets, as the API does.
    const tighter = [this.inputTokens, this.outputTokens]
      .filter((b): b is Bucket => b !== undefined)
      .sort((a, b) => a.remaining(now) - b.remaining(now))[0];
    for (const [name, bucket] of [
      ['requests', this.requests],
      ['tokens', this.tokens ?? tighter],
      ['input-tokens', this.inputTokens],
      ['output-tokens', this.outputTokens],
    ] as const) {
      if (!bucket) continue;
      h[`anthropic-ratelimit-${name}-limit`] = String(bucket.capacity);
      h[`anthropic-ratelimit-${name}-remaining`] = String(bucket.remaining(now));
      h[`anthropic-ratelimit-${name}-reset`] = rfc3339(bucket.fullAt(now));
    }
    return h;
  }
}
