/**
 * The model-call activity against the simulator's faults: which failures are retryable, what
 * nextRetryDelay the provider's headers produce, and that broken streams never pass as answers.
 * Runs the activity in the SDK's MockActivityEnvironment; the workflow-level behaviour is in
 * agent.test.ts against the real server.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLlmActivities, type LlmDeps } from '../src/activities/llm';
import { retryAfterMs } from '../src/activities/llm-errors';
import { BlobTexts, storeText } from '../src/blobs/content';
import { FsBlobStore } from '../src/blobs/store';
import type { ChatMessage, LlmRequest, LlmResult } from '../src/shared/types';
import type { FaultRule, Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import { quietRuntime, simulatedModel, startSimulator } from './helpers';

let sim: Simulator;
let llm: ReturnType<typeof createLlmActivities>;

/** The activities against this file's simulator; `extra` changes their dependencies. */
const activities = (extra: Partial<LlmDeps> = {}) =>
  createLlmActivities({
    claude: simulatedModel(sim).claude,
    models: { fast: 'claude-haiku-4-5', capable: 'claude-sonnet-4-6' },
    maxTokens: 512,
    simulated: true,
    registry: new ToolRegistry(),
    requestTimeoutMs: 3000,
    streamIdleTimeoutMs: 600,
    heartbeatEveryMs: 100,
    ...extra,
  });

beforeAll(async () => {
  quietRuntime();
  sim = await startSimulator();
  llm = activities();
});
afterAll(() => sim?.close());
beforeEach(() => {
  sim.clearLedger();
  sim.configure({ faults: [] });
});

const mockEnv = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR', () => {}) });

const req: LlmRequest = { role: 'fast', messages: [{ role: 'user', content: 'Say something short.' }] };

async function failureFor(fault: FaultRule): Promise<ApplicationFailure> {
  sim.configure({ faults: [fault] });
  const err = await mockEnv()
    .run(llm.llmTurn, req)
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('llmTurn', () => {
  it('returns content, usage, model and request id, and heartbeats while streaming', async () => {
    const env = mockEnv();
    let beats = 0;
    env.on('heartbeat', () => beats++);
    sim.configure({ latency: { ttftMs: 300, perTokenMs: 0 } });
    const r = (await env.run(llm.llmTurn, req)) as LlmResult;
    sim.configure({ latency: { ttftMs: 20, perTokenMs: 0 } });
    expect(r.model).toBe('claude-haiku-4-5');
    expect(r.content[0]?.type).toBe('text');
    expect(r.usage.inputTokens).toBeGreaterThan(0);
    expect(r.usage.outputTokens).toBeGreaterThan(0);
    expect(r.requestId).toBe(sim.ledger()[0]!.requestId);
    expect(beats).toBeGreaterThan(0);
  });

  it.each([
    [400, 'LlmBadRequest'],
    [401, 'LlmAuthentication'],
    [403, 'LlmPermissionDenied'],
    [404, 'LlmNotFound'],
    [413, 'LlmRequestTooLarge'],
  ])('treats HTTP %i as non-retryable %s, with the request id in the message', async (status, type) => {
    const f = await failureFor({ kind: 'status', status });
    expect(f.type).toBe(type);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain(sim.ledger()[0]!.requestId);
  });

  it.each([
    [408, 'LlmTimeout'],
    [409, 'LlmConflict'],
    [429, 'LlmRateLimited'],
    [500, 'LlmServerError'],
    [529, 'LlmOverloaded'],
  ])('treats HTTP %i as retryable %s', async (status, type) => {
    const f = await failureFor({ kind: 'status', status });
    expect(f.type).toBe(type);
    expect(f.nonRetryable).toBe(false);
  });

  it('takes nextRetryDelay from retry-after-ms, else retry-after', async () => {
    const a = await failureFor({ kind: 'status', status: 429, retryAfterMs: 1250, retryAfterS: 9 });
    expect(a.nextRetryDelay).toBe(1250);
    const b = await failureFor({ kind: 'status', status: 529, retryAfterS: 3 });
    expect(b.nextRetryDelay).toBe(3000);
    // "Retry now" must not become a zero delay, which Temporal reads as "stop retrying".
    const c = await failureFor({ kind: 'status', status: 529, retryAfterMs: 0 });
    expect(c.nextRetryDelay).toBeUndefined();
    expect(c.nonRetryable).toBe(false);
  });

  it.each([
    ['truncate', 'LlmStreamTruncated'],
    ['sse_error', 'LlmOverloaded'],
    ['reset', 'LlmConnection'],
    ['malformed', 'LlmMalformedResponse'],
    ['stall', 'LlmStreamStalled'],
  ] as const)('turns a %s stream into a retryable %s', async (kind, type) => {
    const f = await failureFor({ kind });
    expect(f.type).toBe(type);
    expect(f.nonRetryable).toBe(false);
  });

  it("keeps the char_location citations of a cited document's answer, and only what Braid needs of them", async () => {
    const data = 'Refunds are issued within 5 business days. The office closes at six on Fridays.';
    const docReq: LlmRequest = {
      role: 'fast',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data }, title: 'refunds', citations: { enabled: true } },
            { type: 'text', text: 'How long do refunds take?' },
          ],
        },
      ],
    };
    const r = (await mockEnv().run(llm.llmTurn, docReq)) as LlmResult;
    const cited = r.content.filter((b) => b.type === 'text' && b.citations);
    expect(cited.length).toBeGreaterThan(0);
    for (const b of cited)
      for (const c of b.type === 'text' ? b.citations! : []) {
        expect(Object.keys(c).sort()).toEqual([
          'cited_text',
          'document_index',
          'document_title',
          'end_char_index',
          'start_char_index',
          'type',
        ]);
        expect(data.slice(c.start_char_index, c.end_char_index)).toBe(c.cited_text);
      }
    expect(JSON.stringify(r.content)).toContain('Refunds are issued within 5 business days.');
  });

  it('aborts the HTTP request when the activity is cancelled', async () => {
    sim.configure({ faults: [{ kind: 'stall' }] });
    const env = mockEnv();
    const p = env.run(llm.llmTurn, req).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    env.cancel();
    const err = await p;
    expect(err).not.toBeInstanceOf(ApplicationFailure);
    expect(String(err)).toMatch(/cancel/i);
  });
});

describe('retryAfterMs', () => {
  const h = (init: Record<string, string>) => new Headers(init);
  it('reads milliseconds, seconds and HTTP dates', () => {
    expect(retryAfterMs(h({ 'retry-after-ms': '250.4' }))).toBe(251);
    expect(retryAfterMs(h({ 'retry-after': '2' }))).toBe(2000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(h({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now)).toBe(5000);
    expect(retryAfterMs(h({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(h({}))).toBeUndefined();
  });
});

describe('llmTurn with stored content', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-llm-blobs-'));
  const texts = new BlobTexts(new FsBlobStore(dir));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const withBlobs = () => activities({ maxTokens: 20_000, texts });

  it('sends the model stored segments and blocks in full, stores its messages, and stores a long reply', async () => {
    const page = 'The figures for the northern region rose again. '.repeat(2_000); // ~98,000 characters
    const { text: preview, stored } = await storeText(texts, page, 32 * 1024);
    const segment = await texts.store.put(JSON.stringify([{ role: 'user', content: 'Read the page.' }]));
    const messages: ChatMessage[] = [
      { role: 'assistant', content: [{ type: 'text', text: 'Here it is.' }] },
      { role: 'user', content: [{ type: 'text', text: preview, stored }] },
      { role: 'assistant', content: 'Noted.' },
      { role: 'user', content: 'Now write it up at length.\n#sim answer_tokens=12000' },
    ];
    const request: LlmRequest = { role: 'fast', history: [segment], messages, storeMessages: true, storeAbove: 32 * 1024 };
    const r = (await mockEnv().run(withBlobs().llmTurn, request)) as LlmResult;
    // The simulator counts a character as a quarter token: the page itself reached the model.
    expect(r.usage.inputTokens).toBeGreaterThan(page.length / 4);
    expect(JSON.parse((await texts.store.get(r.messagesRef!)).toString('utf8'))).toEqual(messages);
    expect(r.storedText!.chars).toBeGreaterThan(32 * 1024);
    expect(r.content).toEqual([{ type: 'text', text: expect.stringContaining(r.storedText!.ref), stored: r.storedText }]);
    expect((await texts.store.get(r.storedText!.ref)).toString('utf8').length).toBe(r.storedText!.chars);
  });

  it('keeps a short reply inline and stores nothing it was not asked to', async () => {
    const r = (await mockEnv().run(withBlobs().llmTurn, { ...req, storeAbove: 32 * 1024 })) as LlmResult;
    expect(r.storedText).toBeUndefined();
    expect(r.messagesRef).toBeUndefined();
    expect(r.content[0]).toEqual({ type: 'text', text: expect.any(String) });
  });

  it('fails a request whose history is not in this worker’s store, without retrying, saying the store must be shared', async () => {
    const err = await mockEnv()
      .run(withBlobs().llmTurn, { ...req, history: [`sha256:${'3'.repeat(64)}`] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('BlobNotFound');
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect(sim.ledger()).toHaveLength(0);
  });
});
