/**
 * `braid actor`'s agent workflow on the real server, the simulator as its model: the mailbox handles
 * messages in arrival order, one at a time; more than 10 concurrent senders are queued, none
 * refused, each message handled once; a run continues as new without losing queued messages or
 * memory; a stopped agent refuses new messages with one line; a lead supervises its team
 * (one-for-one restarts within a window, then it escalates).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActorUnreachable, envelope, sendMessage, tellMessage, type Sent } from '../src/cli/actor-messages';
import {
  ACTOR_WORKFLOW,
  actorStateQuery,
  actorWorkflowId,
  stopSignal,
  type ActorInput,
  type ActorSpec,
  type ActorState,
} from '../src/shared/actor';
import { llmTaskQueue } from '../src/shared/task-queues';
import type { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import { connect, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

let h: Harness;
let sim: Simulator;
let w: TestWorker;
let n = 0;

beforeAll(async () => {
  h = await connect();
  sim = await startSimulator();
  w = await startWorker(h, new ToolRegistry(), sim, { BRAID_LLM_MAX_ATTEMPTS: '1' });
});
afterAll(async () => {
  await w?.shutdown();
  await sim?.close();
  await h?.close();
});

const addr = (name: string) => `${name}-${Date.now().toString(36)}-${n++}`;

async function spawn(name: string, spec: Partial<ActorSpec> = {}, extra: Partial<ActorInput> = {}) {
  const address = addr(name);
  const handle = await h.client.workflow.start(ACTOR_WORKFLOW, {
    taskQueue: w.taskQueue,
    workflowId: actorWorkflowId(address),
    args: [{ address, spec: { role: `${name} agent`, llmTaskQueue: llmTaskQueue(w.taskQueue), ...spec }, ...extra } satisfies ActorInput],
  });
  return { address, handle };
}

const prompt = (text: string) => envelope({ kind: 'prompt', text });
const state = (address: string) => h.client.workflow.getHandle(actorWorkflowId(address)).query(actorStateQuery);

/** The most model calls the agent's runs ever had open at once, from their histories. */
async function maxOpenModelCalls(address: string, runIds: string[]): Promise<number> {
  let max = 0;
  for (const runId of runIds) {
    let open = 0;
    const history = await h.client.workflow.getHandle(actorWorkflowId(address), runId).fetchHistory();
    for (const e of history.events ?? []) {
      if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'llmTurn') open++;
      if (e.activityTaskCompletedEventAttributes || e.activityTaskFailedEventAttributes) open = Math.max(0, open - 1);
      max = Math.max(max, open);
    }
  }
  return max;
}

async function runIdsOf(address: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const x of h.client.workflow.list({ query: `WorkflowId = '${actorWorkflowId(address)}'` })) ids.push(x.runId);
  return ids;
}

describe('actor mailbox', () => {
  it('handles messages in arrival order, one at a time, each reply numbered by arrival', async () => {
    const { address } = await spawn('order');
    const envs = Array.from({ length: 12 }, (_, i) => prompt(`question ${i + 1} #sim slow_ms=30`));
    // Delivered one after another (each signal acknowledged before the next), so arrival order is known.
    for (const e of envs) await tellMessage(h.client, address, { ...e, replyBy: 'query' });
    const replies = await Promise.all(envs.map((e) => sendMessage(h.client, address, e)));
    expect(replies.map((r) => r.reply.seq)).toEqual(envs.map((_, i) => i + 1));
    expect(replies.every((r) => r.reply.ok && r.reply.text)).toBe(true);
    // The later sends were the same ids again: answered from the kept replies, not handled twice.
    const s = await state(address);
    expect(s.handled).toBe(12);
    expect(s.usage.total.outputTokens).toBeGreaterThan(0);
    expect(await maxOpenModelCalls(address, [(await h.client.workflow.getHandle(actorWorkflowId(address)).describe()).runId])).toBe(1);
  });

  it('charges what a model call streamed before it failed, as estimated', async () => {
    const { address } = await spawn('spend');
    sim.configure({ faults: [{ kind: 'reset', times: 1, match: { contains: 'marker-actor-cut' } }] });
    const sent = await sendMessage(h.client, address, prompt('marker-actor-cut: what is the refund window?'));
    sim.configure({ faults: [] });
    expect(sent.reply.ok).toBe(false); // one attempt only on this worker: the cut stream fails the message
    const s = await state(address);
    expect(s.cost.estimatedUsd).toBeGreaterThan(0);
    expect(s.cost.totalUsd).toBe(s.cost.estimatedUsd);
  });

  it('queues more than 10 concurrent senders without refusing any; each message is handled once', async () => {
    const { address } = await spawn('burst');
    const envs = Array.from({ length: 25 }, (_, i) => prompt(`burst ${i + 1} #sim slow_ms=80`));
    let outstanding = envs.length;
    let atFirstReply = 0;
    const sent: Sent[] = await Promise.all(
      envs.map((e) =>
        sendMessage(h.client, address, e).then((r) => {
          atFirstReply ||= outstanding;
          outstanding--;
          return r;
        }),
      ),
    );
    // Replies come one message at a time: when the first came back, every other sender was still queued.
    expect(atFirstReply).toBe(25);
    expect(sent.every((r) => r.reply.ok)).toBe(true);
    expect(sent.map((r) => r.reply.id)).toEqual(envs.map((e) => e.id));
    expect(new Set(sent.map((r) => r.reply.seq))).toEqual(new Set(Array.from({ length: 25 }, (_, i) => i + 1)));
    const s = await state(address);
    expect(s.handled).toBe(25);
    expect(s.heldUpdates).toBe(0);
    expect(await maxOpenModelCalls(address, await runIdsOf(address))).toBe(1);
  });

  it('continues as new with messages still queued, carrying the mailbox, the numbering and the memory', async () => {
    const { address, handle } = await spawn('long', {}, { runLimits: { messages: 4 } });
    await sendMessage(h.client, address, envelope({ kind: 'note', text: 'The warehouse code is KX-41.' }));
    const envs = Array.from({ length: 14 }, (_, i) => prompt(`long ${i + 1} #sim slow_ms=40`));
    const sent = await Promise.all(envs.map((e) => sendMessage(h.client, address, e)));
    expect(sent.every((r) => r.reply.ok)).toBe(true);
    expect(new Set(sent.map((r) => r.reply.seq))).toEqual(new Set(Array.from({ length: 14 }, (_, i) => i + 2)));
    const s = await state(address);
    expect(s.handled).toBe(15);
    expect(s.runs).toBeGreaterThanOrEqual(4);
    const runs = await runIdsOf(address);
    expect(runs.length).toBe(s.runs);
    expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
    // The note from the first run is still in memory: memory travels (inline or as stored segments).
    expect(s.memory.notes).toBe(1);
    expect(s.memory.messages + s.memory.segments).toBeGreaterThan(0);
    expect(await maxOpenModelCalls(address, runs)).toBe(1);
  });

  it('stops after the current message; a stopped or unknown agent is refused in one line', async () => {
    const { address, handle } = await spawn('stopper');
    await sendMessage(h.client, address, prompt('hello'));
    await handle.signal(stopSignal, { reason: 'test over' });
    const final = (await handle.result()) as ActorState;
    expect(final.status).toBe('stopped');
    expect(final.handled).toBe(1);
    await expect(sendMessage(h.client, address, prompt('again'))).rejects.toThrow(ActorUnreachable);
    await expect(sendMessage(h.client, address, prompt('again'))).rejects.toThrow(`agent ${address} is not running (completed)`);
    await expect(sendMessage(h.client, 'nobody-here', prompt('hi'))).rejects.toThrow('no agent has the address nobody-here');
  });
});

describe('actor addresses', () => {
  it('a lead asks a peer by address: started if absent (signal-with-start), answered by reply signal; a stopped peer is an explicit error', async () => {
    const peer = addr('peer');
    const { address } = await spawn('asker', { team: { members: [], peers: [peer] } });
    const first = (await sendMessage(h.client, address, prompt('What do you know?'))).reply;
    expect(first.members).toEqual([expect.objectContaining({ name: peer, address: peer, ok: true })]);
    const s = await state(peer);
    expect(s).toMatchObject({ address: peer, role: peer, handled: 1 });
    expect(s.parent).toBeUndefined();

    const peerHandle = h.client.workflow.getHandle(actorWorkflowId(peer));
    await peerHandle.signal(stopSignal);
    await peerHandle.result();
    const second = (await sendMessage(h.client, address, prompt('Still there?'))).reply;
    expect(second.ok).toBe(false);
    expect(second.members![0]!.error).toMatch(new RegExp(`agent ${peer} is not running \\(completed\\)`));
  });
});

describe('actor supervision', () => {
  const member = (name: string) => ({ name, spec: { role: `${name} specialist`, llmTaskQueue: llmTaskQueue(w.taskQueue) } });

  it('restarts a failed member one-for-one, visible in history; past the limit within the window, the lead escalates', async () => {
    const crash = { kind: 'status' as const, status: 400, match: { contains: 'You are the flaky specialist' } };
    sim.configure({ faults: [{ ...crash, times: 1 }] });
    const { address, handle } = await spawn('lead', {
      team: { members: [member('flaky'), member('steady')], supervision: { maxRestarts: 2, withinMs: 10 * 60_000 } },
    });
    const first = (await sendMessage(h.client, address, prompt('What is the refund window?'))).reply;
    expect(first.ok).toBe(true);
    const byName = Object.fromEntries(first.members!.map((m) => [m.name, m]));
    expect(byName.steady!.ok).toBe(true);
    expect(byName.flaky!.ok).toBe(false);
    expect(byName.flaky!.error).toMatch(/400/);

    // The flaky member is started again under the same id (a second run in its history) and answers.
    const second = (await sendMessage(h.client, address, prompt('And the shipping time?'))).reply;
    expect(second.members!.map((m) => [m.name, m.ok])).toEqual([
      ['flaky', true],
      ['steady', true],
    ]);
    let s = await state(address);
    expect(s.restarts).toHaveLength(1);
    expect(s.restarts[0]).toMatchObject({ child: `${address}/flaky`, generation: 2 });
    expect(s.children.find((c) => c.name === 'flaky')).toMatchObject({ status: 'running', generation: 2, restarts: 1 });
    expect(s.children.find((c) => c.name === 'steady')).toMatchObject({ status: 'running', generation: 1, restarts: 0 });
    expect(await runIdsOf(`${address}/flaky`)).toHaveLength(2);
    expect(await runIdsOf(`${address}/steady`)).toHaveLength(1);

    // From now on it fails every time: restart 2 is the last allowed, the next failure escalates.
    sim.configure({ faults: [crash] });
    await sendMessage(h.client, address, prompt('Question three'));
    s = await state(address);
    expect(s.restarts).toHaveLength(2);
    await sendMessage(h.client, address, prompt('Question four'));
    await expect(handle.result()).rejects.toThrow();
    const failure = await handle.result().catch((err: Error & { cause?: Error }) => err.cause?.message ?? err.message);
    expect(failure).toMatch(/escalates: .*\/flaky failed 3 times within 600 s \(at most 2 restarts\)/);
    sim.configure({ faults: [] });
  });
});
