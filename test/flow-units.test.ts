/**
 * The pure parts of flow control on a fake clock: budget buckets, full-jitter backoff, circuit
 * breaker states, the sliding window, and topics-file checks.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/cli/errors';
import { readTopicsFile } from '../src/cli/pipeline';
import { ConfigError, readConfig } from '../src/config';
import { fullJitterDelay, withBackoff } from '../src/flow/backoff';
import { Breakers, CircuitOpenError } from '../src/flow/breaker';
import { MemoryBackend } from '../src/flow/buckets';
import { BudgetWaitTooLong, LimiterUnavailable, RateLimiter } from '../src/flow/limiter';
import { MAX_TOPIC_CHARS, MAX_TOPICS, outputFileName, parseTopics, qualityGate, topicsProblem } from '../src/shared/pipeline';
import { slidingWindow } from '../src/workflows/window';

describe('budget buckets (in-process backend)', () => {
  it('admit at most burst + rate·elapsed tokens, and say how long to wait', async () => {
    let now = 0;
    const b = new MemoryBackend(() => now);
    const limits = { tokensPerMinute: 60_000 }; // 1,000/s; burst 1 s = 1,000
    let admitted = 0;
    for (now = 0; now <= 10_000; now += 10) {
      while ((await b.tryAcquire('m', limits, 1000, 100)) === 0) admitted += 100;
    }
    expect(admitted).toBeLessThanOrEqual(1000 + 10 * 1000);
    expect(admitted).toBeGreaterThanOrEqual(10 * 1000);
    expect(await b.tryAcquire('m', limits, 1000, 500)).toBeGreaterThan(0);
  });

  it('refund and charge after the fact, and clamp to what the provider says is left', async () => {
    let now = 0;
    const b = new MemoryBackend(() => now);
    const limits = { tokensPerMinute: 60_000, requestsPerMinute: 600 };
    expect(await b.tryAcquire('m', limits, 1000, 1000)).toBe(0);
    expect(await b.tryAcquire('m', limits, 1000, 1)).toBeGreaterThan(0);
    await b.adjust('m', limits, 1000, -600); // estimate was 1000, usage 400
    expect(await b.tryAcquire('m', limits, 1000, 500)).toBe(0);
    await b.clamp('m', limits, 1000, { requests: 0 });
    expect(await b.tryAcquire('m', limits, 1000, 1)).toBe(100); // one request refills in 100 ms
    await b.pause('m', 5000);
    now = 1000;
    expect(await b.tryAcquire('m', limits, 1000, 1)).toBe(4000);
    expect((await b.snapshot('m', limits, 1000)).pausedUntil).toBe(5000);
  });

  it('admit a call larger than the burst when the bucket is full, then hold the rest back', async () => {
    const now = 0;
    const b = new MemoryBackend(() => now);
    expect(await b.tryAcquire('m', { tokensPerMinute: 60_000 }, 1000, 5000)).toBe(0);
    expect(await b.tryAcquire('m', { tokensPerMinute: 60_000 }, 1000, 10)).toBe(4010);
  });
});

describe('RateLimiter', () => {
  it('waits while heartbeating, and gives the slot back when the wait is too long', async () => {
    const limiter = new RateLimiter({
      backend: new MemoryBackend(),
      defaults: { requestsPerMinute: 600 },
      burstMs: 100,
      maxWaitMs: 1000,
      pollMs: 20,
    });
    await limiter.acquire('m', 1);
    let beats = 0;
    const t0 = Date.now();
    await limiter.acquire('m', 1, { heartbeat: () => beats++ });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(60);
    expect(beats).toBeGreaterThan(0);
    await limiter.rateLimited('m', 5000);
    const err = await limiter.acquire('m', 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BudgetWaitTooLong);
    expect((err as BudgetWaitTooLong).waitMs).toBeGreaterThan(4000);
  });

  it('refuses to send when the budget store cannot be reached', async () => {
    const backend = new MemoryBackend();
    backend.tryAcquire = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    const limiter = new RateLimiter({ backend, defaults: {}, burstMs: 1000, maxWaitMs: 1000 });
    await expect(limiter.acquire('m', 1)).rejects.toThrow(LimiterUnavailable);
    await expect(limiter.acquire('m', 1)).rejects.toThrow(/memory rate limiter is unavailable \(connect ECONNREFUSED/);
  });

  it('stops waiting when the call is cancelled', async () => {
    const limiter = new RateLimiter({ backend: new MemoryBackend(), defaults: {}, burstMs: 1000, maxWaitMs: 60_000 });
    await limiter.rateLimited('m', 30_000);
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error('cancelled by test')), 50);
    await expect(limiter.acquire('m', 1, { signal: abort.signal })).rejects.toThrow('cancelled by test');
  });

  it('estimates from the prompt and learns the answer length from usage', async () => {
    const limiter = new RateLimiter({ backend: new MemoryBackend(), defaults: {}, burstMs: 1000, maxWaitMs: 1000 });
    const req = { messages: [{ role: 'user', content: 'x'.repeat(400) }], maxTokens: 1000 };
    const first = limiter.estimate('m', req);
    expect(first.input).toBeGreaterThanOrEqual(100);
    expect(first.output).toBe(256);
    for (let i = 0; i < 20; i++) await limiter.settle('m', first.total, { input: 100, output: 40 });
    expect(limiter.estimate('m', req).output).toBeLessThan(50);
  });

  it("lowers the shared budget to the provider's anthropic-ratelimit-* figures", async () => {
    const backend = new MemoryBackend();
    const limiter = new RateLimiter({ backend, defaults: { tokensPerMinute: 600_000 }, burstMs: 1000, maxWaitMs: 1000 });
    await limiter.observe(
      'm',
      new Headers({
        'anthropic-ratelimit-tokens-remaining': '0',
        'anthropic-ratelimit-tokens-reset': new Date(Date.now() + 30_000).toISOString(),
      }),
    );
    const s = (await limiter.snapshot(['m']))[0]!;
    expect(s.tokensAvailable).toBeLessThan(100);
    expect(s.pausedUntil).toBeGreaterThan(Date.now());
  });
});

describe('full-jitter backoff', () => {
  it('draws uniformly under an exponential ceiling, above the retry-after floor', () => {
    const o = { baseMs: 1000, maxMs: 8000 };
    expect(fullJitterDelay(1, { ...o, random: () => 0.999 })).toBe(999);
    expect(fullJitterDelay(3, { ...o, random: () => 0.5 })).toBe(2000);
    expect(fullJitterDelay(10, { ...o, random: () => 0.999 })).toBe(7992);
    expect(fullJitterDelay(1, { ...o, random: () => 0 }, 1500)).toBe(1500);
    const draws = Array.from({ length: 200 }, () => fullJitterDelay(2, o));
    expect(Math.min(...draws)).toBeLessThan(500);
    expect(Math.max(...draws)).toBeGreaterThan(1500);
    expect(new Set(draws).size).toBeGreaterThan(150);
  });

  it('sets nextRetryDelay, and makes the last attempt a final, non-retryable verdict', () => {
    const f = ApplicationFailure.create({ message: 'boom', type: 'LlmServerError' });
    const mid = withBackoff(f, 2, 6, { baseMs: 100, maxMs: 1000, random: () => 0.5 });
    expect(mid.nonRetryable).toBe(false);
    expect(mid.nextRetryDelay).toBe(100);
    const last = withBackoff(f, 6, 6, { baseMs: 100, maxMs: 1000 });
    expect(last.nonRetryable).toBe(true);
    expect(last.type).toBe('LlmServerError');
    expect(last.message).toBe('gave up after 6 attempts: boom');
  });
});

describe('circuit breaker', () => {
  it('opens after K failures in the window, fails fast, lets one probe through, and closes on success', () => {
    let now = 0;
    const b = new Breakers({ failures: 3, windowMs: 1000, cooldownMs: 500, clock: () => now });
    b.failure('tool:x', 'e1');
    now = 2000; // the first failure leaves the window
    b.failure('tool:x', 'e2');
    b.failure('tool:x', 'e3');
    expect(() => b.check('tool:x')).not.toThrow();
    b.failure('tool:x', 'e4');
    expect(() => b.check('tool:x')).toThrow(CircuitOpenError);
    expect(b.snapshot()[0]).toMatchObject({ key: 'tool:x', state: 'open', lastError: 'e4' });
    now = 2600;
    b.check('tool:x'); // the probe
    expect(() => b.check('tool:x')).toThrow(CircuitOpenError); // only one probe at a time
    b.failure('tool:x', 'probe failed');
    expect(b.snapshot()[0]!.state).toBe('open');
    now = 3200;
    b.check('tool:x');
    b.success('tool:x');
    expect(b.snapshot()[0]!.state).toBe('closed');
    expect(() => b.check('tool:x')).not.toThrow();
  });
});

describe('slidingWindow', () => {
  const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('keeps at most N in flight and starts the next the moment one finishes', async () => {
    const durations = [300, 40, 40, 40, 40, 40];
    const started: number[] = [];
    const ended: number[] = [];
    let inFlight = 0;
    let peak = 0;
    const t0 = Date.now();
    const r = await slidingWindow(durations, 2, async (ms, i) => {
      started[i] = Date.now() - t0;
      peak = Math.max(peak, ++inFlight);
      await tick(ms);
      inFlight--;
      ended[i] = Date.now() - t0;
      if (i === 3) throw new Error('item 3 fails');
      return i;
    });
    expect(peak).toBe(2);
    // Items 2..5 ran one after another beside the slow item 0: no waiting for a whole wave.
    expect(started[5]!).toBeLessThan(ended[0]!);
    expect(r.map((x) => x.ok)).toEqual([true, true, true, false, true, true]);
    expect(r[4]).toEqual({ ok: true, value: 4 });
  });
});

describe('topics', () => {
  it('reads one topic per line, skipping blanks and # comments', () => {
    expect(parseTopics('# list\nSolar power\n\n  Tidal energy  \r\nWind\n')).toEqual(['Solar power', 'Tidal energy', 'Wind']);
  });

  it('rejects empty, huge and duplicate topic files with a clear message', () => {
    expect(() => parseTopics('\n# only a comment\n')).toThrow(/has no topics/);
    expect(() => parseTopics('a\nB\nsolar  power\nSolar Power\n')).toThrow(/line 4: duplicate topic "Solar Power" \(first on line 3\)/);
    expect(() => parseTopics(`ok\n${'x'.repeat(MAX_TOPIC_CHARS + 1)}\n`)).toThrow(/line 2: the topic is \d+ characters/);
    expect(() => parseTopics(Array.from({ length: MAX_TOPICS + 1 }, (_, i) => `topic ${i}`).join('\n'))).toThrow(/more than 1000 topics/);
    expect(() => parseTopics('x'.repeat(300_000))).toThrow(/bytes; the limit is/);
    expect(topicsProblem(['a', 'A'])).toMatch(/topic 2 repeats topic 1/);
    expect(topicsProblem([])).toBe('there are no topics');
  });

  it('gates short or cut-off drafts, and names files safely', () => {
    expect(qualityGate('write', 'too short', 'end_turn', 30)).toMatchObject({ ok: false });
    expect(qualityGate('research', 'word '.repeat(15), 'end_turn', 30)).toEqual({ ok: true });
    expect(qualityGate('edit', 'word '.repeat(100), 'max_tokens', 30)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/cut off/),
    });
    expect(outputFileName(6, 'Über ../../etc/passwd: a "topic"!')).toBe('007-uber-etc-passwd-a-topic.md');
  });
});

describe('braid pipeline topics files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-topics-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const usage = (f: string) => {
    try {
      readTopicsFile(f);
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError); // exit code 2, one line
      return (err as Error).message;
    }
    throw new Error('expected a UsageError');
  };

  it('refuses empty, huge, duplicate and missing files with one clear line', () => {
    expect(usage(file('empty.txt', ''))).toMatch(/empty\.txt has no topics/);
    expect(usage(file('huge.txt', 'topic\n'.repeat(60_000)))).toMatch(/huge\.txt is 360000 bytes; the limit is 262144/);
    expect(usage(file('dup.txt', 'Solar\nWind\nsolar\n'))).toMatch(/dup\.txt line 3: duplicate topic "solar" \(first on line 1\)/);
    expect(usage(path.join(dir, 'nope.txt'))).toMatch(/no such file/);
    expect(readTopicsFile(file('ok.txt', 'Solar\nWind\n'))).toEqual(['Solar', 'Wind']);
  });
});

describe('flow settings', () => {
  it('reads budgets, per-model limits and breaker settings, and names a bad variable', () => {
    const c = readConfig({
      BRAID_LLM_TOKENS_PER_MINUTE: '40000',
      BRAID_LLM_MODEL_LIMITS: '{"m":{"requestsPerMinute":5}}',
      REDIS_URL: 'redis://h:6379',
    });
    expect(c.flow).toMatchObject({
      redisUrl: 'redis://h:6379',
      limits: { tokensPerMinute: 40000 },
      modelLimits: { m: { requestsPerMinute: 5 } },
      breaker: { failures: 5 },
    });
    expect(() => readConfig({ BRAID_LLM_MODEL_LIMITS: '{"m":{"rpm":5}}' })).toThrow(ConfigError);
    expect(() => readConfig({ BRAID_LLM_MODEL_LIMITS: 'nope' })).toThrow(/BRAID_LLM_MODEL_LIMITS: not valid JSON/);
    expect(() => readConfig({ REDIS_URL: 'localhost:6379' })).toThrow(/REDIS_URL/);
  });
});
