/**
 * `braid actor`'s contract: long-lived agents addressed by a stable id, each a workflow with a
 * mailbox, private state and, for a lead, a supervised team of child agents. The address is what
 * users and other agents name (`lead`, `lead/returns`); the workflow id is `actor/<address>`, so a
 * child's id derives from its parent's. Messages, replies, the mailbox's updates, signals and
 * queries, the limits the CLI and the workflow both check, and the versioned store's operations.
 * No Node APIs.
 *
 * Message paths (docs: README, "braid actor"):
 * - a client's request/response is the `send` update, answered when the agent has handled the
 *   message; while 8 such updates are already held open (Temporal allows 10 in flight per run), or
 *   while the agent prepares to continue as new, the update is answered at once with a receipt and
 *   the reply is read later with the `replyFor` query. A sender refused anyway (the server's limit,
 *   reached before the workflow saw the update) delivers the same message by the `tell` signal
 *   with `replyBy: 'query'`. Nothing is refused; ids make every path idempotent.
 * - fire-and-forget is the `tell` signal.
 * - between agents, a request is a `tell` signal with `replyTo` (from workflow code to a child; to
 *   any other address through an activity that signal-with-starts it, so it is started if absent),
 *   and the answer comes back as a `reply` signal — no update held open, no activity waiting.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { StoredText } from './blobs';
import type { CostSummary, ModelPrice } from './pricing';
import type { UsageSummary } from './types';

/** The workflow type: the name of the workflow function in src/workflows/actor.ts (frozen). */
export const ACTOR_WORKFLOW = 'actorAgent';

/** Workflow ids of agents: `actor/<address>`. */
export const ACTOR_ID_PREFIX = 'actor/';
export const actorWorkflowId = (address: string): string => `${ACTOR_ID_PREFIX}${address}`;
export const actorAddress = (workflowId: string): string =>
  workflowId.startsWith(ACTOR_ID_PREFIX) ? workflowId.slice(ACTOR_ID_PREFIX.length) : workflowId;
/** A child's address: its parent's, then its name. */
export const childAddress = (parent: string, name: string): string => `${parent}/${name}`;

export const MAX_ADDRESS_CHARS = 200;
/** One address segment: letters, digits, `.`, `_`, `-`; segments joined by `/` (a child's address). */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Characters of a message's text carried inline; longer text goes by reference (`stored`). */
export const MAX_MESSAGE_CHARS = 32 * 1024;
/** Characters of a role or of extra instructions. */
export const MAX_ROLE_CHARS = 200;
export const MAX_INSTRUCTIONS_CHARS = 4_000;
export const MAX_NOTES = 20;
export const MAX_TEAM = 10;
export const MAX_PEERS = 10;
export const MAX_SHARED_KEY_CHARS = 200;

/**
 * Updates held open at once, waiting for their replies. Temporal refuses an update while 10 are in
 * flight on a run (`history.maxInFlightUpdates`); two stay free for updates the server has admitted
 * but the workflow has not seen yet, so a burst of senders is answered with receipts, not refused.
 */
export const MAX_HELD_UPDATES = 8;
/** Updates a run accepts before it continues as new: well before Temporal's 2,000 per run (`history.maxTotalUpdates`). */
export const UPDATES_PER_RUN = 1_000;
/** History a run may grow to before it continues as new (Temporal warns at 10,240 events and 10 MB). */
export const EVENTS_PER_RUN = 4_000;
export const HISTORY_BYTES_PER_RUN = 2 * 1024 * 1024;
/** Replies kept for senders that read them by query (receipts, `replyBy: 'query'`), newest last. */
export const KEPT_REPLIES = 500;
/** Message ids remembered to drop a message delivered twice (a sender's retry, an update then its signal fallback). */
export const SEEN_IDS = 2_000;
/** The queued mailbox is carried to the next run inline up to this size, else through the blob store. */
export const MAILBOX_INLINE_MAX_CHARS = 128 * 1024;
/** Compare-and-swap rounds for one shared-state change before it is reported as contended. */
export const MAX_CAS_ATTEMPTS = 100;

export const DEFAULT_MODEL = 'fast';
/** A team member's time to answer one question, its queue included. */
export const DEFAULT_MEMBER_TIMEOUT_MS = 5 * 60_000;
/** One-for-one restarts: at most 3 within a minute, then the supervisor escalates. */
export const DEFAULT_SUPERVISION: Supervision = { maxRestarts: 3, withinMs: 60_000 };
/** How long a stopping agent waits for its children to stop. */
export const CHILD_STOP_WAIT_MS = 60_000;

/** What a supervisor does for its children: restart a failed one, at most `maxRestarts` times within `withinMs`, then escalate. */
export interface Supervision {
  maxRestarts: number;
  withinMs: number;
}

/** A note the agent keeps in its memory (briefing material); large text by reference. */
export interface ActorNote {
  title?: string;
  text: string;
  stored?: StoredText;
}

export interface TeamMember {
  /** The child's name; its address is `<lead>/<name>`. */
  name: string;
  spec: ActorSpec;
}

/** A lead's team: children it spawns and supervises, and peers (other agents) it asks by address. */
export interface TeamSpec {
  members: TeamMember[];
  /** Addresses of agents outside the team's tree; an absent one is started (role: its name). */
  peers?: string[];
  supervision?: Supervision;
  memberTimeoutMs?: number;
}

/** What an agent is: everything its workflow is started with, and what a restart starts it with again. */
export interface ActorSpec {
  /** What it is for, in a few words ("returns specialist"); the first line of its system prompt. */
  role: string;
  instructions?: string;
  /** A model id or a role name (`fast`, `capable`) the worker resolves; default `fast`. */
  model?: string;
  /** Briefing material, in its memory from the start (and again after a restart). */
  notes?: ActorNote[];
  /** A lead: prompts are answered by its team, then merged. */
  team?: TeamSpec;
  /**
   * A message whose handling fails: `reply` answers it with the error and goes on; `crash` fails the
   * agent, for its supervisor to restart. Default: `crash` for a supervised child, `reply` otherwise.
   */
  onError?: 'reply' | 'crash';
  maxTokens?: number;
  /** Task queue for model calls; default the workflow's own. The CLI uses `<queue>-llm`. */
  llmTaskQueue?: string;
  /** USD per million tokens by model, for `cost`; default the list prices. */
  prices?: Record<string, ModelPrice>;
}

export type SharedOp = { type: 'read' } | { type: 'increment'; by?: number } | { type: 'append'; item: unknown };

/** A message's content. */
export type ActorBody =
  /** Ask the agent: answered by its model with its memory (a lead: by its team). */
  | { kind: 'prompt'; text: string; stored?: StoredText }
  /** Tell the agent something to remember; no model call. */
  | { kind: 'note'; text: string; stored?: StoredText; title?: string }
  /**
   * Read or change a shared key through the versioned store. `write: 'cas'` (default) changes it
   * by compare-and-swap, retried on conflict; `'blind'` reads, changes and writes without a version
   * check — the naive read-modify-write that loses concurrent updates (kept to show it: bench, tests).
   */
  | { kind: 'shared'; key: string; op: SharedOp; write?: 'cas' | 'blind' };

export interface Envelope {
  /** Unique per message; the sender chooses it, so a message delivered twice is handled once. */
  id: string;
  /** The sender: an agent's address, or `cli`. */
  from: string;
  body: ActorBody;
  /** An agent waiting for the answer: it gets a `reply` signal. */
  replyTo?: string;
  /** The sender reads the answer with the `replyFor` query. */
  replyBy?: 'query';
}

/** A team member's part of a lead's answer. */
export interface MemberAnswer {
  name: string;
  address: string;
  ok: boolean;
  text?: string;
  error?: string;
  elapsedMs: number;
}

export interface ActorReply {
  id: string;
  /** The agent that answered. */
  by: string;
  ok: boolean;
  /** The answer (its preview when `stored`). */
  text?: string;
  stored?: StoredText;
  /** A shared-state result. */
  shared?: { key: string; value: unknown; version: number; attempts: number };
  /** A lead's answer: what each member said. */
  members?: MemberAnswer[];
  error?: string;
  /** Arrival number in the agent's mailbox (1, 2, …), across runs: the order messages were handled in. */
  seq: number;
  handledMs: number;
}

/** The `send` update's answer when the reply is not waited for: read it with `replyFor`. */
export interface ActorReceipt {
  id: string;
  queued: true;
  seq: number;
  /** Messages ahead of it (the one being handled included). */
  ahead: number;
}

export type SendResult = ActorReply | ActorReceipt;
export const isReceipt = (r: SendResult): r is ActorReceipt => 'queued' in r;

export interface ReplyStatus {
  state: 'queued' | 'handling' | 'done' | 'unknown';
  ahead?: number;
  reply?: ActorReply;
}

export interface StopRequest {
  reason?: string;
}

/** A child's last word to its supervisor (signal `exited`). */
export interface ChildExit {
  address: string;
  /** The child run chain's first run id: tells one incarnation from the next. */
  firstRunId: string;
  outcome: 'stopped' | 'failed' | 'cancelled';
  reason?: string;
}

export type ChildStatus = 'running' | 'restarting' | 'stopped' | 'failed';

export interface ChildState {
  name: string;
  address: string;
  status: ChildStatus;
  /** 1 for the first start; +1 per restart. */
  generation: number;
  restarts: number;
  lastFailure?: string;
}

export interface RestartRecord {
  child: string;
  generation: number;
  reason: string;
  /** Workflow-clock time (epoch ms). */
  at: number;
}

export type ActorStatus = 'idle' | 'busy' | 'stopping' | 'stopped';

export interface MailboxEntry {
  id: string;
  seq: number;
  from: string;
  kind: ActorBody['kind'];
  preview: string;
}

/** What `braid actor state` shows (query `actorState`), and a stopped agent's result. */
export interface ActorState {
  address: string;
  role: string;
  status: ActorStatus;
  parent?: string;
  generation: number;
  /** Messages handled, across runs. */
  handled: number;
  queued: number;
  /** The first queued messages, in the order they will be handled. */
  mailbox: MailboxEntry[];
  current?: MailboxEntry & { since: number };
  memory: { messages: number; segments: number; notes: number };
  children: ChildState[];
  peers: string[];
  restarts: RestartRecord[];
  /** Runs of this agent's chain (continue-as-new), 1 for the first. */
  runs: number;
  updatesThisRun: number;
  heldUpdates: number;
  usage: UsageSummary;
  cost: CostSummary;
  simulated: boolean;
  startedAt: number;
}

/** What a run hands to the next when it continues as new. */
export interface ActorCarry {
  runs: number;
  seq: number;
  handled: number;
  /** Queued messages, inline or (when large) stored as one JSON blob. */
  mailbox?: Envelope[];
  mailboxRef?: string;
  kept: ActorReply[];
  seen: string[];
  memory: { segments: string[]; messages: import('./types').ChatMessage[] };
  notes: number;
  children: CarriedChild[];
  restarts: RestartRecord[];
  usage: UsageSummary;
  cost: CostSummary;
  simulated: boolean;
  startedAt: number;
}

export interface CarriedChild extends ChildState {
  spec: ActorSpec;
  firstRunId?: string;
  restartTimes: number[];
}

export interface ActorInput {
  address: string;
  spec: ActorSpec;
  /** The supervisor's address, for a child. */
  parent?: string;
  generation?: number;
  carry?: ActorCarry;
  /** When a run continues as new (tests set them low); default EVENTS_PER_RUN and UPDATES_PER_RUN. */
  runLimits?: { events?: number; updates?: number; messages?: number };
}

export const sendUpdate = defineUpdate<SendResult, [Envelope]>('send');
export const tellSignal = defineSignal<[Envelope]>('tell');
export const replySignal = defineSignal<[ActorReply]>('reply');
export const stopSignal = defineSignal<[StopRequest?]>('stop');
export const exitedSignal = defineSignal<[ChildExit]>('exited');
export const actorStateQuery = defineQuery<ActorState>('actorState');
export const replyForQuery = defineQuery<ReplyStatus, [string]>('replyFor');

/** Why an address is not one, or undefined. */
export function addressProblem(address: unknown): string | undefined {
  if (typeof address !== 'string' || !address) return 'the agent address is empty';
  if (address.length > MAX_ADDRESS_CHARS) return `the agent address is ${address.length} characters; the limit is ${MAX_ADDRESS_CHARS}`;
  const bad = address.split('/').find((s) => !SEGMENT.test(s));
  if (bad !== undefined)
    return `"${address}" is not an agent address: use letters, digits, ".", "_" and "-" (a child's address adds "/<name>")`;
  return undefined;
}

const textProblem = (what: string, text: unknown, stored: StoredText | undefined): string | undefined => {
  if (typeof text !== 'string') return `${what} has no text`;
  if (!stored && !text.trim()) return `${what} is empty`;
  if (!stored && text.length > MAX_MESSAGE_CHARS)
    return `${what} is ${text.length} characters; up to ${MAX_MESSAGE_CHARS} go inline, longer text by reference`;
  return undefined;
};

export function sharedKeyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string' || !key.trim()) return 'the shared key is empty';
  if (key.length > MAX_SHARED_KEY_CHARS) return `the shared key is ${key.length} characters; the limit is ${MAX_SHARED_KEY_CHARS}`;
  return undefined;
}

/** Why a message cannot be delivered as it is, or undefined. */
export function envelopeProblem(e: Envelope): string | undefined {
  if (typeof e?.id !== 'string' || !e.id || e.id.length > 200) return 'the message needs an id of 1-200 characters';
  if (typeof e.from !== 'string' || !e.from) return 'the message names no sender';
  const b = e.body;
  if (b?.kind === 'prompt') return textProblem('the prompt', b.text, b.stored);
  if (b?.kind === 'note') return textProblem('the note', b.text, b.stored);
  if (b?.kind === 'shared') {
    const key = sharedKeyProblem(b.key);
    if (key) return key;
    if (!['read', 'increment', 'append'].includes(b.op?.type))
      return `unknown shared operation ${String(b.op?.type)}: use read, increment or append`;
    if (b.op.type === 'increment' && b.op.by !== undefined && !Number.isFinite(b.op.by)) return 'increment by a finite number';
    if (b.write !== undefined && b.write !== 'cas' && b.write !== 'blind') return `unknown write mode ${String(b.write)}: use cas or blind`;
    return undefined;
  }
  return `unknown message kind ${String((b as { kind?: unknown } | undefined)?.kind)}: use prompt, note or shared`;
}

/** Why an agent cannot be started with this spec, or undefined. */
export function specProblem(spec: ActorSpec, depth = 0): string | undefined {
  if (typeof spec?.role !== 'string' || !spec.role.trim()) return 'the agent has no role';
  if (spec.role.length > MAX_ROLE_CHARS) return `the role is ${spec.role.length} characters; the limit is ${MAX_ROLE_CHARS}`;
  if ((spec.instructions?.length ?? 0) > MAX_INSTRUCTIONS_CHARS)
    return `the instructions are ${spec.instructions!.length} characters; the limit is ${MAX_INSTRUCTIONS_CHARS}`;
  if ((spec.notes?.length ?? 0) > MAX_NOTES) return `an agent starts with at most ${MAX_NOTES} notes, got ${spec.notes!.length}`;
  for (const n of spec.notes ?? []) {
    const p = textProblem('a note', n?.text, n?.stored);
    if (p) return p;
  }
  if (spec.onError !== undefined && spec.onError !== 'reply' && spec.onError !== 'crash')
    return `unknown onError ${String(spec.onError)}: use reply or crash`;
  const team = spec.team;
  if (!team) return undefined;
  if (depth > 3) return 'teams nest at most 3 deep';
  if (!Array.isArray(team.members)) return 'a team needs its members';
  if (team.members.length + (team.peers?.length ?? 0) === 0) return 'a team needs at least one member or peer';
  if (team.members.length > MAX_TEAM) return `a team has at most ${MAX_TEAM} members, got ${team.members.length}`;
  if ((team.peers?.length ?? 0) > MAX_PEERS) return `a team asks at most ${MAX_PEERS} peers, got ${team.peers!.length}`;
  const names = new Set<string>();
  for (const m of team.members) {
    if (typeof m?.name !== 'string' || !SEGMENT.test(m.name))
      return `team member name "${String(m?.name)}" must be one address segment (letters, digits, ".", "_", "-")`;
    if (names.has(m.name)) return `team member ${m.name} is named twice`;
    names.add(m.name);
    const p = specProblem(m.spec, depth + 1);
    if (p) return `team member ${m.name}: ${p}`;
  }
  for (const p of team.peers ?? []) {
    const a = addressProblem(p);
    if (a) return `peer: ${a}`;
  }
  const s = team.supervision;
  if (s && (!Number.isInteger(s.maxRestarts) || s.maxRestarts < 0 || s.maxRestarts > 100))
    return `maxRestarts must be a whole number from 0 to 100, got ${String(s.maxRestarts)}`;
  if (s && (!Number.isFinite(s.withinMs) || s.withinMs <= 0)) return 'the restart window must be longer than 0';
  if (team.memberTimeoutMs !== undefined && !(team.memberTimeoutMs > 0)) return "a member's timeout must be longer than 0";
  return undefined;
}

/** A short single-line preview of a message, for the state query and the Web UI. */
export function bodyPreview(b: ActorBody, n = 80): string {
  const text = b.kind === 'shared' ? `${b.op.type} ${b.key}${b.write === 'blind' ? ' (blind)' : ''}` : b.text;
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
}
