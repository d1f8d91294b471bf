/**
 * A client's side of an agent's mailbox (`braid actor send|tell`, the bench, the tests): send a
 * message and get its reply, never refused for being one of many senders.
 *
 * `send` is the `send` update. The agent holds at most MAX_HELD_UPDATES of them open; beyond that it
 * answers at once with a receipt, and the reply is read with the `replyFor` query when it is ready.
 * The server may refuse the update before the agent sees it (10 in flight per run, or a run closing
 * as it continues as new): then the same message goes as a `tell` signal asking for its reply by
 * query. The message id makes every path idempotent: a message delivered twice is handled once.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import {
  actorWorkflowId,
  isReceipt,
  replyForQuery,
  sendUpdate,
  tellSignal,
  type ActorBody,
  type ActorReply,
  type Envelope,
} from '../shared/actor';
import { failureMessage } from '../shared/failures';

/** How a reply came back: held update, receipt then query, or refused update then signal and query. */
export type SendPath = 'update' | 'receipt' | 'signal';

export interface Sent {
  reply: ActorReply;
  path: SendPath;
}

/** An agent the message cannot reach: absent, or stopped (one line for the CLI). */
export class ActorUnreachable extends Error {}

export const newMessageId = (): string => `m-${randomUUID()}`;

export const envelope = (body: ActorBody, from = 'cli', id = newMessageId()): Envelope => ({ id, from, body });

const POLL_MS = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Server-side refusals worth a retry by signal: the in-flight/total update limits, a run closing. */
function refusedByServer(err: unknown): boolean {
  const text = failureMessage(err);
  return /RESOURCE_EXHAUSTED|limit|in-flight|continued as new|closing|workflow update was rejected because/i.test(text);
}

async function unreachable(client: Client, address: string): Promise<ActorUnreachable> {
  const status = await client.workflow
    .getHandle(actorWorkflowId(address))
    .describe()
    .then((d) => d.status.name.toLowerCase())
    .catch(() => undefined);
  return new ActorUnreachable(status ? `agent ${address} is not running (${status})` : `no agent has the address ${address}`);
}

/** Waits for a queued message's reply (receipt or signal path), reading it by query. */
export async function awaitReply(client: Client, address: string, id: string, timeoutMs = 10 * 60_000): Promise<ActorReply> {
  const handle = client.workflow.getHandle(actorWorkflowId(address));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const s = await handle.query(replyForQuery, id);
      if (s.state === 'done' && s.reply) return s.reply;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw await unreachable(client, address);
      // a query that met a run closing as it continues as new: ask the next run
      const closed = await handle
        .describe()
        .then((d) => d.status.name !== 'RUNNING')
        .catch(() => true);
      if (closed) {
        const r = await handle.query(replyForQuery, id).catch(() => undefined);
        if (r?.state === 'done' && r.reply) return r.reply;
        throw await unreachable(client, address);
      }
    }
    if (Date.now() > deadline) throw new Error(`no reply to ${id} from ${address} within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(POLL_MS);
  }
}

/** Sends a message and waits for its reply. */
export async function sendMessage(client: Client, address: string, env: Envelope): Promise<Sent> {
  const handle = client.workflow.getHandle(actorWorkflowId(address));
  try {
    const r = await handle.executeUpdate(sendUpdate, { args: [env] });
    if (!isReceipt(r)) return { reply: r, path: 'update' };
    return { reply: await awaitReply(client, address, env.id), path: 'receipt' };
  } catch (err) {
    if (err instanceof ActorUnreachable) throw err;
    if (err instanceof WorkflowNotFoundError) throw await unreachable(client, address);
    if (err instanceof WorkflowUpdateFailedError) throw new Error(failureMessage(err));
    if (!refusedByServer(err)) throw err;
  }
  await tellMessage(client, address, { ...env, replyBy: 'query' });
  return { reply: await awaitReply(client, address, env.id), path: 'signal' };
}

/** Fire-and-forget: the `tell` signal. */
export async function tellMessage(client: Client, address: string, env: Envelope): Promise<void> {
  try {
    await client.workflow.getHandle(actorWorkflowId(address)).signal(tellSignal, env);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw await unreachable(client, address);
    throw err;
  }
}
