// Message Batches in the simulator through the SDK's `client.messages.batches.*`: processing over
// the configured time, results per custom_id as JSONL (errored for invalid requests, canceled and
// expired where processing was cut short), listing, cancel and delete.
import Anthropic, { BadRequestError, NotFoundError } from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { caught, MODEL, startSim } from './simulator-helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const request = (
  custom_id: string,
  content: string,
  extra: Record<string, unknown> = {},
): Anthropic.Messages.BatchCreateParams.Request => ({
  custom_id,
  params: { model: MODEL, max_tokens: 256, messages: [{ role: 'user', content }], ...extra } as Anthropic.MessageCreateParamsNonStreaming,
});

async function waitEnded(client: Anthropic, id: string, timeoutMs = 10_000): Promise<Anthropic.Messages.MessageBatch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.messages.batches.retrieve(id);
    if (batch.processing_status === 'ended') return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.processing_status}`);
    await sleep(50);
  }
}

async function results(client: Anthropic, id: string): Promise<Map<string, Anthropic.Messages.MessageBatchResult>> {
  const out = new Map<string, Anthropic.Messages.MessageBatchResult>();
  for await (const line of await client.messages.batches.results(id)) out.set(line.custom_id, line.result);
  return out;
}

describe('Message Batches', () => {
  it('processes for the configured time, then serves results per custom_id', async () => {
    const { client } = await startSim({ batches: { processingMs: 400 } });
    const t0 = Date.now();
    const created = await client.messages.batches.create({
      requests: [
        request('ok-1', 'Explain durable execution.\n#sim text=Durable execution resumes where it left off.'),
        request('bad-roles', 'x', { messages: [{ role: 'assistant', content: 'hi' }] }),
        request('no-such-model', 'hi', { model: 'claude-imaginary-9' }),
        request('ok-2', 'Say it.\n#sim text=Alpha STOP beta', { stop_sequences: ['STOP'] }),
      ],
    });
    expect(created).toMatchObject({
      type: 'message_batch',
      processing_status: 'in_progress',
      request_counts: { processing: 4, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
      ended_at: null,
      results_url: null,
      cancel_initiated_at: null,
    });
    expect(created.id).toMatch(/^msgbatch_sim_[0-9a-f]{24}$/);
    expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(24 * 60 * 60_000);
    // The SDK refuses to fetch results before the batch has ended.
    expect(await caught(client.messages.batches.results(created.id))).toBeInstanceOf(Error);

    const ended = await waitEnded(client, created.id);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 2, errored: 2, canceled: 0, expired: 0 });
    expect(ended.results_url).toMatch(new RegExp(`/v1/messages/batches/${created.id}/results$`));
    expect(Date.parse(ended.ended_at!)).toBeGreaterThanOrEqual(Date.parse(created.created_at) + 400);

    const byId = await results(client, created.id);
    expect([...byId.keys()].sort()).toEqual(['bad-roles', 'no-such-model', 'ok-1', 'ok-2']);
    const ok = byId.get('ok-1') as Anthropic.Messages.MessageBatchSucceededResult;
    expect(ok.type).toBe('succeeded');
    expect(ok.message.content).toEqual([{ type: 'text', text: 'Durable execution resumes where it left off.' }]);
    expect(ok.message.usage.service_tier).toBe('batch');
    expect((byId.get('ok-2') as Anthropic.Messages.MessageBatchSucceededResult).message).toMatchObject({
      stop_reason: 'stop_sequence',
      stop_sequence: 'STOP',
    });
    expect(byId.get('bad-roles')).toMatchObject({
      type: 'errored',
      error: {
        type: 'error',
        error: { type: 'invalid_request_error', message: expect.stringMatching(/first message must use the "user" role/) },
      },
    });
    expect(byId.get('no-such-model')).toMatchObject({
      type: 'errored',
      error: { error: { type: 'not_found_error', message: 'model: claude-imaginary-9' } },
    });
  });

  it('cancels: requests not finished when cancel began are canceled', async () => {
    const { client } = await startSim({ batches: { processingMs: 1000, cancelMs: 100 } });
    const created = await client.messages.batches.create({
      requests: [request('a', 'One.'), request('b', 'Two.'), request('c', 'Three.'), request('d', 'Four.')],
    });
    await sleep(400); // about one of four requests is done
    const canceling = await client.messages.batches.cancel(created.id);
    expect(canceling.processing_status).toBe('canceling');
    expect(canceling.cancel_initiated_at).not.toBeNull();
    expect(canceling.request_counts.processing).toBe(4);
    const ended = await waitEnded(client, created.id);
    expect(Date.parse(ended.ended_at!)).toBeLessThan(Date.parse(created.created_at) + 1000);
    expect(ended.request_counts.succeeded + ended.request_counts.canceled).toBe(4);
    expect(ended.request_counts.succeeded).toBeGreaterThanOrEqual(1);
    expect(ended.request_counts.canceled).toBeGreaterThanOrEqual(1);
    const byId = await results(client, created.id);
    expect(byId.get('a')?.type).toBe('succeeded');
    expect(byId.get('d')?.type).toBe('canceled');
    expect(((await caught(client.messages.batches.cancel(created.id))) as BadRequestError).status).toBe(400);
  });

  it('expires the requests a batch did not finish before its expiry', async () => {
    const { client } = await startSim({ batches: { processingMs: 60_000, expiresAfterMs: 200 } });
    const created = await client.messages.batches.create({ requests: [request('a', 'One.'), request('b', 'Two.')] });
    const ended = await waitEnded(client, created.id);
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 2 });
    expect([...(await results(client, created.id)).values()]).toEqual([{ type: 'expired' }, { type: 'expired' }]);
  });

  it('lists newest first with paging, and deletes only ended batches', async () => {
    const { client } = await startSim({ batches: { processingMs: 0 } });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await client.messages.batches.create({ requests: [request(`r${i}`, 'Hi.')] })).id);
    const listed: string[] = [];
    for await (const b of client.messages.batches.list({ limit: 2 })) listed.push(b.id);
    expect(listed).toEqual([...ids].reverse());
    const page = await client.messages.batches.list({ limit: 2 });
    expect(page).toMatchObject({ has_more: true, first_id: ids[2], last_id: ids[1] });

    expect(await client.messages.batches.delete(ids[0]!)).toEqual({ id: ids[0], type: 'message_batch_deleted' });
    expect(await caught(client.messages.batches.retrieve(ids[0]!))).toBeInstanceOf(NotFoundError);

    const { client: slowClient } = await startSim({ batches: { processingMs: 60_000 } });
    const running = await slowClient.messages.batches.create({ requests: [request('x', 'Hi.')] });
    const err = await caught(slowClient.messages.batches.delete(running.id));
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).message).toMatch(/still processing/);
  });

  it.each([
    [{ requests: [] }, /at least 1 item/],
    [{ requests: [request('same', 'a'), request('same', 'b')] }, /Duplicate custom_id 'same'/],
    [{ requests: [request('has space', 'a')] }, /custom_id: String should match pattern/],
    [{ requests: [{ custom_id: 'a' }] }, /params: Field required/],
  ])('rejects a malformed batch (%#)', async (body, message) => {
    const { client } = await startSim();
    const err = await caught(client.messages.batches.create(body as unknown as Anthropic.Messages.BatchCreateParams));
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).message).toMatch(message);
  });

  it('errors a streaming request inside a batch', async () => {
    const { client } = await startSim({ batches: { processingMs: 0 } });
    const created = await client.messages.batches.create({ requests: [request('s', 'Hi.', { stream: true })] });
    await waitEnded(client, created.id);
    expect((await results(client, created.id)).get('s')).toMatchObject({
      type: 'errored',
      error: { error: { type: 'invalid_request_error' } },
    });
  });
});
