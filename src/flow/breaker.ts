/**
 * Circuit breakers, one per tool (`tool:<name>`) and per model endpoint (`model:<name>`).
 *
 * Retries are right for a blip and wrong for an outage: with forty runs in flight, a dead endpoint
 * turns every call into a string of timed-out attempts (a retry storm that also keeps the endpoint
 * down). After `failures` failures within `windowMs` the breaker opens and calls fail at once with
 * an explicit error; after `cooldownMs` one call is let through as a probe (half-open): success
 * closes the breaker, failure opens it for another cooldown. Only failures that say something
 * about the endpoint's health count — server errors, timeouts, dropped connections, crashes — not
 * a 400 or a 429 (the limiter's business) or a tool's refusal of one input.
 *
 * The breakers live in each worker process. Without REDIS_URL an outage is seen by every worker
 * within K failures of its own; with it (a `BreakerBus`, redis-breakers.ts) the workers count
 * failures in one shared window and open and close together. Either way a call is decided from
 * this process's state, synchronously, and an open breaker's verdict expires after its cool-down.
 */
import { recordBreakerChange } from './metrics';
import { breakerEvent } from '../telemetry/spans';

/** A breaker changed state: counted (metrics) and an event on the active span (traces). */
function changed(key: string, to: BreakerState): void {
  recordBreakerChange(key, to);
  breakerEvent(key, to);
}
import type { BreakerBus, BreakerChange } from './redis-breakers';

/** A circuit breaker's state: calls pass (closed), fail fast (open), or one probe passes (half-open). */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** A breaker opens after `failures` failures within `windowMs`, and probes again after `cooldownMs`. */
export interface BreakerOptions {
  failures: number;
  windowMs: number;
  cooldownMs: number;
  clock?: () => number;
}

/** One breaker's state for `braid health` and `flowSnapshot`. */
export interface BreakerSnapshot {
  key: string;
  state: BreakerState;
  /** Failures inside the current window. */
  recentFailures: number;
  /** When an open breaker lets its probe through (epoch ms). */
  openUntil?: number;
  lastError?: string;
}

interface Entry {
  state: BreakerState;
  failures: number[];
  openUntil: number;
  probeStartedAt?: number;
  lastError?: string;
}

/** A call refused without being made because its breaker is open. */
export class CircuitOpenError extends Error {
  override name = 'CircuitOpen';
  constructor(
    readonly key: string,
    readonly retryInMs: number,
    lastError: string | undefined,
  ) {
    super(
      `circuit open for ${key}: it failed repeatedly (last: ${lastError ?? 'unknown'}); calls fail fast for ${Math.ceil(retryInMs / 1000)} s more, then one probe call tests it`,
    );
  }
}

/** Per-key circuit breakers (one per model and per tool) of one worker process. */
export class Breakers {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: () => number;

  /** `bus`: shares failures, openings and closings with the other workers (REDIS_URL). */
  constructor(
    readonly opts: BreakerOptions,
    private readonly bus?: BreakerBus,
  ) {
    this.clock = opts.clock ?? Date.now;
    bus?.subscribe((change) => this.apply(change));
  }

  /** Another worker's breaker opened or closed: this one follows. */
  private apply(change: BreakerChange): void {
    const e = this.entry(change.key);
    if (change.state === 'open') {
      const until = this.clock() + (change.forMs ?? this.opts.cooldownMs);
      e.openUntil = e.state === 'open' ? Math.max(e.openUntil, until) : until;
      if (e.state !== 'open') changed(change.key, 'open');
      e.state = 'open';
      e.probeStartedAt = undefined;
      e.failures = [];
      if (change.lastError) e.lastError = change.lastError;
    } else if (e.state !== 'closed') {
      changed(change.key, 'closed');
      e.state = 'closed';
      e.failures = [];
      e.probeStartedAt = undefined;
    }
  }

  private entry(key: string): Entry {
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = { state: 'closed', failures: [], openUntil: 0 }));
    return e;
  }

  /**
   * Throws CircuitOpenError when the call must not be made; otherwise the call may go, and the
   * result says whether it goes as the half-open breaker's probe.
   */
  check(key: string): boolean {
    const e = this.entries.get(key);
    if (!e || e.state === 'closed') return false;
    const now = this.clock();
    if (e.state === 'open') {
      if (now < e.openUntil) throw new CircuitOpenError(key, e.openUntil - now, e.lastError);
      e.state = 'half-open';
      changed(key, 'half-open');
      e.probeStartedAt = now;
      return true;
    }
    // Half-open: one probe at a time; a probe that never reported back (worker lost it) is replaced after a cooldown.
    if (e.probeStartedAt !== undefined && now - e.probeStartedAt < this.opts.cooldownMs)
      throw new CircuitOpenError(key, this.opts.cooldownMs - (now - e.probeStartedAt), e.lastError);
    e.probeStartedAt = now;
    return true;
  }

  /** The probe ended without a verdict on the endpoint (it never reached it, or was cancelled): the next call probes. */
  release(key: string): void {
    const e = this.entries.get(key);
    if (e?.state === 'half-open') e.probeStartedAt = undefined;
  }

  success(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    if (e.state !== 'closed') {
      changed(key, 'closed');
      this.bus?.publish({ key, state: 'closed' });
    }
    e.state = 'closed';
    e.failures = [];
    e.probeStartedAt = undefined;
  }

  failure(key: string, error: string): void {
    const e = this.entry(key);
    const now = this.clock();
    e.lastError = error.slice(0, 200);
    if (e.state === 'half-open') return this.open(key, e, now);
    e.failures = e.failures.filter((t) => now - t < this.opts.windowMs);
    e.failures.push(now);
    if (e.failures.length >= this.opts.failures) return this.open(key, e, now);
    // The other workers' failures count too: the one that makes K in the shared window opens it for all.
    this.bus
      ?.failure(key, this.opts.windowMs, this.opts.failures)
      .then((opened) => {
        if (opened && e.state === 'closed') this.open(key, e, this.clock());
      })
      .catch(() => undefined);
  }

  private open(key: string, e: Entry, now: number): void {
    if (e.state !== 'open') changed(key, 'open');
    e.state = 'open';
    e.openUntil = now + this.opts.cooldownMs;
    this.bus?.publish({ key, state: 'open', forMs: this.opts.cooldownMs, lastError: e.lastError });
    e.probeStartedAt = undefined;
    e.failures = [];
  }

  snapshot(): BreakerSnapshot[] {
    const now = this.clock();
    return [...this.entries].map(([key, e]) => ({
      key,
      state: e.state === 'open' && now >= e.openUntil ? 'half-open' : e.state,
      recentFailures: e.failures.filter((t) => now - t < this.opts.windowMs).length,
      openUntil: e.state === 'open' ? e.openUntil : undefined,
      lastError: e.lastError,
    }));
  }
}
