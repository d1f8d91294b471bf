/**
 * Flow control for a worker: the shared rate limiter, the circuit breakers and the jittered
 * backoff settings, built once from the configuration and handed to the activities. The limiter's
 * backend is Redis when REDIS_URL is set (one budget for all workers), in-process otherwise.
 */
import type { BraidConfig } from '../config';
import type { AttemptPolicy } from './attempts';
import type { BackoffOptions } from './backoff';
import { Breakers, type BreakerSnapshot } from './breaker';
import { MemoryBackend, type BudgetSnapshot } from './buckets';
import { RateLimiter } from './limiter';
import { RedisBackend } from './redis-limiter';

export { BudgetWaitTooLong, RateLimiter } from './limiter';
export { Breakers, CircuitOpenError } from './breaker';
export { fullJitterDelay, MIN_RETRY_DELAY_MS, withBackoff } from './backoff';
export { Attempts, DEFAULT_ATTEMPT_POLICY, isJudged, type AttemptPolicy } from './attempts';
export type { BreakerSnapshot } from './breaker';
export type { BudgetSnapshot, ModelLimits } from './buckets';

export interface FlowControl {
  limiter: RateLimiter;
  breakers: Breakers;
  llmBackoff: BackoffOptions;
  toolBackoff: BackoffOptions;
  /** Model calls: how many failed attempts, and how long a wait for an unavailable endpoint (attempts.ts). */
  attempts: AttemptPolicy;
  close(): Promise<void>;
}

export interface FlowSnapshot {
  backend: 'memory' | 'redis';
  budgets: BudgetSnapshot[];
  breakers: BreakerSnapshot[];
  /** Epoch ms on the worker that answered. */
  at: number;
}

export function createFlowControl(cfg: BraidConfig): FlowControl {
  const f = cfg.flow;
  const backend = f.redisUrl ? RedisBackend.connect(f.redisUrl) : new MemoryBackend();
  const limiter = new RateLimiter({ backend, defaults: f.limits, models: f.modelLimits, burstMs: f.burstMs, maxWaitMs: f.maxWaitMs });
  return {
    limiter,
    breakers: new Breakers(f.breaker),
    llmBackoff: f.llmBackoff,
    toolBackoff: f.toolBackoff,
    attempts: f.attempts,
    close: () => limiter.close(),
  };
}

export async function flowSnapshot(flow: FlowControl, models: string[]): Promise<FlowSnapshot> {
  return {
    backend: flow.limiter.backendKind,
    budgets: await flow.limiter.snapshot(models),
    breakers: flow.breakers.snapshot(),
    at: Date.now(),
  };
}
