/**
 * The attempt ledger of model calls (src/flow/attempts.ts) and the breaker probe's bookkeeping:
 * which failures are charged and which are waits, what travels from attempt to attempt, when a call
 * gives up, and that a summarize item's own failures are capped like its model call's. Also the
 * request timeout, which (not the stream idle timer) bounds the wait for an answer's headers.
 */
import { APIConnectionError, APIError } from '@anthropic-ai/sdk';
import Anthropic from '@anthropic-ai/sdk';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLlmActivities } from '../src/activities/llm';
import { createSummarizeActivities } from '../src/activities/summarize';
import { FsBlobStore, putJson } from '../src/blobs/store';
import { Attempts, type LedgerDetails } from '../src/flow/attempts';
import { Breakers } from '../src/flow/breaker';
import { chargeOf } from '../src/flow/llm-call';
import type { CorpusManifest } from '../src/shared/summarize';
import type { LlmRequest, LlmResult } from '../src/shared/types';
import { ToolRegistry } from '../src/tools';

const policy = { maxAttempts: 3, outageBudgetMs: 10_000 };
const backoff = { baseMs: 1000, maxMs: 30_000, random: () => 0.5 };
const fail = (type: string) => ApplicationFailure.create({ message: `${type} happened`, type });

/** Runs the attempts of one call as Temporal would: numbered, each seeing the ledger the ones before left. */
function attemptsOf(now: () => number) {
  let details: LedgerDetails | undefined;
  let attempt = 0;
  return {
    next: () => new Attempts({ attempt: ++attempt, heartbeatDetails: details }, policy, (d) => (details = d), now),
    get details() {
      return details;
    },
  };
}

describe('attempt ledger', () => {
  it('charges failed answers up to the cap, and never charges waits', () => {
    let now = 0;
    const call = attemptsOf(() => now);
    expect(call.next().verdict(fail('LlmServerError'), 'charged', backoff).nonRetryable).toBe(false);
    for (let i = 0; i < 10; i++) {
      now += 500;
      const w = call.next().verdict(fail('LlmConnection'), 'wait', backoff);
      expect(w.nonRetryable).toBe(false);
    }
    expect(call.details).toMatchObject({ waits: 10, lastWaitAttempt: 11, streak: 10, waitingSince: 500 });
    expect(call.next().verdict(fail('LlmStreamTruncated'), 'charged', backoff).nonRetryable).toBe(false);
    const last = call.next().verdict(fail('LlmMalformedResponse'), 'charged', backoff);
    expect(last.nonRetryable).toBe(true);
    expect(last.type).toBe('LlmMalformedResponse');
    expect(last.message).toBe('gave up after 3 failed attempts (and 10 waiting for the model): LlmMalformedResponse happened');
  });

  it('bounds a run of waits by the outage budget, counted from its first wait', () => {
    let now = 1_000;
    const call = attemptsOf(() => now);
    expect(call.next().verdict(fail('LlmConnection'), 'wait', backoff).nonRetryable).toBe(false);
    now += 9_000;
    expect(call.next().verdict(fail('LlmCircuitOpen'), 'wait', backoff, 2000).nonRetryable).toBe(false);
    now += 1_000;
    const out = call.next().verdict(fail('LlmCircuitOpen'), 'wait', backoff);
    expect(out.nonRetryable).toBe(true);
    expect(out.message).toBe('gave up after waiting 10 s for the model (outage budget 10 s): LlmCircuitOpen happened');
  });

  it('starts a new run of waits after a charged attempt, so the budget is per outage', () => {
    let now = 0;
    const call = attemptsOf(() => now);
    call.next().verdict(fail('LlmConnection'), 'wait', backoff);
    now += 9_000;
    call.next().verdict(fail('LlmServerError'), 'charged', backoff);
    now += 9_000;
    const w = call.next().verdict(fail('LlmConnection'), 'wait', backoff);
    expect(w.nonRetryable).toBe(false);
    expect(call.details).toMatchObject({ waits: 2, streak: 1, waitingSince: 18_000 });
  });

  it('delays a wait by its floor (a breaker cooldown, a retry-after) plus jitter that grows with the run, capped as asked', () => {
    const r = { ...backoff, random: () => 0.999 };
    const first = new Attempts(
      { attempt: 1 },
      policy,
      () => {},
      () => 0,
    );
    expect(first.verdict(fail('LlmCircuitOpen'), 'wait', r, 4000, 2000).nextRetryDelay).toBe(4000 + 999);
    const fifth: LedgerDetails = { braidLedger: 1, waits: 4, lastWaitAttempt: 4, streak: 4, waitingSince: 0 };
    const later = new Attempts(
      { attempt: 5, heartbeatDetails: fifth },
      policy,
      () => {},
      () => 0,
    );
    expect(later.verdict(fail('LlmCircuitOpen'), 'wait', r, 4000, 2000).nextRetryDelay).toBe(4000 + 1998);
  });

  it('charges attempts that never reported (timed out, worker lost), and refuses to start when they used the charge up', () => {
    const waited: LedgerDetails = { braidLedger: 1, waits: 2, lastWaitAttempt: 2, streak: 2, waitingSince: 0 };
    expect(new Attempts({ attempt: 4, heartbeatDetails: waited }, policy).charged).toBe(1);
    const exhausted = new Attempts({ attempt: 6, heartbeatDetails: waited }, policy);
    expect(exhausted.charged).toBe(3);
    const err = (() => {
      try {
        exhausted.assertNotExhausted('claude-haiku-4-5 call');
      } catch (e) {
        return e as ApplicationFailure;
      }
    })();
    expect(err?.nonRetryable).toBe(true);
    expect(err?.message).toMatch(/^gave up after 3 failed attempts: claude-haiku-4-5 call: its earlier attempts ended without an answer/);
    // Heartbeat details that are not a ledger (an older run's, or none) count every earlier attempt.
    expect(new Attempts({ attempt: 3, heartbeatDetails: 'progress' }, policy).charged).toBe(2);
  });
});

describe('charged or a wait', () => {
  const apiError = (status: number) => APIError.generate(status, { error: { type: 'x', message: 'm' } }, 'm', new Headers());
  it('waits for what the endpoint did not serve, charges what it answered badly', () => {
    const f = (type: string) => ApplicationFailure.create({ message: '', type });
    expect(chargeOf(f('LlmConnection'), new APIConnectionError({ message: 'Connection error.' }), false)).toBe('wait');
    expect(chargeOf(f('LlmConnection'), new TypeError('terminated'), false)).toBe('charged'); // dropped mid-answer
    for (const s of [429, 502, 503, 504, 529]) expect(chargeOf(f('LlmServerError'), apiError(s), false)).toBe('wait');
    expect(chargeOf(f('LlmServerError'), apiError(500), false)).toBe('charged');
    expect(chargeOf(f('LlmCircuitOpen'), undefined, false)).toBe('wait');
    expect(chargeOf(f('LlmBudgetWait'), undefined, false)).toBe('wait');
    // The probe tests the endpoint for everyone: its failure is not one call's fault…
    expect(chargeOf(f('LlmServerError'), apiError(500), true)).toBe('wait');
    expect(chargeOf(f('LlmStreamStalled'), undefined, true)).toBe('wait');
    // …unless the endpoint answered with garbage, which repeats no matter who asks.
    expect(chargeOf(f('LlmMalformedResponse'), new SyntaxError('bad json'), true)).toBe('charged');
  });
});

describe('breaker probe slot', () => {
  it('is given to one call at a time, and freed at once by a probe that ends without a verdict', () => {
    let now = 0;
    const b = new Breakers({ failures: 1, windowMs: 1000, cooldownMs: 500, clock: () => now });
    expect(b.check('model:m')).toBe(false);
    b.failure('model:m', 'down');
    now = 600;
    expect(b.check('model:m')).toBe(true); // the probe
    expect(() => b.check('model:m')).toThrow(/circuit open/);
    b.release('model:m'); // e.g. it waited for rate budget, or was cancelled
    expect(b.check('model:m')).toBe(true); // the next call probes at once, not a cooldown later
    b.success('model:m');
    expect(b.check('model:m')).toBe(false);
  });
});

describe('summarize items under the ledger', () => {
  it('end an answer whose citations never check out after the charged attempts, not never', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-ledger-'));
    const blobs = new FsBlobStore(dir);
    const chunk = { id: '0:0', source: 'a.md', start: 0, end: 5, tokens: 2, ref: await blobs.put('hello') };
    const manifestRef = await putJson(blobs, { version: 1, chunks: [chunk], sources: [] } as CorpusManifest);
    const cite = { type: 'char_location', document_index: 0, document_title: null, start_char_index: 0, end_char_index: 5 } as const;
    const miscited: LlmResult = {
      model: 'm',
      content: [{ type: 'text', text: 'Goodbye.', citations: [{ ...cite, cited_text: 'bye!!' }] }],
      stopReason: 'end_turn',
      usage: { inputTokens: 1, outputTokens: 1 },
      requestId: null,
      simulated: true,
      startedAt: 0,
      endedAt: 0,
      attempt: 1,
    };
    const acts = createSummarizeActivities({ blobs, llmTurn: async () => miscited, attempts: policy });
    const outcomes: ApplicationFailure[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const env = new MockActivityEnvironment({ attempt, retryPolicy: {} }, { logger: new DefaultLogger('ERROR', () => {}) });
      outcomes.push((await env.run(acts.mapChunk, { manifestRef, index: 0, task: 't' }).catch((e: unknown) => e)) as ApplicationFailure);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    expect(outcomes.map((o) => [o.type, o.nonRetryable])).toEqual([
      ['LlmInvalidCitations', false],
      ['LlmInvalidCitations', false],
      ['LlmInvalidCitations', true],
    ]);
    expect(outcomes[2]!.message).toMatch(/^gave up after 3 attempts: m cited 1 range\(s\) and none checks out: cited text differs/);
  });
});

describe('request timeout', () => {
  it('bounds the wait for the first byte; the stream idle timer starts with the headers', async () => {
    // An endpoint that accepts the request and never answers (no headers at all).
    const sockets = new Set<net.Socket>();
    const silent = http.createServer(() => {});
    silent.on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    const llm = createLlmActivities({
      claude: new Anthropic({ apiKey: 'x', baseURL: url, maxRetries: 0 }),
      models: { fast: 'm', capable: 'm' },
      maxTokens: 16,
      simulated: true,
      registry: new ToolRegistry(),
      requestTimeoutMs: 900,
      streamIdleTimeoutMs: 300,
    });
    const t0 = Date.now();
    const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR', () => {}) });
    const f = (await env
      .run(llm.llmTurn, { role: 'fast', messages: [{ role: 'user', content: 'hi' }] } as LlmRequest)
      .catch((e: unknown) => e)) as ApplicationFailure;
    const took = Date.now() - t0;
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
    expect(f.type).toBe('LlmTimeout');
    expect(f.message).toMatch(/timed out before a response arrived/);
    expect(took).toBeGreaterThanOrEqual(800);
  });
});
