/**
 * The shared limiter backend: the budget buckets of buckets.ts kept in Redis, so every worker
 * process draws on one requests/min and tokens/min budget per model.
 *
 * Every operation is one Lua script, so "check both buckets, then take from both" is atomic across
 * any number of workers, with no lock and no read-modify-write race. The scripts read the time
 * from Redis itself (`TIME`), never from the caller, so workers with skewed clocks still share one
 * consistent refill. Keys carry the model in a hash tag (`braid:limit:{model}:r`) so a Redis Cluster
 * keeps one model's keys in one slot, and expire after two idle minutes.
 *
 * When Redis cannot be reached, model calls go on under this worker's own in-process budget (the
 * same limits, counted per worker) until it is back — a deliberate choice over waiting or failing:
 * the shared budget exists to avoid 429s, and the provider still enforces the real limit (its 429s
 * pause this worker and are waits, not failures), while a Redis outage that stopped every model
 * call would turn a bookkeeping outage into a full one. The cost: N workers may together send up to
 * N times the budget while Redis is down. The worker says so once when Redis becomes unreachable and
 * once when it is back (never ioredis's per-reconnect error spam), and `braid health` shows it.
 * Commands never queue while disconnected and time out after 2 s, so a call never hangs on Redis.
 */
import Redis from 'ioredis';
import { capacity, MemoryBackend, type BudgetSnapshot, type LimiterBackend, type ModelLimits } from './buckets';
// KEYS: requests bucket, tokens bucket, pause key.
// ARGV: op, rpm, request capacity, tpm, token capacity, amount, amount2.
// A rate of 0 means "no limit" for that bucket. Levels are stored as hash {l, t}.
const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op = ARGV[1]
local rpm, rcap, tpm, tcap = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local amount = tonumber(ARGV[6])
local function level(key, rate, cap)
  local h = redis.call('HMGET', key, 'l', 't')
  local l, at = tonumber(h[1]), tonumber(h[2])
  if l == nil or at == nil then return cap end
  return math.min(cap, l + (now - at) * rate / 60000)
end
local function store(key, l)
  redis.call('HSET', key, 'l', tostring(l), 't', tostring(now))
  redis.call('PEXPIRE', key, 120000)
end
local function waitfor(l, need, rate, cap)
  need = math.min(need, cap)
  if l >= need then return 0 end
  return math.ceil((need - l) * 60000 / rate)
end
if op == 'acquire' then
  local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
  if paused > now then return paused - now end
  local wait, rl, tl = 0, 0, 0
  if rpm > 0 then rl = level(KEYS[1], rpm, rcap); wait = math.max(wait, waitfor(rl, 1, rpm, rcap)) end
  if tpm > 0 then tl = level(KEYS[2], tpm, tcap); wait = math.max(wait, waitfor(tl, amount, tpm, tcap)) end
  if wait > 0 then return wait end
  if rpm > 0 then store(KEYS[1], rl - 1) end
  if tpm > 0 then store(KEYS[2], tl - amount) end
  return 0
elseif op == 'adjust' then
  if tpm > 0 then store(KEYS[2], math.min(tcap, level(KEYS[2], tpm, tcap) - amount)) end
  return 0
elseif op == 'clamp' then
  local reqs, toks = tonumber(ARGV[6]), tonumber(ARGV[7])
  if rpm > 0 and reqs >= 0 then local l = level(KEYS[1], rpm, rcap); if reqs < l then store(KEYS[1], reqs) end end
  if tpm > 0 and toks >= 0 then local l = level(KEYS[2], tpm, tcap); if toks < l then store(KEYS[2], toks) end end
  return 0
elseif op == 'pause' then
  local untilMs = now + amount
  local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
  if untilMs > paused then redis.call('SET', KEYS[3], tostring(untilMs), 'PX', math.max(1, amount)) end
  return 0
elseif op == 'snapshot' then
  local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
  local r, tk = 'none', 'none'
  if rpm > 0 then r = tostring(math.floor(level(KEYS[1], rpm, rcap))) end
  if tpm > 0 then tk = tostring(math.floor(level(KEYS[2], tpm, tcap))) end
  return { r, tk, tostring(paused), tostring(now) }
end
return redis.error_reply('unknown op ' .. op)
`;

type Runner = (keys: string[], args: (string | number)[]) => Promise<unknown>;

/** The shared budget store's connection, as `braid health` reports it. */
export interface RedisStatus {
  /** The URL without its password. */
  url: string;
  state: 'connecting' | 'connected' | 'unreachable';
  /** Epoch ms of the last change of state. */
  since: number;
  /** Why it is unreachable. */
  error?: string;
}

/** Where the Redis budget store connects (default REDIS_URL) and where it reports changes of state. */
export interface RedisBackendOptions {
  url?: string;
  /** Where the one-line state changes go; default: stderr. */
  log?: (line: string) => void;
}

/** `redis://user:secret@host:6379/0` → `redis://user:***@host:6379/0`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/** The budget store every worker shares, in Redis; while Redis is unreachable each worker falls back to its own budget. */
export class RedisBackend implements LimiterBackend {
  readonly kind = 'redis' as const;
  private readonly run: Runner;
  private readonly local = new MemoryBackend();
  private readonly log: (line: string) => void;
  private current: RedisStatus;
  private closing = false;
  private settled: Promise<void>;
  private settle!: () => void;

  constructor(
    private readonly redis: Redis,
    opts: RedisBackendOptions = {},
  ) {
    redis.defineCommand('braidLimit', { numberOfKeys: 3, lua: SCRIPT });
    const cmd = (redis as unknown as { braidLimit: (...a: (string | number)[]) => Promise<unknown> }).braidLimit.bind(redis);
    this.run = (keys, args) => cmd(...keys, ...args);
    this.log = opts.log ?? ((line) => process.stderr.write(`braid worker: ${line}\n`));
    const url = redactUrl(opts.url ?? `redis://${redis.options.host ?? '127.0.0.1'}:${redis.options.port ?? 6379}`);
    this.current = { url, state: redis.status === 'ready' ? 'connected' : 'connecting', since: Date.now() };
    this.settled = new Promise((resolve) => (this.settle = resolve));
    if (this.current.state === 'connected') this.settle();
    // Listening to 'error' is also what keeps ioredis from printing "[ioredis] Unhandled error event" on every reconnect.
    redis.on('error', (err: Error) => this.unreachable(err));
    redis.on('close', () => {
      if (this.current.state === 'connected') this.unreachable(new Error('the connection closed'));
    });
    redis.on('ready', () => this.connected());
  }

  static connect(url: string, opts: Omit<RedisBackendOptions, 'url'> = {}): RedisBackend {
    const redis = new Redis(url, {
      enableOfflineQueue: false, // while disconnected a command fails at once (and the local budget answers)
      maxRetriesPerRequest: 1,
      commandTimeout: 2000,
      connectTimeout: 3000,
      retryStrategy: (times) => Math.min(times * 500, 5000),
    });
    return new RedisBackend(redis, { ...opts, url });
  }

  status(): RedisStatus {
    return { ...this.current };
  }

  /** Resolves once the first connection attempt has succeeded or failed (at most `timeoutMs`). */
  async ready(timeoutMs = 4000): Promise<RedisStatus> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.settled, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    return this.status();
  }

  private connected(): void {
    const was = this.current.state;
    if (was === 'connected') return;
    this.current = { url: this.current.url, state: 'connected', since: Date.now() };
    this.settle();
    if (was === 'unreachable') this.log(`Redis at ${this.current.url} is reachable again: the rate budget is shared by every worker again`);
  }

  private unreachable(err: unknown): void {
    const error = err instanceof Error ? err.message || err.name : String(err);
    if (this.closing) return;
    if (this.current.state === 'unreachable') {
      this.current.error = error;
      return;
    }
    this.current = { url: this.current.url, state: 'unreachable', since: Date.now(), error };
    this.settle();
    this.log(
      `Redis at ${this.current.url} is unreachable (${error}); until it is back this worker keeps its own rate budget (the BRAID_LLM_* limits count per worker) and model calls go on`,
    );
  }

  /** Runs an operation on Redis when it is connected, else (or if it fails) on this worker's own budget. */
  private async either<T>(shared: () => Promise<T>, local: () => Promise<T>): Promise<T> {
    if (this.redis.status !== 'ready') {
      if (this.current.state === 'connected') this.unreachable(new Error(`connection ${this.redis.status}`));
      return local();
    }
    try {
      const out = await shared();
      this.connected();
      return out;
    } catch (err) {
      this.unreachable(err);
      return local();
    }
  }

  private call(op: string, model: string, limits: ModelLimits, burstMs: number, a = 0, b = 0): Promise<unknown> {
    const base = `braid:limit:{${model}}`;
    const rpm = limits.requestsPerMinute ?? 0;
    const tpm = limits.tokensPerMinute ?? 0;
    return this.run(
      [`${base}:r`, `${base}:t`, `${base}:p`],
      [op, rpm, rpm ? capacity(rpm, burstMs) : 0, tpm, tpm ? capacity(tpm, burstMs) : 0, a, b],
    );
  }

  tryAcquire(model: string, limits: ModelLimits, burstMs: number, tokens: number): Promise<number> {
    return this.either(
      async () => Number(await this.call('acquire', model, limits, burstMs, tokens)),
      () => this.local.tryAcquire(model, limits, burstMs, tokens),
    );
  }

  adjust(model: string, limits: ModelLimits, burstMs: number, tokens: number): Promise<void> {
    if (!limits.tokensPerMinute || tokens === 0) return Promise.resolve();
    return this.either(
      async () => void (await this.call('adjust', model, limits, burstMs, tokens)),
      () => this.local.adjust(model, limits, burstMs, tokens),
    );
  }

  clamp(model: string, limits: ModelLimits, burstMs: number, remaining: { requests?: number; tokens?: number }): Promise<void> {
    return this.either(
      async () => void (await this.call('clamp', model, limits, burstMs, remaining.requests ?? -1, remaining.tokens ?? -1)),
      () => this.local.clamp(model, limits, burstMs, remaining),
    );
  }

  pause(model: string, ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return this.either(
      async () => void (await this.call('pause', model, {}, 0, Math.ceil(ms))),
      () => this.local.pause(model, ms),
    );
  }

  snapshot(model: string, limits: ModelLimits, burstMs: number): Promise<BudgetSnapshot> {
    return this.either(
      async () => {
        const raw = (await this.call('snapshot', model, limits, burstMs)) as string[];
        const [r, t, paused, now] = raw.map((v) => (v === 'none' ? undefined : Number(v)));
        return {
          model,
          requestsPerMinute: limits.requestsPerMinute,
          tokensPerMinute: limits.tokensPerMinute,
          requestsAvailable: r,
          tokensAvailable: t,
          pausedUntil: paused! > now! ? Date.now() + (paused! - now!) : undefined,
        };
      },
      () => this.local.snapshot(model, limits, burstMs),
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.redis.quit().catch(() => this.redis.disconnect());
    this.redis.disconnect();
  }
}
