/**
 * The rate limiter every model call goes through: requests/min and tokens/min budgets per model,
 * held in-process (one worker) or in Redis (any number of workers; REDIS_URL).
 *
 * A call's token cost is not known until the response arrives, so it is estimated before sending —
 * prompt characters / 4, plus the model's recent average answer length (capped by max_tokens) — and
 * corrected afterwards from the response's `usage`: the difference is charged or refunded. The
 * provider's own view wins when it is stricter: `anthropic-ratelimit-*-remaining` headers lower the
 * shared buckets, and a 429 (or a budget reported as exhausted) pauses the model for every worker
 * until `retry-after` / the reset time, so the whole fleet backs off together instead of each
 * worker discovering the limit with its own 429.
 *
 * Waiting: a call that must wait heartbeats while it waits, in slices of at most `pollMs`, inside
 * its activity. That keeps the common case — waits of a few hundred ms to a few seconds while the
 * budget paces a burst — cheap (no extra retry round trip, no attempt used) and it is cancellable:
 * each heartbeat delivers the run's cancellation, which ends the wait at once. What it must not do
 * is pin a worker slot for long, so the wait is bounded by `maxWaitMs`: when the budget says the
 * call would wait longer, the activity gives its slot back by failing with a retryable
 * `LlmBudgetWait` whose `nextRetryDelay` is that wait plus jitter. Temporal then holds the retry on
 * the server, where it costs no worker anything.
 */
import type { BudgetSnapshot, LimiterBackend, ModelLimits } from './buckets';
import { recordLimiterWait } from './metrics';

/** A rate limiter's budget store, per-model budgets, burst window and waits. */
export interface LimiterOptions {
  backend: LimiterBackend;
  /** Budgets for models without their own entry in `models`. */
  defaults: ModelLimits;
  models?: Record<string, ModelLimits>;
  burstMs: number;
  /** Longest wait done inside an activity before it releases its slot. */
  maxWaitMs: number;
  /** Longest single sleep between heartbeats while waiting. */
  pollMs?: number;
  random?: () => number;
}

/** Who waits for budget: an abort signal that ends the wait, and a heartbeat sent while waiting. */
export interface Waiter {
  signal?: AbortSignal;
  heartbeat?: () => void;
  /** Wait at most this long here (capped by the limiter's maxWaitMs): a call with somewhere else to go. */
  maxWaitMs?: number;
}

/** The budget wait is longer than an activity should hold its slot: retry after `waitMs`. */
export class BudgetWaitTooLong extends Error {
  override name = 'BudgetWaitTooLong';
  constructor(
    readonly model: string,
    readonly waitMs: number,
  ) {
    super(`${model}: the shared rate-limit budget has no room for ${waitMs} ms; the call gives its worker slot back and retries then`);
  }
}

/** The budget store could not be reached (Redis down): the call is not sent, and is retried. */
export class LimiterUnavailable extends Error {
  override name = 'LimiterUnavailable';
  constructor(backend: string, cause: unknown) {
    super(`the ${backend} rate limiter is unavailable (${cause instanceof Error ? cause.message : String(cause)}); the call was not sent`);
  }
}

/** The parts of a request that count towards its input tokens. */
export interface CostInput {
  system?: string;
  messages: unknown[];
  tools?: unknown[];
  maxTokens: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason instanceof Error ? signal!.reason : new Error('cancelled'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Requests/min and tokens/min per model, in Redis (shared by every worker) or in process; calls wait for budget before they are sent. */
export class RateLimiter {
  private readonly avgOutput = new Map<string, number>();
  private readonly random: () => number;

  constructor(readonly opts: LimiterOptions) {
    this.random = opts.random ?? Math.random;
  }

  get backendKind(): 'memory' | 'redis' {
    return this.opts.backend.kind;
  }

  limitsFor(model: string): ModelLimits {
    return this.opts.models?.[model] ?? this.opts.defaults;
  }

  /** Input tokens by the usual 4-characters-per-token rule, plus the expected answer. */
  estimate(model: string, req: CostInput): { input: number; output: number; total: number } {
    const text = (req.system ?? '') + JSON.stringify(req.messages) + (req.tools?.length ? JSON.stringify(req.tools) : '');
    const input = Math.max(1, Math.ceil(text.length / 4));
    const output = Math.min(req.maxTokens, Math.ceil(this.avgOutput.get(model) ?? Math.min(req.maxTokens, 256)));
    return { input, output, total: input + output };
  }

  /** Waits (heartbeating) until the budget admits one request of `tokens`; throws BudgetWaitTooLong rather than wait past maxWaitMs. */
  async acquire(model: string, tokens: number, w: Waiter = {}): Promise<{ waitedMs: number }> {
    const limits = this.limitsFor(model);
    const started = Date.now();
    const poll = this.opts.pollMs ?? 1000;
    const maxWaitMs = Math.min(this.opts.maxWaitMs, w.maxWaitMs ?? Infinity);
    for (;;) {
      let wait: number;
      try {
        wait = await this.opts.backend.tryAcquire(model, limits, this.opts.burstMs, tokens);
      } catch (err) {
        throw new LimiterUnavailable(this.opts.backend.kind, err);
      }
      if (wait <= 0) {
        const waitedMs = Date.now() - started;
        recordLimiterWait(model, waitedMs);
        return { waitedMs };
      }
      const waited = Date.now() - started;
      if (waited + wait > maxWaitMs) throw new BudgetWaitTooLong(model, wait);
      w.heartbeat?.();
      // Jittered in [wait, 2·wait]: callers held back by the same pause (after a 429) would
      // otherwise all come back in the same millisecond and hit the provider together again.
      await sleep(Math.min(poll, wait + Math.floor(this.random() * wait)), w.signal);
    }
  }

  /** Corrects the estimate with the real usage and learns the model's typical answer length. */
  async settle(model: string, estimated: number, actual: { input: number; output: number }): Promise<void> {
    if (actual.output > 0) {
      const prev = this.avgOutput.get(model);
      this.avgOutput.set(model, prev === undefined ? actual.output : prev * 0.8 + actual.output * 0.2);
    }
    const used = actual.input + actual.output;
    await this.opts.backend.adjust(model, this.limitsFor(model), this.opts.burstMs, used - estimated);
  }

  /** Applies the provider's `anthropic-ratelimit-*` view of the budget to the shared buckets. */
  async observe(model: string, headers: Headers | undefined, now = Date.now()): Promise<void> {
    if (!headers) return;
    const num = (name: string) => {
      const v = headers.get(name);
      const n = v === null ? NaN : Number(v);
      return Number.isFinite(n) ? n : undefined;
    };
    const requests = num('anthropic-ratelimit-requests-remaining');
    const tokens = num('anthropic-ratelimit-tokens-remaining') ?? num('anthropic-ratelimit-input-tokens-remaining');
    if (requests === undefined && tokens === undefined) return;
    await this.opts.backend.clamp(model, this.limitsFor(model), this.opts.burstMs, { requests, tokens });
    for (const [left, reset] of [
      [requests, 'anthropic-ratelimit-requests-reset'],
      [tokens, 'anthropic-ratelimit-tokens-reset'],
    ] as const) {
      if (left !== 0) continue;
      const at = Date.parse(headers.get(reset) ?? '');
      // The provider's bucket refills continuously; waiting for a small part of it is enough.
      if (!Number.isNaN(at) && at > now) await this.opts.backend.pause(model, Math.min(at - now, 1000));
    }
  }

  /** A 429: every worker holds back this model for `retryAfterMs` (1 s when the provider gave none). */
  async rateLimited(model: string, retryAfterMs: number | undefined): Promise<void> {
    await this.opts.backend.pause(model, retryAfterMs ?? 1000);
  }

  async snapshot(models: string[]): Promise<BudgetSnapshot[]> {
    const all = new Set([...models, ...Object.keys(this.opts.models ?? {})]);
    return Promise.all([...all].map((m) => this.opts.backend.snapshot(m, this.limitsFor(m), this.opts.burstMs)));
  }

  close(): Promise<void> {
    return this.opts.backend.close();
  }
}
