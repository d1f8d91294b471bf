/**
 * The shared limiter backend: the budget buckets of buckets.ts kept in Redis, so every worker
 * process draws on one requests/min and tokens/min budget per model.
 *
 * Every operation is one Lua script, so "check both buckets, then take from both" is atomic across
 * any number of workers, with no lock and no read-modify-write race. The scripts read the time
 * from Redis itself (`TIME`), never from the caller, so workers with skewed clocks still share one
 * consistent refill. Keys carry the model in a hash tag (`braid:limit:{model}:r`) so a Redis Cluster
 * keeps one model's keys in one slot, and expire after two idle minutes.
 */
import Redis from 'ioredis';
import { capacity, type BudgetSnapshot, type LimiterBackend, type ModelLimits } from './buckets';

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

export class RedisBackend implements LimiterBackend {
  readonly kind = 'redis' as const;
  private readonly run: Runner;

  constructor(private readonly redis: Redis) {
    redis.defineCommand('braidLimit', { numberOfKeys: 3, lua: SCRIPT });
    const cmd = (redis as unknown as { braidLimit: (...a: (string | number)[]) => Promise<unknown> }).braidLimit.bind(redis);
    this.run = (keys, args) => cmd(...keys, ...args);
  }

  static connect(url: string): RedisBackend {
    // Fail a call after a bounded wait instead of queueing it forever while Redis is down; the
    // activity then fails and Temporal retries it.
    return new RedisBackend(new Redis(url, { maxRetriesPerRequest: 2, connectTimeout: 5000, enableOfflineQueue: true }));
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

  async tryAcquire(model: string, limits: ModelLimits, burstMs: number, tokens: number): Promise<number> {
    return Number(await this.call('acquire', model, limits, burstMs, tokens));
  }

  async adjust(model: string, limits: ModelLimits, burstMs: number, tokens: number): Promise<void> {
    if (limits.tokensPerMinute && tokens !== 0) await this.call('adjust', model, limits, burstMs, tokens);
  }

  async clamp(model: string, limits: ModelLimits, burstMs: number, remaining: { requests?: number; tokens?: number }): Promise<void> {
    await this.call('clamp', model, limits, burstMs, remaining.requests ?? -1, remaining.tokens ?? -1);
  }

  async pause(model: string, ms: number): Promise<void> {
    if (ms > 0) await this.call('pause', model, {}, 0, Math.ceil(ms));
  }

  async snapshot(model: string, limits: ModelLimits, burstMs: number): Promise<BudgetSnapshot> {
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
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
