/**
 * Flow control for a worker: the shared rate limiter, the circuit breakers and the jittered
 * backoff settings and the model calls' attempt policy, built once from the configuration and
 * handed to the activities. The limiter's backend is Redis when REDIS_URL is set (one budget for
 * all workers; this worker's own while Redis is unreachable), in-process otherwise; so are the
 * breakers' failure counts and openings (redis-breakers.ts).
 */
import type { BraidConfig } from '../config';
import type { PriceTable } from '../shared/pricing';
import type { AttemptPolicy } from './attempts';
import type { BackoffOptions } from './backoff';
import { Breakers, type BreakerSnapshot } from './breaker';
import { MemoryBackend, type BudgetSnapshot } from './buckets';
import { RateLimiter } from './limiter';
import { RedisBreakerBus } from './redis-breakers';
import { RedisBackend, type RedisStatus } from './redis-limiter';

export { BudgetWaitTooLong, RateLimiter } from './limiter';
export { Breakers, CircuitOpenError } from './breaker';
export { fullJitterDelay, MIN_RETRY_DELAY_MS, withBackoff } from './backoff';
export { Attempts, DEFAULT_ATTEMPT_POLICY, isJudged, type AttemptPolicy } from './attempts';
export type { BreakerSnapshot } from './breaker';
export type { BudgetSnapshot, ModelLimits } from './buckets';
export type { RedisStatus } from './redis-limiter';

/** What a worker's model and tool activities share: the rate limiter, the breakers, backoff settings and the attempt policy. */
export interface FlowControl {
  limiter: RateLimiter;
  breakers: Breakers;
  llmBackoff: BackoffOptions;
  toolBackoff: BackoffOptions;
  /** Model calls: how many failed attempts, and how long a wait for an unavailable endpoint (attempts.ts). */
  attempts: AttemptPolicy;
  /** USD per million tokens by model (list prices, BRAID_MODEL_PRICES on top), for the cost metrics. */
  prices?: PriceTable;
  /** The shared budget store, when REDIS_URL is set: whether it is reachable right now. */
  redis?: RedisBackend;
  /** Resolves once the budget store is known to be reachable or not (at most a few seconds). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** The limiter's budgets and the breakers' states as one worker sees them. */
export interface FlowSnapshot {
  backend: 'memory' | 'redis';
  budgets: BudgetSnapshot[];
  breakers: BreakerSnapshot[];
  /** With REDIS_URL: the shared store's state; while unreachable, `budgets` are this worker's own. */
  redis?: RedisStatus;
  /** Epoch ms on the worker that answered. */
  at: number;
}

/** Options of `createFlowControl`. */
export interface FlowControlOptions {
  /** Where one-line state changes (Redis unreachable, back) go; default: stderr. */
  log?: (line: string) => void;
}

/** Builds flow control from the settings: a Redis-backed budget with REDIS_URL, an in-process one otherwise. */
export function createFlowControl(cfg: BraidConfig, opts: FlowControlOptions = {}): FlowControl {
  const f = cfg.flow;
  const redis = f.redisUrl ? RedisBackend.connect(f.redisUrl, { log: opts.log }) : undefined;
  const backend = redis ?? new MemoryBackend();
  const limiter = new RateLimiter({ backend, defaults: f.limits, models: f.modelLimits, burstMs: f.burstMs, maxWaitMs: f.maxWaitMs });
  // With Redis the breakers are shared too: failures counted in one window, opened and closed for every worker.
  const bus = f.redisUrl ? new RedisBreakerBus(f.redisUrl) : undefined;
  return {
    limiter,
    breakers: new Breakers(f.breaker, bus),
    llmBackoff: f.llmBackoff,
    toolBackoff: f.toolBackoff,
    attempts: f.attempts,
    prices: cfg.prices,
    redis,
    ready: async () => void (await Promise.all([redis?.ready(), bus?.ready()])),
    close: async () => {
      await limiter.close();
      await bus?.close();
    },
  };
}

/** A snapshot of `flow` for the given models (what `braid health` shows). */
export async function flowSnapshot(flow: FlowControl, models: string[]): Promise<FlowSnapshot> {
  return {
    backend: flow.limiter.backendKind,
    budgets: await flow.limiter.snapshot(models),
    breakers: flow.breakers.snapshot(),
    ...(flow.redis ? { redis: flow.redis.status() } : {}),
    at: Date.now(),
  };
}
