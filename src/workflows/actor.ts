/**
 * Pattern: actor-model agents (`braid actor`) — a long-lived workflow per agent, addressed by a
 * stable id (`actor/<address>`), with a mailbox (mailbox.ts) handled in arrival order one message
 * at a time, private state (its conversation and notes, large parts by reference in the blob
 * store), and, for a lead, a supervised team of child agents (supervisor.ts).
 *
 * Messages (the contract, src/shared/actor.ts, says which path is which): the `send` update waits
 * for its reply, the `tell` signal does not; between agents a request is a `tell` with `replyTo`
 * and the answer a `reply` signal. Workflow code signals any running agent by id; an address that
 * may be absent is reached through the `actorDeliver` activity (signal-with-start).
 *
 * Long lives: the run continues as new well before Temporal's limits (events, history size, 2,000
 * updates per run), after every handler has finished, carrying the queued mailbox, the kept
 * replies, the conversation (segments by reference), the team and the restart record. An idle agent
 * waits in `condition` with no timer: it costs nothing until a message arrives.
 *
 * Shared state goes through the versioned store (`sharedRead`/`sharedWrite` activities): a change
 * is compare-and-swap, retried on conflict; `write: 'blind'` is the naive read-modify-write kept to
 * show what it loses.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { actorSystem, memberQuestion, mergePrompt, noteTurns } from '../prompts/actor';
import {
  actorStateQuery,
  actorWorkflowId,
  addressProblem,
  DEFAULT_MEMBER_TIMEOUT_MS,
  DEFAULT_MODEL,
  DEFAULT_SUPERVISION,
  CHILD_STOP_WAIT_MS,
  envelopeProblem,
  EVENTS_PER_RUN,
  exitedSignal,
  HISTORY_BYTES_PER_RUN,
  MAILBOX_INLINE_MAX_CHARS,
  MAX_CAS_ATTEMPTS,
  replyForQuery,
  replySignal,
  sendUpdate,
  specProblem,
  stopSignal,
  tellSignal,
  UPDATES_PER_RUN,
  type ActorBody,
  type ActorCarry,
  type ActorInput,
  type ActorReply,
  type ActorState,
  type ActorStatus,
  type Envelope,
  type MemberAnswer,
  type SharedOp,
  type StopRequest,
} from '../shared/actor';
import { textOf } from '../shared/content';
import { failureMessage } from '../shared/failures';
import { addCall, addEstimated, emptyCost } from '../shared/pricing';

import type { LlmResult } from '../shared/types';
import { addModelUsage, noUsageSummary, spendOfFailure } from '../shared/usage';
import { Conversation } from './conversation';
import { entry, Mailbox } from './mailbox';
import { blobStore, modelCall, sideEffect } from './profiles';
import { RunStatus } from './status';
import { Supervisor } from './supervisor';

const store = proxyActivities<Activities>({ ...blobStore, summary: 'mailbox carried to the next run' });
const shared = proxyActivities<Activities>({ ...sideEffect, summary: 'shared state' });
const deliver = proxyActivities<Activities>({ ...sideEffect, summary: 'message to a peer (start if absent)' });

/** How long a lead waits, after a member answered with an error, for that member's run to fail. */
const CRASH_NOTICE_MS = 30_000;
/** Mailbox entries the state query shows. */
const SHOWN = 20;

export async function actorAgent(input: ActorInput): Promise<ActorState> {
  const problem = addressProblem(input?.address) ?? specProblem(input?.spec);
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidInput');
  const self = input.address;
  const spec = input.spec;
  const carry = input.carry;
  const info = workflowInfo();
  const limits = {
    events: input.runLimits?.events ?? EVENTS_PER_RUN,
    updates: input.runLimits?.updates ?? UPDATES_PER_RUN,
    messages: input.runLimits?.messages ?? Infinity,
  };
  const llm = proxyActivities<Activities>({
    ...modelCall,
    ...(spec.llmTaskQueue ? { taskQueue: spec.llmTaskQueue } : {}),
    summary: `${self}: model call`,
  });

  const stored = carry?.mailboxRef ? ((await store.actorUnstash(carry.mailboxRef)) as Envelope[]) : [];
  const queued = [...stored, ...(carry?.mailbox ?? [])];
  const mailbox = new Mailbox(carry ? { seq: carry.seq, queue: queued, kept: carry.kept, seen: carry.seen } : undefined);
  const memory = new Conversation(true, carry?.memory ?? { segments: [], messages: [] });
  let notes = carry?.notes ?? 0;
  if (!carry) for (const n of spec.notes ?? []) remember(n);
  let handled = carry?.handled ?? 0;
  let handledThisRun = 0;
  const usage = carry?.usage ?? noUsageSummary();
  const cost = carry?.cost ?? emptyCost();
  let simulated = carry?.simulated ?? false;
  const startedAt = carry?.startedAt ?? Date.now();
  const runs = (carry?.runs ?? 0) + 1;
  let stop: StopRequest | undefined;
  let status: ActorStatus = 'idle';

  /** Replies other agents owe this one (a lead's questions to its team), by message id. */
  const awaiting = new Map<string, { to: string; reply?: ActorReply; down?: string }>();
  const team = spec.team;
  const supervisor = team
    ? new Supervisor(
        self,
        team.supervision ?? DEFAULT_SUPERVISION,
        {
          childDown: (address, reason) => {
            for (const a of awaiting.values()) if (a.to === address) a.down = reason;
          },
          changed: () => show(),
        },
        carry?.children,
        carry?.restarts,
      )
    : undefined;

  function remember(n: { title?: string; text: string; stored?: ActorReply['stored'] }): void {
    for (const m of noteTurns(n)) memory.push(m);
    notes++;
  }

  const state = (): ActorState => {
    const mem = memory.state();
    return {
      address: self,
      role: spec.role,
      status,
      ...(input.parent ? { parent: input.parent } : {}),
      generation: input.generation ?? 1,
      handled,
      queued: mailbox.size,
      mailbox: mailbox.entries(SHOWN),
      ...(mailbox.current ? { current: { ...entry(mailbox.current), since: mailbox.current.since } } : {}),
      memory: { messages: mem.messages.length, segments: mem.segments.length, notes },
      children: supervisor?.state() ?? [],
      peers: team?.peers ?? [],
      restarts: supervisor?.restarts ?? [],
      runs,
      updatesThisRun: mailbox.updatesThisRun,
      heldUpdates: mailbox.held,
      usage,
      cost,
      simulated,
      startedAt,
    };
  };

  const runStatus = new RunStatus();
  function show(): void {
    const restarts = supervisor?.restarts ?? [];
    const lines = [
      `**${self}** (${spec.role}) · ${status} · ${handled} handled · ${mailbox.size} queued · run ${runs}`,
      ...(mailbox.current ? [`handling #${mailbox.current.seq} from ${mailbox.current.env.from}`] : []),
      ...(supervisor ? supervisor.state().map((c) => `- ${c.name}: ${c.status}${c.restarts ? ` · ${c.restarts} restarts` : ''}`) : []),
      ...restarts.slice(-5).map((r) => `restarted ${r.child} (generation ${r.generation}): ${r.reason}`),
    ];
    // BraidStatus (an upsert only when the word changes, for agents started with it) and the current details.
    runStatus.set(status === 'stopped' ? 'stopped' : 'running', lines.join('\n'));
  }

  const stopped = () => stop !== undefined;
  setHandler(sendUpdate, (env) => mailbox.send(env), {
    validator: (env) => {
      const p = envelopeProblem(env);
      if (p) throw new Error(p);
      if (stopped()) throw new Error(`agent ${self} is stopping`);
    },
    description: 'A message whose reply the sender waits for (a receipt when the agent is busy with many).',
  });
  setHandler(
    tellSignal,
    (env) => {
      if (envelopeProblem(env) || stopped()) return; // a signal has no one to refuse to; a sender reading by query sees `unknown`
      mailbox.arrive(env);
    },
    { description: 'A message, fire-and-forget (or answered by `reply` signal / `replyFor` query).' },
  );
  setHandler(
    replySignal,
    (r) => {
      const a = awaiting.get(r.id);
      if (a) a.reply = r;
    },
    { description: "Another agent's answer to a question this one asked." },
  );
  setHandler(stopSignal, (r) => void (stop ??= r ?? {}), { description: 'Stop after the current message.' });
  setHandler(exitedSignal, (e) => supervisor?.noticed(e), { description: "A child agent's last word." });
  setHandler(actorStateQuery, state);
  setHandler(replyForQuery, (id) => mailbox.status(id));

  const charge = (res: LlmResult) => {
    simulated ||= res.simulated;
    addModelUsage(usage, res.model, res.usage);
    addCall(cost, res.model, res.usage, { table: spec.prices });
    // What attempts that failed streamed before they did: charged as estimated.
    addEstimated(cost, res.retriedSpend, spec.prices);
  };

  async function ask(system: string, text: string, stored: ActorReply['stored'] | undefined): Promise<string> {
    memory.push({ role: 'user', content: stored ? [{ type: 'text', text, stored }] : text });
    const req = memory.request();
    let res: LlmResult;
    try {
      res = await llm.llmTurn({ role: 'fast', model: spec.model ?? DEFAULT_MODEL, system, ...req, maxTokens: spec.maxTokens });
    } catch (err) {
      addEstimated(cost, spendOfFailure(err), spec.prices);
      throw err;
    }
    charge(res);
    memory.settle(req, res);
    memory.push({ role: 'assistant', content: res.content });
    return textOf(res.content);
  }

  /** A lead's question to one member or peer: a `tell` with `replyTo`, answered by a `reply` signal. */
  async function askOther(id: string, name: string, address: string, text: string, peer: boolean): Promise<MemberAnswer> {
    const t0 = Date.now();
    const env: Envelope = { id, from: self, body: { kind: 'prompt', text: memberQuestion(text) }, replyTo: self };
    const slot: { to: string; reply?: ActorReply; down?: string } = { to: address };
    awaiting.set(id, slot);
    try {
      if (peer)
        await deliver.actorDeliver({
          to: address,
          envelope: env,
          startIfAbsent: {
            spec: { role: name, ...(spec.llmTaskQueue ? { llmTaskQueue: spec.llmTaskQueue } : {}) },
            taskQueue: info.taskQueue,
          },
        });
      else await getExternalWorkflowHandle(actorWorkflowId(address)).signal(tellSignal, env);
      const timeoutMs = team?.memberTimeoutMs ?? DEFAULT_MEMBER_TIMEOUT_MS;
      const came = await condition(() => slot.reply !== undefined || slot.down !== undefined || stopped(), timeoutMs);
      // A member that answered with an error is failing: wait for its supervisor to see it (and restart it).
      if (slot.reply && !slot.reply.ok && !peer && supervisor!.crashes(name))
        await condition(() => slot.down !== undefined || stopped(), CRASH_NOTICE_MS);
      const elapsedMs = Date.now() - t0;
      if (slot.reply) return { name, address, ok: slot.reply.ok, text: slot.reply.text, error: slot.reply.error, elapsedMs };
      return {
        name,
        address,
        ok: false,
        error: slot.down ?? (came ? `${self} is stopping` : `no answer within ${timeoutMs} ms`),
        elapsedMs,
      };
    } catch (err) {
      return { name, address, ok: false, error: failureMessage(err), elapsedMs: Date.now() - t0 };
    } finally {
      awaiting.delete(id);
    }
  }

  async function changeShared(key: string, op: SharedOp, write: 'cas' | 'blind'): Promise<NonNullable<ActorReply['shared']>> {
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await shared.sharedRead(key);
      if (op.type === 'read') return { key, value: cur.value, version: cur.version, attempts: attempt };
      const value =
        op.type === 'increment'
          ? (typeof cur.value === 'number' ? cur.value : 0) + (op.by ?? 1)
          : [...(Array.isArray(cur.value) ? cur.value : []), op.item];
      const out = await shared.sharedWrite({ key, value, ...(write === 'cas' ? { expectedVersion: cur.version } : {}) });
      if (out.ok) return { key, value, version: out.version, attempts: attempt };
    }
    throw ApplicationFailure.nonRetryable(`${key} stayed contended for ${MAX_CAS_ATTEMPTS} compare-and-swap rounds`, 'Contended');
  }

  async function handle(env: Envelope, seq: number): Promise<ActorReply> {
    const base = { id: env.id, by: self, seq };
    const b: ActorBody = env.body;
    if (b.kind === 'note') {
      remember(b);
      return { ...base, ok: true, text: 'noted', handledMs: Date.now() };
    }
    if (b.kind === 'shared') {
      const result = await changeShared(b.key, b.op, b.write ?? 'cas');
      return { ...base, ok: true, shared: result, handledMs: Date.now() };
    }
    if (!team) {
      const text = await ask(actorSystem(spec), b.text, b.stored);
      return { ...base, ok: true, text, handledMs: Date.now() };
    }
    // A lead: every running member and every peer at once, then one merged answer. A member being
    // restarted is waited for, so the question reaches its next incarnation.
    await condition(
      () => supervisor!.settled() || stopped() || supervisor!.escalation !== undefined,
      team.memberTimeoutMs ?? DEFAULT_MEMBER_TIMEOUT_MS,
    );
    const askAll = [
      ...supervisor!.running().map((m) => askOther(`${env.id}/${m.name}`, m.name, m.address, b.text, false)),
      ...(team.peers ?? []).map((p) => askOther(`${env.id}/${p}`, p, p, b.text, true)),
    ];
    const members = await Promise.all(askAll);
    if (!members.some((m) => m.ok)) return { ...base, ok: false, members, error: 'no member of the team answered', handledMs: Date.now() };
    const text = await ask(actorSystem(spec), mergePrompt(b.text, members), undefined);
    return { ...base, ok: true, text, members, handledMs: Date.now() };
  }

  async function answer(env: Envelope, reply: ActorReply): Promise<void> {
    const to = mailbox.settle(env, reply);
    if (!to) return;
    try {
      await getExternalWorkflowHandle(actorWorkflowId(to)).signal(replySignal, reply);
    } catch {
      // the asker is gone: nobody waits for this reply any more
    }
  }

  async function tellParent(outcome: 'stopped' | 'failed', reason?: string): Promise<void> {
    if (!input.parent) return;
    try {
      await getExternalWorkflowHandle(actorWorkflowId(input.parent)).signal(exitedSignal, {
        address: self,
        firstRunId: info.firstExecutionRunId,
        outcome,
        ...(reason ? { reason } : {}),
      });
    } catch {
      // the supervisor is gone
    }
  }

  const crashes = spec.onError ?? (input.parent ? 'crash' : 'reply');
  const shouldContinue = () =>
    workflowInfo().continueAsNewSuggested ||
    workflowInfo().historyLength >= limits.events ||
    workflowInfo().historySize >= HISTORY_BYTES_PER_RUN ||
    mailbox.updatesThisRun >= limits.updates ||
    handledThisRun >= limits.messages;

  if (supervisor && !carry) await supervisor.spawn(team!.members);
  show();

  for (;;) {
    await condition(() => mailbox.size > 0 || stopped() || supervisor?.escalation !== undefined || shouldContinue());
    if (supervisor?.escalation) {
      await supervisor.stopAll('cancel', CHILD_STOP_WAIT_MS);
      await tellParent('failed', supervisor.escalation);
      throw ApplicationFailure.nonRetryable(`${self} escalates: ${supervisor.escalation}`, 'Escalated');
    }
    if (stopped()) break;
    if (shouldContinue()) {
      mailbox.draining = true;
      await condition(allHandlersFinished);
      // A large queue goes by reference; messages that arrive while it is stored follow inline.
      const first = mailbox.carry().queue;
      const mailboxRef = JSON.stringify(first).length > MAILBOX_INLINE_MAX_CHARS ? await store.actorStash(first) : undefined;
      const { queue, ...box } = mailbox.carry();
      const next: ActorCarry = {
        runs,
        handled,
        ...box,
        ...(mailboxRef ? { mailboxRef, mailbox: queue.slice(first.length) } : { mailbox: queue }),
        memory: memory.state(),
        notes,
        children: supervisor?.carry() ?? [],
        restarts: supervisor?.restarts ?? [],
        usage,
        cost,
        simulated,
        startedAt,
      };
      await continueAsNew<typeof actorAgent>({ ...input, carry: next });
    }
    const q = mailbox.next(Date.now())!;
    status = 'busy';
    show();
    let reply: ActorReply;
    try {
      reply = await handle(q.env, q.seq);
    } catch (err) {
      const error = failureMessage(err);
      reply = { id: q.env.id, by: self, seq: q.seq, ok: false, error, handledMs: Date.now() };
      if (crashes === 'crash') {
        await answer(q.env, reply);
        await tellParent('failed', error);
        throw ApplicationFailure.nonRetryable(`${self} failed on message ${q.env.id}: ${error}`, 'ActorCrashed');
      }
    }
    handled++;
    handledThisRun++;
    await answer(q.env, reply);
    status = 'idle';
    show();
  }

  // Stopping: the current message is done; queued ones are answered with an error, the team stopped.
  status = 'stopping';
  show();
  const reason = stop?.reason ? `: ${stop.reason}` : '';
  for (const q of mailbox.takeAll()) {
    await answer(q.env, { id: q.env.id, by: self, seq: q.seq, ok: false, error: `agent ${self} stopped${reason}`, handledMs: Date.now() });
  }
  mailbox.draining = true;
  await supervisor?.stopAll('stop', CHILD_STOP_WAIT_MS);
  await condition(allHandlersFinished);
  await tellParent('stopped', stop?.reason);
  status = 'stopped';
  show();
  return state();
}
