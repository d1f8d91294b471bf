// Requests-per-minute and tokens-per-minute limits as continuously refilling buckets, the way the
// real API describes its limits: capacity is the per-minute figure and it refills smoothly rather
// than resetting at minute boundaries. Input tokens are taken at admission; output tokens are
// debited as they are produced and may drive the token bucket below zero, which delays the next
// admission exactly as a burst of long answers would. Produces the `anthropic-ratelimit-*` and
// `retry-after` headers a client uses to back off.
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

export class RateLimiter {
  private readonly requests?: Bucket;
  private readonly tokens?: Bucket;

  constructor(config: RateLimitConfig = {}, now = Date.now()) {
    if (config.requestsPerMinute !== undefined) this.requests = new Bucket(config.requestsPerMinute, now);
    if (config.tokensPerMinute !== undefined) this.tokens = new Bucket(config.tokensPerMinute, now);
  }

  /** Takes one request and `inputTokens` if both buckets allow it; otherwise takes nothing. */
  admit(inputTokens: number, now = Date.now()): Admission {
    const wait = Math.max(this.requests?.waitFor(1, now) ?? 0, this.tokens?.waitFor(inputTokens, now) ?? 0);
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
    this.tokens?.take(inputTokens, now);
    return { ok: true, headers: this.headers(now) };
  }

  /** Output tokens as they are produced. */
  debit(outputTokens: number, now = Date.now()): void {
    this.tokens?.take(outputTokens, now);
  }

  /** `anthropic-ratelimit-*` headers; empty when no limit is configured. */
  headers(now = Date.now()): Record<string, string> {
    const h: Record<string, string> = {};
    for (const [name, bucket] of [
      ['requests', this.requests],
      ['tokens', this.tokens],
    ] as const) {
      if (!bucket) continue;
      h[`anthropic-ratelimit-${name}-limit`] = String(bucket.capacity);
      h[`anthropic-ratelimit-${name}-remaining`] = String(bucket.remaining(now));
      h[`anthropic-ratelimit-${name}-reset`] = rfc3339(bucket.fullAt(now));
    }
    return h;
  }
}
