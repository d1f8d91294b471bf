/**
 * Circuit breakers shared by every worker through Redis (with REDIS_URL). Without it each worker
 * process learns of an outage from its own K failures; with it, the workers count failures in one
 * window and an open breaker is open everywhere within a Redis round trip.
 *
 * Breakers (breaker.ts) keep deciding synchronously from their in-process state, so a call never
 * waits on Redis; this module keeps that state in step with the others':
 * - every endpoint failure is added to a shared window (a sorted set per key, one Lua script, times
 *   from Redis's clock); the failure that makes K within the window opens the breaker for all;
 * - a worker whose breaker opens or closes (a probe that succeeded) publishes it on one channel,
 *   and every other worker applies it to its own state: open until the same moment, or closed.
 * Half-open probes stay per worker (after the cool-down each worker lets one probe through).
 * While Redis is unreachable every worker goes on with its own breakers, as without REDIS_URL; the
 * rate limiter's connection (redis-limiter.ts) reports the outage, so this module stays quiet.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';

// KEYS: the failure window (sorted set). ARGV: window ms, failures to open, a unique member.
// Returns the failures now inside the window.
const FAILURE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) end
return n
`;

const CHANNEL = 'braid:breakers';

/** A change of one breaker, as published to the other workers. */
export interface BreakerChange {
  key: string;
  state: 'open' | 'closed';
  /** For `open`: how long it stays open from now. */
  forMs?: number;
  lastError?: string;
}

/** How Breakers share their state with the other workers (Redis; a test can supply another). */
export interface BreakerBus {
  /** Adds a failure to the shared window; resolves true when it made the breaker open for everyone. */
  failure(key: string, windowMs: number, failures: number): Promise<boolean>;
  publish(change: BreakerChange): void;
  /** Calls `apply` for every change another worker publishes. */
  subscribe(apply: (change: BreakerChange) => void): void;
  close(): Promise<void>;
}

/** The breaker bus over Redis: one connection for the window and publishing, one subscribed to the channel. */
export class RedisBreakerBus implements BreakerBus {
  private readonly origin = randomUUID();
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly run: (key: string, windowMs: number, failures: number, member: string) => Promise<number>;
  private seq = 0;
  private subscribed: Promise<void> = Promise.resolve();

  constructor(url: string) {
    const opts = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 2000,
      connectTimeout: 3000,
      retryStrategy: (times: number) => Math.min(times * 500, 5000),
    };
    this.cmd = new Redis(url, opts);
    // A subscriber must queue its SUBSCRIBE until connected, and re-subscribes by itself after a reconnect.
    this.sub = new Redis(url, { ...opts, enableOfflineQueue: true, commandTimeout: undefined });
    for (const r of [this.cmd, this.sub]) r.on('error', () => {}); // reported once by the limiter's connection
    this.cmd.defineCommand('braidBreakerFailure', { numberOfKeys: 1, lua: FAILURE });
    const fn = (this.cmd as unknown as { braidBreakerFailure: (...a: (string | number)[]) => Promise<number> }).braidBreakerFailure.bind(
      this.cmd,
    );
    this.run = (key, windowMs, failures, member) => fn(`braid:breaker:{${key}}:failures`, windowMs, failures, member);
  }

  async failure(key: string, windowMs: number, failures: number): Promise<boolean> {
    if (this.cmd.status !== 'ready') return false;
    try {
      return Number(await this.run(key, windowMs, failures, `${this.origin}:${++this.seq}`)) >= failures;
    } catch {
      return false;
    }
  }

  publish(change: BreakerChange): void {
    if (this.cmd.status !== 'ready') return;
    this.cmd.publish(CHANNEL, JSON.stringify({ ...change, origin: this.origin })).catch(() => undefined);
  }

  subscribe(apply: (change: BreakerChange) => void): void {
    this.sub.on('message', (channel: string, message: string) => {
      if (channel !== CHANNEL) return;
      try {
        const { origin, ...change } = JSON.parse(message) as BreakerChange & { origin?: string };
        if (origin !== this.origin && typeof change.key === 'string') apply(change);
      } catch {
        // not ours
      }
    });
    this.subscribed = this.sub.subscribe(CHANNEL).then(
      () => undefined,
      () => undefined,
    );
  }

  /** Resolves once subscribed, or Redis is unreachable, or after `timeoutMs` (changes published before are not seen). */
  async ready(timeoutMs = 4000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let failed: (() => void) | undefined;
    await Promise.race([
      this.subscribed,
      new Promise<void>((r) => this.sub.once('error', (failed = () => r()))),
      new Promise<void>((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
    if (failed) this.sub.off('error', failed);
  }

  async close(): Promise<void> {
    await Promise.all([this.cmd, this.sub].map((r) => r.quit().catch(() => r.disconnect())));
    this.cmd.disconnect();
    this.sub.disconnect();
  }
}
