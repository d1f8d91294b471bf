/**
 * `braid actor spawn|send|tell|state|ls|stop`: long-lived agents addressed by a stable id. `spawn`
 * starts one (a lead with `--member`s supervises its team), `send` waits for the reply, `tell` only
 * delivers, `state` asks the agent (a query; nothing reads its state otherwise), `ls` lists agents by
 * the BraidKind search attribute, `stop` lets it finish its current message and stop. Every input is
 * checked first (one line, exit 2); an unknown or stopped agent is one line too. `--json` prints one
 * object (ls: one per line).
 */
import fs from 'node:fs';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { Command, InvalidArgumentError } from 'commander';
import pc from 'picocolors';
import { config } from '../config';
import {
  ACTOR_ID_PREFIX,
  ACTOR_WORKFLOW,
  actorAddress,
  actorStateQuery,
  actorWorkflowId,
  addressProblem,
  envelopeProblem,
  MAX_MESSAGE_CHARS,
  specProblem,
  stopSignal,
  type ActorBody,
  type ActorNote,
  type ActorReply,
  type ActorSpec,
  type ActorState,
  type TeamMember,
} from '../shared/actor';
import { formatUsd } from '../shared/pricing';
import { llmTaskQueue } from '../shared/task-queues';
import { webUiLink } from '../temporal/connection';
import type { actorAgent } from '../workflows';
import { ActorUnreachable, envelope, sendMessage, tellMessage } from './actor-messages';
import { UsageError } from './errors';
import { duration, intIn } from './options';
import { announceRun, startRun, withSession, workerFor } from './session';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--member name:role`. */
function member(value: string, previous: TeamMember[] = []): TeamMember[] {
  const m = /^([^:\s]+):(.+)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected <name>:<role>, e.g. returns:returns specialist');
  return [...previous, { name: m[1]!, spec: { role: m[2]!.trim() } }];
}

function checkAddress(address: string): string {
  const p = addressProblem(address);
  if (p) throw new UsageError(p);
  return address;
}

/** `--member-note name=file`. */
function memberNote(value: string, previous: [string, string][] = []): [string, string][] {
  const m = /^([^=\s]+)=(.+)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected <member name>=<file>, e.g. returns=data/docs/refunds-and-returns.md');
  return [...previous, [m[1]!, m[2]!]];
}

interface SpawnOptions {
  role: string;
  memberNote?: [string, string][];
  instructions?: string;
  model?: string;
  note?: string[];
  member?: TeamMember[];
  peer?: string[];
  maxRestarts?: number;
  within?: number;
  json?: boolean;
}

function readNote(file: string): ActorNote {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`cannot read note file ${file}: no such file`);
  }
  if (text.length > MAX_MESSAGE_CHARS)
    throw new UsageError(`note file ${file} is ${text.length} characters; the limit is ${MAX_MESSAGE_CHARS}`);
  return { title: file, text };
}

/** The agent's spec from the command line, every part checked; UsageError otherwise. */
export function spawnSpec(o: SpawnOptions, taskQueue: string): ActorSpec {
  const notes = (o.note ?? []).map(readNote);
  for (const [name] of o.memberNote ?? [])
    if (!o.member?.some((m) => m.name === name)) throw new UsageError(`--member-note ${name}=…: ${name} is not a --member`);
  const memberNotes = (name: string) => (o.memberNote ?? []).filter(([n]) => n === name).map(([, file]) => readNote(file));
  const team = o.member?.length || o.peer?.length;
  const spec: ActorSpec = {
    role: o.role,
    ...(o.instructions ? { instructions: o.instructions } : {}),
    ...(o.model ? { model: o.model } : {}),
    ...(notes.length ? { notes } : {}),
    llmTaskQueue: llmTaskQueue(taskQueue),
    prices: { ...config().prices },
    ...(team
      ? {
          team: {
            members: (o.member ?? []).map((m) => {
              const briefing = memberNotes(m.name);
              return { ...m, spec: { ...m.spec, ...(briefing.length ? { notes: briefing } : {}), llmTaskQueue: llmTaskQueue(taskQueue) } };
            }),
            ...(o.peer?.length ? { peers: o.peer } : {}),
            ...(o.maxRestarts !== undefined || o.within !== undefined
              ? { supervision: { maxRestarts: o.maxRestarts ?? 3, withinMs: o.within ?? 60_000 } }
              : {}),
          },
        }
      : {}),
  };
  const p = specProblem(spec);
  if (p) throw new UsageError(p);
  return spec;
}

interface MessageOptions {
  note?: boolean;
  increment?: string;
  append?: string;
  read?: string;
  blind?: boolean;
  by?: number;
  json?: boolean;
}

/** The message body from the command line: a prompt, a note, or a shared-state operation. */
export function messageBody(words: string[], o: MessageOptions): ActorBody {
  const text = words.join(' ').trim();
  const shared = [o.increment, o.append, o.read].filter((k) => k !== undefined);
  if (shared.length > 1) throw new UsageError('give one of --increment, --append, --read');
  if (o.blind && !shared.length) throw new UsageError('--blind goes with --increment or --append');
  let body: ActorBody;
  if (o.increment !== undefined)
    body = { kind: 'shared', key: o.increment, op: { type: 'increment', ...(o.by !== undefined ? { by: o.by } : {}) } };
  else if (o.append !== undefined) {
    if (!text) throw new UsageError('nothing to append: braid actor send <address> --append <key> <item>');
    body = { kind: 'shared', key: o.append, op: { type: 'append', item: text } };
  } else if (o.read !== undefined) body = { kind: 'shared', key: o.read, op: { type: 'read' } };
  else if (!text) throw new UsageError('nothing to send: give the message text');
  else body = o.note ? { kind: 'note', text } : { kind: 'prompt', text };
  if (body.kind === 'shared' && o.blind) body.write = 'blind';
  const p = envelopeProblem(envelope(body));
  if (p) throw new UsageError(p);
  return body;
}

/** An agent the CLI cannot reach is the user's input (exit 2), said in one line. */
function unreachable(err: unknown): never {
  if (err instanceof ActorUnreachable) throw new UsageError(err.message);
  throw err;
}

async function stateOf(client: Client, address: string): Promise<ActorState> {
  const handle = client.workflow.getHandle(actorWorkflowId(address));
  try {
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING') {
      const final = await handle.result().catch(() => undefined);
      if (final) return final as ActorState;
      throw new UsageError(`agent ${address} is not running (${d.status.name.toLowerCase()})`);
    }
    return await handle.query(actorStateQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UsageError(`no agent has the address ${address}`);
    throw err;
  }
}

function replyLines(r: ActorReply): string[] {
  const lines: string[] = [];
  if (!r.ok) lines.push(pc.red(`error: ${r.error ?? 'failed'}`));
  if (r.shared)
    lines.push(`${r.shared.key} = ${JSON.stringify(r.shared.value)} (version ${r.shared.version}, ${r.shared.attempts} round(s))`);
  for (const m of r.members ?? []) lines.push(pc.dim(`${m.ok ? '✓' : '✗'} ${m.name}: ${m.ok ? `answered in ${m.elapsedMs} ms` : m.error}`));
  if (r.text) lines.push(r.text);
  return lines;
}

function stateLines(s: ActorState): string[] {
  const lines = [
    `${pc.bold(s.address)} (${s.role}) · ${s.status} · ${s.handled} handled · ${s.queued} queued · run ${s.runs}${s.parent ? ` · child of ${s.parent}` : ''}`,
    `memory: ${s.memory.messages} messages, ${s.memory.segments} stored segments, ${s.memory.notes} notes · cost ${formatUsd(s.cost.totalUsd)}${s.simulated ? ' (simulated)' : ''}`,
  ];
  if (s.current) lines.push(`handling #${s.current.seq} from ${s.current.from}: ${s.current.preview}`);
  for (const m of s.mailbox) lines.push(pc.dim(`  queued #${m.seq} ${m.kind} from ${m.from}: ${m.preview}`));
  for (const c of s.children)
    lines.push(
      `team: ${c.name} (${c.address}) ${c.status}, generation ${c.generation}${c.lastFailure ? `, last failure: ${c.lastFailure}` : ''}`,
    );
  for (const p of s.peers) lines.push(`peer: ${p}`);
  for (const r of s.restarts)
    lines.push(pc.yellow(`restarted ${r.child} (generation ${r.generation}) at ${new Date(r.at).toISOString()}: ${r.reason}`));
  return lines;
}

const messageOptions = (c: Command) =>
  c
    .option('--note', 'a note for the agent to remember (no model call)')
    .option('--increment <key>', 'increment a shared key (compare-and-swap)')
    .option('--by <n>', 'with --increment: by this much', intIn(-1_000_000, 1_000_000))
    .option('--append <key>', 'append the text to a shared list (compare-and-swap)')
    .option('--read <key>', 'read a shared key')
    .option('--blind', 'with --increment/--append: a naive read-modify-write, no version check (loses concurrent updates)')
    .option('--json', 'print one JSON object');

export function actorCommand(): Command {
  const cmd = new Command('actor').description('long-lived agents with a mailbox, private state and a supervised team');

  cmd
    .command('spawn <address>')
    .description('start an agent at an address (a lead, with --member, supervises its team)')
    .requiredOption('--role <role>', 'what the agent is for, in a few words')
    .option('--instructions <text>', 'more of its system prompt')
    .option('--model <model>', 'model id or role (fast, capable); default fast')
    .option('--note <file>', 'a briefing file in its memory from the start (repeatable)', collect)
    .option('--member <name:role>', 'a team member, started and supervised as a child agent <address>/<name> (repeatable)', member)
    .option('--member-note <name=file>', "a briefing file in that member's memory (repeatable)", memberNote)
    .option('--peer <address>', 'an agent outside the team the lead also asks; started if absent (repeatable)', collect)
    .option('--max-restarts <n>', 'restarts of one member within --within before the lead escalates (default 3)', intIn(0, 100))
    .option('--within <duration>', 'the restart window (default 1m)', duration)
    .option('--json', 'print one JSON object')
    .action((address: string, o: SpawnOptions) => {
      checkAddress(address);
      const spec = spawnSpec(o, config().taskQueue);
      return withSession(workerFor(false), async (s) => {
        const workflowId = actorWorkflowId(address);
        let handle;
        try {
          handle = await startRun<typeof actorAgent>(s, ACTOR_WORKFLOW, {
            workflowId,
            args: [{ address, spec }],
            kind: 'actor',
            status: 'running',
            options: {
              workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
              staticSummary: `agent ${address}: ${spec.role}`,
            },
          });
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError)
            throw new UsageError(`the address ${address} is taken (an agent there is running or has stopped); choose another`);
          throw err;
        }
        const web = webUiLink(workflowId, handle.firstExecutionRunId, s.target);
        if (o.json) return void console.log(JSON.stringify({ address, workflowId, runId: handle.firstExecutionRunId, webUi: web }));
        announceRun(workflowId, web, `agent ${address} (${spec.role})${spec.team ? ` leading ${spec.team.members.length} members` : ''}`);
      });
    });

  messageOptions(
    cmd
      .command('send <address> [text...]')
      .description('send a message and wait for the reply')
      .option('--timeout <duration>', 'how long to wait for the reply (default 10m)', duration),
  ).action((address: string, words: string[], o: MessageOptions & { timeout?: number }) => {
    checkAddress(address);
    const body = messageBody(words, o);
    return withSession({ worker: 'none' }, async ({ client }) => {
      const env = envelope(body);
      const sent = await sendMessage(client, address, env).catch(unreachable);
      if (o.json) return void console.log(JSON.stringify(sent.reply));
      for (const l of replyLines(sent.reply)) console.log(l);
      if (!sent.reply.ok) process.exitCode = 1;
    });
  });

  messageOptions(cmd.command('tell <address> [text...]').description('deliver a message without waiting for a reply')).action(
    (address: string, words: string[], o: MessageOptions) => {
      checkAddress(address);
      const body = messageBody(words, o);
      return withSession({ worker: 'none' }, async ({ client }) => {
        const env = { ...envelope(body), replyBy: 'query' as const };
        // A signal to a closed run is refused by the server: describe first, so a stopped agent is one line.
        const d = await client.workflow
          .getHandle(actorWorkflowId(address))
          .describe()
          .catch((err: unknown) => {
            if (err instanceof WorkflowNotFoundError) throw new UsageError(`no agent has the address ${address}`);
            throw err;
          });
        if (d.status.name !== 'RUNNING') throw new UsageError(`agent ${address} is not running (${d.status.name.toLowerCase()})`);
        await tellMessage(client, address, env).catch(unreachable);
        if (o.json) return void console.log(JSON.stringify({ address, id: env.id, delivered: true }));
        console.log(`delivered ${env.id} to ${address}`);
      });
    },
  );

  cmd
    .command('state <address>')
    .description('ask an agent for its state (mailbox, memory, team, restarts, cost)')
    .option('--json', 'print one JSON object')
    .action((address: string, o: { json?: boolean }) => {
      checkAddress(address);
      return withSession({ worker: 'none' }, async ({ client }) => {
        const s = await stateOf(client, address);
        if (o.json) return void console.log(JSON.stringify(s));
        for (const l of stateLines(s)) console.log(l);
      });
    });

  cmd
    .command('ls')
    .description('list agents (search attribute BraidKind = "actor")')
    .option('--all', 'stopped and failed agents too')
    .option('--json', 'print one JSON object per line')
    .action((o: { all?: boolean; json?: boolean }) =>
      withSession({ worker: 'none' }, async ({ client }) => {
        const query = `BraidKind = "actor"${o.all ? '' : ' AND ExecutionStatus = "Running"'}`;
        const rows: { address: string; workflowId: string; status: string; started: string }[] = [];
        const seen = new Set<string>();
        try {
          for await (const w of client.workflow.list({ query })) {
            if (!w.workflowId.startsWith(ACTOR_ID_PREFIX) || seen.has(w.workflowId)) continue; // one row per agent, its latest run
            seen.add(w.workflowId);
            rows.push({
              address: actorAddress(w.workflowId),
              workflowId: w.workflowId,
              status: w.status.name.toLowerCase(),
              started: w.startTime.toISOString(),
            });
          }
        } catch (err) {
          if (err instanceof Error && /BraidKind/.test(err.message))
            throw new Error(
              'the search attribute BraidKind is not registered; run `temporal operator search-attribute create --name BraidKind --type Keyword`',
            );
          throw err;
        }
        rows.sort((a, b) => a.address.localeCompare(b.address));
        if (o.json) return void rows.forEach((r) => console.log(JSON.stringify(r)));
        if (!rows.length) return void console.log(o.all ? 'no agents' : 'no agents are running');
        for (const r of rows) console.log(`${r.address}  ${r.status}  started ${r.started.replace('T', ' ').slice(0, 19)}`);
      }),
    );

  cmd
    .command('stop <address>')
    .description('stop an agent after its current message (queued messages are answered with an error; its team stops too)')
    .option('--reason <text>', 'why, for its history and its senders')
    .option('--timeout <duration>', 'how long to wait for it to stop (default 2m)', duration)
    .option('--json', 'print its final state as one JSON object')
    .action((address: string, o: { reason?: string; timeout?: number; json?: boolean }) => {
      checkAddress(address);
      return withSession({ worker: 'none' }, async ({ client }) => {
        const handle = client.workflow.getHandle(actorWorkflowId(address));
        const d = await handle.describe().catch((err: unknown) => {
          if (err instanceof WorkflowNotFoundError) throw new UsageError(`no agent has the address ${address}`);
          throw err;
        });
        if (d.status.name !== 'RUNNING') throw new UsageError(`agent ${address} is not running (${d.status.name.toLowerCase()})`);
        await handle.signal(stopSignal, o.reason ? { reason: o.reason } : {});
        const timeoutMs = o.timeout ?? 120_000;
        const final = (await Promise.race([
          handle.result(),
          new Promise((_, reject) =>
            setTimeout(
              () => reject(new Error(`agent ${address} did not stop within ${Math.round(timeoutMs / 1000)} s`)),
              timeoutMs,
            ).unref(),
          ),
        ])) as ActorState;
        if (o.json) return void console.log(JSON.stringify(final));
        console.log(`agent ${address} stopped after ${final.handled} messages`);
      });
    });

  return cmd;
}
