/**
 * `braid publish`, `braid pending`, `braid approve`, `braid reject`: the human-approval commands.
 *
 * `publish` starts the run, follows it through analysis and the report, and returns once the run
 * waits for a decision (or, with --wait, once it is published, rejected or compensated). Decisions
 * go as the workflow's `decide` update, so the validator's answer — accepted, or refused with the
 * reason — comes back at once and a refused decision changes nothing. Every input that can be
 * checked before anything happens is checked first: a bad command leaves no run behind.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { startLabelled } from './start';
import Table from 'cli-table3';
import { Command, InvalidArgumentError, Option } from 'commander';
import pc from 'picocolors';
import { config } from '../config';
import {
  AWAITING_APPROVAL,
  decideUpdate,
  PUBLISH_WORKFLOW,
  PublishFailure,
  publishStatusQuery,
  type DecisionReceipt,
  type DecisionRequest,
  type PublishDocument,
  type PublishInput,
  type PublishResult,
  type PublishStatus,
} from '../shared/publish';
import { connectClient, temporalTarget, webUiLink } from '../temporal/connection';
import { BraidKind, BraidStatus } from '../shared/search-attributes';
import type { publishWorkflow } from '../workflows';
import { newRunId } from './ask';
import { runFailure, UsageError } from './errors';
import { tableStyle } from './render';

const MAX_DOC_BYTES = 512 * 1024;
const PENDING_QUERY = `BraidKind = "publish" AND BraidStatus = "${AWAITING_APPROVAL}" AND ExecutionStatus = "Running"`;

function durationMs(value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const n = m ? Number(m[1]) * units[m[2] ?? 'ms']! : NaN;
  if (!(n > 0)) throw new InvalidArgumentError('expected a duration such as 90s, 15m, 24h or 2d');
  return n;
}

/** Reads every document before anything starts; any unreadable one stops the command. */
export function readDocuments(files: string[]): PublishDocument[] {
  const docs: PublishDocument[] = [];
  let total = 0;
  for (const file of files) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      throw new UsageError(`cannot read document ${file}: no such file`);
    }
    if (!stat.isFile()) throw new UsageError(`cannot read document ${file}: not a file`);
    total += stat.size;
    if (total > MAX_DOC_BYTES)
      throw new UsageError(`the documents exceed ${MAX_DOC_BYTES / 1024} KB together; publish fewer or smaller ones`);
    const text = fs.readFileSync(file, 'utf8');
    if (!text.trim()) throw new UsageError(`document ${file} is empty`);
    if (text.includes('\uFFFD')) throw new UsageError(`document ${file} is not UTF-8 text`);
    const name = path.relative(process.cwd(), path.resolve(file)) || path.basename(file);
    if (docs.some((d) => d.name === name)) throw new UsageError(`document ${file} is given twice`);
    docs.push({ name, text });
  }
  return docs;
}

/** `--to`: a SQLite file path (optionally `sqlite:<path>`); resolved here, since the worker's cwd differs. */
export function resolveDestination(to: string): string {
  const raw = to.trim().replace(/^sqlite:/, '');
  if (!raw) throw new UsageError('the destination is empty: --to <path/to/reports.db>');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw))
    throw new UsageError(`unsupported destination ${to}: Braid publishes to a SQLite file, e.g. --to ./reports.db`);
  return path.resolve(raw.replace(/^~(?=\/|$)/, os.homedir()));
}

function defaultReviewer(): string {
  try {
    return config().publish.reviewer ?? os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient();
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

function startPublish(client: Client, workflowId: string, input: PublishInput) {
  const base = {
    taskQueue: config().taskQueue,
    workflowId,
    args: [input] as [PublishInput],
    memo: { destination: input.destination, documents: input.documents.map((d) => d.name) },
  };
  return startLabelled(
    [
      { key: BraidKind, value: 'publish' },
      { key: BraidStatus, value: 'checking' },
    ],
    (attrs) => client.workflow.start<typeof publishWorkflow>(PUBLISH_WORKFLOW, { ...base, ...attrs }),
    () =>
      process.stderr.write(
        pc.yellow(
          'BraidStatus is not registered in this namespace, so `braid pending` will not list this run; register it with `temporal operator search-attribute create --name BraidStatus --type Keyword`\n',
        ),
      ),
  );
}

const FOLLOWING = new Set<PublishStatus['stage']>(['checking', 'analyzing', 'reporting']);

/** Polls the status query until the run waits for a decision or closes; returns the last status. */
async function follow(handle: WorkflowHandle<typeof publishWorkflow>, quiet: boolean): Promise<PublishStatus | undefined> {
  // Not handle.result(): its long poll would hold the process open after we return.
  let last: string | undefined;
  for (;;) {
    let status: PublishStatus | undefined;
    try {
      status = await handle.query(publishStatusQuery);
    } catch {
      // No workflow task has run yet — or the run failed before it could answer: look.
      if ((await handle.describe()).status.name !== 'RUNNING') return undefined;
    }
    if (status && status.stage !== last && !quiet) {
      last = status.stage;
      process.stderr.write(`${pc.dim('stage')} ${status.stage}\n`);
    }
    if (status && !FOLLOWING.has(status.stage)) return status;
    await new Promise((r) => setTimeout(r, 250));
  }
}

function describeFailure(err: unknown, workflowId: string): Error {
  const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
  const type = cause instanceof ApplicationFailure ? cause.type : undefined;
  if (cause && (type === PublishFailure.DestinationUnreachable || type === PublishFailure.InvalidInput))
    return new UsageError(`${cause.message}; nothing was published (run ${workflowId})`);
  if (cause && type && Object.values<string>(PublishFailure).includes(type))
    return new Error(`run ${workflowId} failed: ${cause.message} (${type})`);
  return new Error(`run ${workflowId} failed: ${runFailure(err)}`);
}

function printOutcome(result: PublishResult, json: boolean): void {
  if (json) return void process.stdout.write(`${JSON.stringify(result)}\n`);
  const d = result.decision;
  const by = d.via === 'deadline' ? 'by default at the deadline' : `by ${d.reviewer}`;
  console.log(
    `${result.outcome === 'published' ? pc.green('published') : pc.yellow('rejected')} ${by}${d.reason ? ` — ${d.reason}` : d.comment ? ` — ${d.comment}` : ''}`,
  );
  for (const e of result.effects) console.log(`  ${e.step}  ${pc.dim(e.key)}${e.applied ? '' : pc.dim(' (already applied)')}`);
}

export function publishCommand(): Command {
  return new Command('publish')
    .description('analyse documents in parallel, write a report, wait for a human decision, then publish it exactly once')
    .argument('<docs...>', 'document files (UTF-8 text)')
    .option('--to <destination>', 'SQLite file to publish to (default: BRAID_PUBLISH_DB)')
    .option('--title <title>', 'report title (default: from the analyses)')
    .option('--reviewers <names>', 'comma-separated reviewers allowed to decide (default: BRAID_PUBLISH_REVIEWERS, or anyone)')
    .option('--remind-after <duration>', 'remind the reviewers after this long (default: BRAID_PUBLISH_REMIND_AFTER, 24h)', durationMs)
    .option(
      '--decide-within <duration>',
      'take the default decision after this long (default: BRAID_PUBLISH_DECIDE_WITHIN, 72h)',
      durationMs,
    )
    .addOption(
      new Option('--default <decision>', 'decision taken at the deadline (default: BRAID_PUBLISH_DEFAULT_DECISION, reject)').choices([
        'approve',
        'reject',
      ]),
    )
    .option('--id <workflowId>', 'workflow id for the run (default: generated)')
    .option('--wait', 'wait for the decision and the publication instead of returning when the run awaits approval')
    .option('--json', 'print JSON: the status once awaiting approval, or the result with --wait')
    .action(
      async (
        files: string[],
        o: {
          to?: string;
          title?: string;
          reviewers?: string;
          remindAfter?: number;
          decideWithin?: number;
          default?: 'approve' | 'reject';
          id?: string;
          wait?: boolean;
          json?: boolean;
        },
      ) => {
        const cfg = config().publish;
        const documents = readDocuments(files);
        const destination = resolveDestination(o.to ?? cfg.db);
        const remindAfterMs = o.remindAfter ?? cfg.remindAfterMs;
        const decideWithinMs = o.decideWithin ?? cfg.decideWithinMs;
        if (remindAfterMs >= decideWithinMs)
          throw new UsageError(`the reminder (--remind-after) must come before the deadline (--decide-within)`);
        const reviewers =
          o.reviewers !== undefined
            ? o.reviewers
                .split(',')
                .map((r) => r.trim())
                .filter(Boolean)
            : cfg.reviewers;
        const input: PublishInput = {
          documents,
          destination,
          reviewers,
          remindAfterMs,
          decideWithinMs,
          defaultDecision: o.default ?? cfg.defaultDecision,
          ...(o.title ? { title: o.title } : {}),
        };
        const target = temporalTarget();
        await withClient(async (client) => {
          const queue = await client.workflowService.describeTaskQueue({
            namespace: client.options.namespace,
            taskQueue: { name: config().taskQueue },
            taskQueueType: 1,
          });
          if (!queue.pollers?.length) {
            throw new Error(
              `no worker is polling task queue "${config().taskQueue}" on ${target.address}; start one with \`braid worker\``,
            );
          }
          const handle = await startPublish(client, o.id ?? newRunId('publish'), input);
          const webUi = webUiLink(handle.workflowId, handle.firstExecutionRunId, target);
          if (!o.json) process.stderr.write(`${pc.dim('run')} ${handle.workflowId}${webUi ? pc.dim(`  ${webUi}`) : ''}\n`);
          const status = await follow(handle, Boolean(o.json));
          if (status?.stage !== AWAITING_APPROVAL || o.wait) {
            let result: PublishResult;
            try {
              result = await handle.result();
            } catch (err) {
              throw describeFailure(err, handle.workflowId);
            }
            return printOutcome(result, Boolean(o.json));
          }
          if (o.json)
            return void process.stdout.write(
              `${JSON.stringify({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId, webUi, ...status })}\n`,
            );
          console.log(`\n${status.report ?? ''}\n`);
          const failed = status.analyses.filter((a) => !a.ok);
          if (failed.length)
            console.log(
              pc.red(`${failed.length} document analysis(es) failed: ${failed.map((a) => `${a.name}: ${a.error}`).join('; ')}\n`),
            );
          const deadline = status.decideBy ? new Date(status.decideBy).toISOString() : '?';
          console.log(`${pc.bold('awaiting a decision')} until ${deadline} (then: ${input.defaultDecision})`);
          console.log(`  braid approve ${handle.workflowId} [--comment "…"]\n  braid reject ${handle.workflowId} --reason "…"`);
        });
      },
    );
}

export function pendingCommand(): Command {
  return new Command('pending')
    .description('list publish runs awaiting a decision (search attribute BraidStatus = "awaiting_approval")')
    .option('--json', 'print JSON lines')
    .action(async (o: { json?: boolean }) => {
      await withClient(async (client) => {
        const rows = [];
        try {
          for await (const wf of client.workflow.list({ query: PENDING_QUERY })) rows.push(wf);
        } catch (err) {
          if (err instanceof Error && /BraidStatus|BraidKind/.test(err.message)) {
            throw new Error(
              'the search attribute BraidStatus is not registered; run `temporal operator search-attribute create --name BraidStatus --type Keyword`',
            );
          }
          throw err;
        }
        if (o.json) {
          for (const w of rows)
            console.log(JSON.stringify({ workflowId: w.workflowId, runId: w.runId, startTime: w.startTime, memo: w.memo }));
          return;
        }
        if (!rows.length) return void console.log('no publish runs are awaiting a decision');
        const table = new Table({ head: ['workflow id', 'started', 'destination', 'documents'], style: tableStyle() });
        for (const w of rows) {
          const memo = (w.memo ?? {}) as { destination?: string; documents?: string[] };
          table.push([
            w.workflowId,
            w.startTime.toISOString().replace('T', ' ').slice(0, 19),
            memo.destination ?? '',
            (memo.documents ?? []).join(', '),
          ]);
        }
        console.log(table.toString());
        console.log(pc.dim(`Web UI / temporal CLI filter: ${PENDING_QUERY}`));
      });
    });
}

/** Sends one decision through the `decide` update; refusals become one-line usage errors. */
export async function sendDecision(client: Client, workflowId: string, req: DecisionRequest): Promise<DecisionReceipt> {
  const handle = client.workflow.getHandle<typeof publishWorkflow>(workflowId);
  let desc;
  try {
    desc = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UsageError(`no run with id ${workflowId}`);
    throw err;
  }
  if (desc.type !== PUBLISH_WORKFLOW)
    throw new UsageError(`run ${workflowId} is a ${desc.type} run, not a publish run; there is nothing to decide`);
  if (desc.status.name !== 'RUNNING')
    throw new UsageError(`run ${workflowId} has finished (${desc.status.name.toLowerCase()}); there is nothing to decide`);
  try {
    return await handle.executeUpdate(decideUpdate, { args: [req] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new UsageError(`decision refused: ${err.cause?.message ?? err.message}`);
    if (err instanceof WorkflowNotFoundError || (err instanceof Error && /already completed|not found/i.test(err.message))) {
      throw new UsageError(`run ${workflowId} has finished; there is nothing to decide`);
    }
    throw err;
  }
}

function printReceipt(workflowId: string, r: DecisionReceipt, json: boolean): void {
  if (json) return void process.stdout.write(`${JSON.stringify({ workflowId, ...r })}\n`);
  const verb = r.decision.verdict === 'approve' ? 'approved' : 'rejected';
  if (r.duplicate) console.log(`${workflowId} was already ${verb} by ${r.decision.reviewer}; nothing changed`);
  else console.log(`${verb} ${workflowId} as ${r.decision.reviewer}`);
}

export function approveCommand(): Command {
  return new Command('approve')
    .description('approve a publish run that awaits a decision')
    .argument('<workflowId>', 'the run, as listed by `braid pending`')
    .option('--comment <text>', 'a comment recorded with the decision')
    .option('--as <reviewer>', 'who decides (default: BRAID_REVIEWER or your user name)')
    .option('--json', 'print the receipt as JSON')
    .action(async (workflowId: string, o: { comment?: string; as?: string; json?: boolean }) => {
      const req: DecisionRequest = {
        verdict: 'approve',
        reviewer: o.as ?? defaultReviewer(),
        ...(o.comment ? { comment: o.comment } : {}),
      };
      await withClient(async (client) => printReceipt(workflowId, await sendDecision(client, workflowId, req), Boolean(o.json)));
    });
}

export function rejectCommand(): Command {
  return new Command('reject')
    .description('reject a publish run that awaits a decision')
    .argument('<workflowId>', 'the run, as listed by `braid pending`')
    .requiredOption('--reason <text>', 'why (recorded with the decision)')
    .option('--as <reviewer>', 'who decides (default: BRAID_REVIEWER or your user name)')
    .option('--json', 'print the receipt as JSON')
    .action(async (workflowId: string, o: { reason: string; as?: string; json?: boolean }) => {
      if (!o.reason.trim()) throw new UsageError('the reason is empty: braid reject <workflowId> --reason "…"');
      const req: DecisionRequest = { verdict: 'reject', reviewer: o.as ?? defaultReviewer(), reason: o.reason };
      await withClient(async (client) => printReceipt(workflowId, await sendDecision(client, workflowId, req), Boolean(o.json)));
    });
}
