/**
 * Large content by reference, piece by piece: storing above a threshold, reading a conversation's
 * segments and stored blocks back for the model, the read cache, and the workflow's rule for when a
 * conversation moves to stored segments.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobTexts, blobFailure, resolveMessages, storeText } from '../src/blobs/content';
import { FsBlobStore, putJson, type BlobStore } from '../src/blobs/store';
import { CONVERSATION_INLINE_MAX_CHARS, PREVIEW_CHARS } from '../src/shared/blobs';
import type { ChatMessage } from '../src/shared/types';
import { Conversation } from '../src/workflows/conversation';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-blobs-'));
const store = new FsBlobStore(dir);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('storing text', () => {
  it('keeps text at or below the threshold inline, and stores longer text with a preview', async () => {
    const texts = new BlobTexts(store);
    expect(await storeText(texts, 'x'.repeat(100), 100)).toEqual({ text: 'x'.repeat(100) });
    expect(await storeText(texts, 'x'.repeat(101), undefined)).toEqual({ text: 'x'.repeat(101) });
    const long = 'y'.repeat(5_000);
    const r = await storeText(texts, long, 100);
    expect(r.stored).toEqual({ ref: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), chars: 5_000 });
    expect(r.text.startsWith('y'.repeat(PREVIEW_CHARS))).toBe(true);
    expect(r.text).toContain(`5000 characters in all, stored as ${r.stored!.ref}`);
    expect((await store.get(r.stored!.ref)).toString('utf8')).toBe(long);
  });
});

describe('reading a conversation back', () => {
  it('puts stored segments first and stored blocks back in full, cut at their limit', async () => {
    const texts = new BlobTexts(store);
    const page = 'page text '.repeat(1_000);
    const { text: preview, stored } = await storeText(texts, page, 10);
    const segment = await putJson(store, [
      { role: 'user', content: 'question' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'read', input: {} }] },
    ] satisfies ChatMessage[]);
    const messages: ChatMessage[] = [
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: preview, stored }] },
      { role: 'assistant', content: [{ type: 'text', text: preview, stored: { ...stored!, limit: 20 } }] },
    ];
    const all = await resolveMessages(texts, [segment], messages);
    expect(all.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(all[2]!.content).toEqual([{ type: 'tool_result', tool_use_id: 't1', content: page }]);
    expect(all[3]!.content).toEqual([{ type: 'text', text: page.slice(0, 20) }]);
    // The messages given are not changed: they stay as the workflow keeps them.
    expect(messages[0]!.content).toEqual([{ type: 'tool_result', tool_use_id: 't1', content: preview, stored }]);
  });

  it('serves re-reads from its cache, and forgets the least recently used past its size', async () => {
    let reads = 0;
    const counting: BlobStore = {
      location: store.location,
      put: (data) => store.put(data),
      has: (ref) => store.has(ref),
      get: (ref) => {
        reads++;
        return store.get(ref);
      },
    };
    const texts = new BlobTexts(counting, 2_000);
    const a = await store.put('a'.repeat(400));
    const b = await store.put('b'.repeat(400));
    await texts.read(a);
    await texts.read(a);
    expect(reads).toBe(1);
    for (let i = 0; i < 5; i++) await texts.read(await store.put(`${i}`.repeat(400)));
    await texts.read(b);
    reads = 0;
    await texts.read(a); // evicted by the five reads after it
    expect(reads).toBe(1);
  });

  it('turns a missing blob into a non-retryable failure that says the store must be shared', async () => {
    const texts = new BlobTexts(store);
    const err = await resolveMessages(texts, [`sha256:${'1'.repeat(64)}`], []).catch(blobFailure);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as ApplicationFailure).type).toBe('BlobNotFound');
    expect((err as ApplicationFailure).message).toMatch(/must share one blob store \(BRAID_BLOB_DIR\)/);
  });
});

describe('a conversation in the workflow', () => {
  const question: ChatMessage = { role: 'user', content: 'q' };

  it('stays wholly inline while small and free of references', () => {
    const c = new Conversation(true, { segments: [], messages: [question] });
    c.push({ role: 'assistant', content: 'a'.repeat(1_000) });
    expect(c.request()).toEqual({ messages: [question, { role: 'assistant', content: 'a'.repeat(1_000) }] });
  });

  it('asks to store its messages once they hold a reference, then sends only references and new messages', () => {
    const c = new Conversation(true, { segments: [], messages: [question] });
    const stored = { ref: `sha256:${'2'.repeat(64)}`, chars: 50_000 };
    c.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'preview', stored }] });
    const sent = c.request();
    expect(sent.storeMessages).toBe(true);
    expect(sent.history).toBeUndefined();
    c.settle(sent, { messagesRef: 'sha256:seg1' });
    c.push({ role: 'assistant', content: 'next' });
    expect(c.request()).toEqual({ history: ['sha256:seg1'], messages: [{ role: 'assistant', content: 'next' }], storeMessages: true });
    expect(c.state()).toEqual({ segments: ['sha256:seg1'], messages: [{ role: 'assistant', content: 'next' }] });
  });

  it('asks to store its messages once they pass the inline limit', () => {
    const c = new Conversation(true, { segments: [], messages: [question] });
    c.push({ role: 'assistant', content: 'x'.repeat(CONVERSATION_INLINE_MAX_CHARS) });
    expect(c.request().storeMessages).toBe(true);
  });

  it('keeps everything inline for a run that began before references', () => {
    const c = new Conversation(false, { segments: [], messages: [question] });
    c.push({ role: 'assistant', content: 'x'.repeat(CONVERSATION_INLINE_MAX_CHARS * 2) });
    expect(c.request()).toEqual({ messages: [question, { role: 'assistant', content: 'x'.repeat(CONVERSATION_INLINE_MAX_CHARS * 2) }] });
  });
});
