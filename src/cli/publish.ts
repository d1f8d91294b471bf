/**
 * `braid publish`: analyse documents in parallel, write a report, wait for a human decision, then
 * publish exactly once (`braid pending`, `approve` and `reject` are the decision side).
 *
 * The command starts the run, follows it through analysis and the report, and returns once the run
 * waits for a decision (or, with --wait, once it is published, rejected or compensated). Every
 * input that can be checked before anything happens is checked first: a bad command leaves no run
 * behind. Large documents go to the blob store first and travel as references (src/shared/blobs.ts),
 * so a worker on this host, sharing the store, reads them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Command, Option } from 'commander';
import pc from 'picocolors';
import { blobSetting, openConfiguredBlobStore } from '../blobs/open';
import { config } from '../config';
import { INLINE_MAX_CHARS, previewOf } from '../shared/blobs';
import { fsProblem } from '../fs-errors';
import {
  AWAITING_APPROVAL,
  MAX_DOCUMENT_BYTES,
  MAX_DOCUMENTS,
  MAX_INLINE_DOCUMENT_CHARS,
  PUBLISH_WORKFLOW,
  PublishFailure,
  publishLabels,
  publishStatusQuery,
  reportText,
  type PublishDocument,
  type PublishInput,
  type PublishResult,
  type PublishStatus,
  type StoredReport,
} from '../shared/publish';
import { webUiLink } from '../temporal/connection';
import type { publishWorkflow } from '../workflows';
import { runFailure, UsageError } from './errors';
import { duration, list } from './options';
import { costText } from './render';
import { announceRun, followUntil, newRunId, startRun, withSession } from './session';
import { readStored } from './stored';

/** Reads every document before anything starts; any unreadable one stops the command. */
function readDocuments(files: string[]): PublishDocument[] {
  if (files.length > MAX_DOCUMENTS) throw new UsageError(`${files.length} documents; the limit is ${MAX_DOCUMENTS} per run`);
  const docs: PublishDocument[] = [];
  let total = 0;
  for (const file of files) {
    let stat: fs.Stats;
    let text: string;
    try {
      stat = fs.statSync(file);
      if (!stat.isFile()) throw new UsageError(`cannot read document ${file}: not a file`);
      total += stat.size;
      if (total > MAX_DOCUMENT_BYTES)
        throw new UsageError(`the documents exceed ${MAX_DOCUMENT_BYTES / 1024 / 1024} MB together; publish fewer or smaller ones`);
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw err instanceof UsageError ? err : new UsageError(`cannot read document ${file}: ${fsProblem(err)}`);
    }
    if (!text.trim()) throw new UsageError(`document ${file} is empty`);
    if (text.includes('\uFFFD')) throw new UsageError(`document ${file} is not UTF-8 text`);
    const name = path.relative(process.cwd(), path.resolve(file)) || path.basename(file);
    if (docs.some((d) => d.name === name)) throw new UsageError(`document ${file} is given twice`);
    docs.push({ name, text });
  }
  return docs;
}

/** Documents too large to travel inline, written to the blob store; the run gets their references. */
async function storeLarge(docs: PublishDocument[]): Promise<PublishDocument[]> {
  const store = openConfiguredBlobStore(config());
  let inline = 0;
  const out: PublishDocument[] = [];
  for (const doc of docs) {
    if (doc.text.length <= INLINE_MAX_CHARS && inline + doc.text.length <= MAX_INLINE_DOCUMENT_CHARS) {
      inline += doc.text.length;
      out.push(doc);
      continue;
    }
    let ref: string;
    try {
      ref = await store.put(doc.text);
    } catch (err) {
      throw new Error(
        `cannot store document ${doc.name} in the blob store at ${store.location} (${blobSetting(config())}): ${(err as Error).message}`,
      );
    }
    const stored = { ref, chars: doc.text.length };
    out.push({ name: doc.name, text: previewOf(doc.text, stored), stored });
  }
  return out;
}

/** The whole report, read from the blob store when its body is stored. */
async function wholeReport(report: string | undefined, stored: StoredReport | undefined): Promise<string | undefined> {
  return stored ? reportText(stored.title, await readStored(stored.body, 'the report')) : report;
}

/** `--to`: a SQLite file path (optionally `sqlite:<path>`); resolved here, since the worker's cwd differs. */
function resolveDestination(to: string): string {
  const raw = to.trim().replace(/^sqlite:/, '');
  if (!raw) throw new UsageError('the destination is empty: --to <path/to/reports.db>');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw))
    throw new UsageError(`unsupported destination ${to}: Braid publishes to a SQLite file, e.g. --to ./reports.db`);
  return path.resolve(raw.replace(/^~(?=\/|$)/, os.homedir()));
}

const FOLLOWING = new Set<PublishStatus['stage']>(['checking', 'analyzing', 'reporting']);

/** A failed run as one line; a bad destination or input is the user's to fix (exit 2). */
function publishFailure(err: unknown, workflowId: string): Error {
  const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
  const type = cause instanceof ApplicationFailure ? cause.type : undefined;
  if (cause && (type === PublishFailure.DestinationUnreachable || type === PublishFailure.InvalidInput))
    return new UsageError(`${cause.message}; nothing was published (run ${workflowId})`);
  if (cause && type && Object.values<string>(PublishFailure).includes(type))
    return new Error(`run ${workflowId} failed: ${cause.message} (${type})`);
  return new Error(`run ${workflowId} failed: ${runFailure(err)}`);
}

async function printOutcome(result: PublishResult, json: boolean): Promise<void> {
  if (json)
    return void process.stdout.write(`${JSON.stringify({ ...result, report: await wholeReport(result.report, result.reportStored) })}\n`);
  const d = result.decision;
  const by = d.via === 'deadline' ? 'by default at the deadline' : `by ${d.reviewer}`;
  console.log(
    `${result.outcome === 'published' ? pc.green('published') : pc.yellow('rejected')} ${by}${d.reason ? ` — ${d.reason}` : d.comment ? ` — ${d.comment}` : ''}`,
  );
  for (const e of result.effects) console.log(`  ${e.step}  ${pc.dim(e.key)}${e.applied ? '' : pc.dim(' (already applied)')}`);
  const u = result.usage.total;
  console.log(pc.dim(`tokens ${u.inputTokens} in / ${u.outputTokens} out${result.cost ? ` · ${costText(result.cost)}` : ''}`));
}

interface PublishCliOptions {
  to?: string;
  title?: string;
  reviewers?: string[];
  remindAfter?: number;
  decideWithin?: number;
  default?: 'approve' | 'reject';
  id?: string;
  wait?: boolean;
  json?: boolean;
}

/** The run's input from the command line and the BRAID_PUBLISH_* defaults, checked before anything starts. */
async function publishInput(files: string[], o: PublishCliOptions): Promise<PublishInput> {
  const cfg = config().publish;
  const read = readDocuments(files);
  const destination = resolveDestination(o.to ?? cfg.db);
  const remindAfterMs = o.remindAfter ?? cfg.remindAfterMs;
  const decideWithinMs = o.decideWithin ?? cfg.decideWithinMs;
  if (remindAfterMs >= decideWithinMs)
    throw new UsageError(`the reminder (--remind-after) must come before the deadline (--decide-within)`);
  return {
    documents: await storeLarge(read),
    destination,
    reviewers: o.reviewers ?? cfg.reviewers,
    remindAfterMs,
    decideWithinMs,
    defaultDecision: o.default ?? cfg.defaultDecision,
    ...(o.title ? { title: o.title } : {}),
    prices: { ...config().prices },
  };
}

const unlabelledWarning = () =>
  process.stderr.write(
    pc.yellow(
      'BraidStatus is not registered in this namespace, so `braid pending` will not list this run; register it with `temporal operator search-attribute create --name BraidStatus --type Keyword`\n',
    ),
  );

export function publishCommand(): Command {
  return new Command('publish')
    .description('analyse documents in parallel, write a report, wait for a human decision, then publish it exactly once')
    .argument('<docs...>', 'document files (UTF-8 text)')
    .option('--to <destination>', 'SQLite file to publish to (default: BRAID_PUBLISH_DB)')
    .option('--title <title>', 'report title (default: from the analyses)')
    .option('--reviewers <names>', 'comma-separated reviewers allowed to decide (default: BRAID_PUBLISH_REVIEWERS, or anyone)', list)
    .option('--remind-after <duration>', 'remind the reviewers after this long (default: BRAID_PUBLISH_REMIND_AFTER, 24h)', duration)
    .option('--decide-within <duration>', 'take the default decision after this long (default: BRAID_PUBLISH_DECIDE_WITHIN, 72h)', duration)
    .addOption(
      new Option('--default <decision>', 'decision taken at the deadline (default: BRAID_PUBLISH_DEFAULT_DECISION, reject)').choices([
        'approve',
        'reject',
      ]),
    )
    .option('--id <workflowId>', 'workflow id for the run (default: generated)')
    .option('--wait', 'wait for the decision and the publication instead of returning when the run awaits approval')
    .option('--json', 'print JSON: the status once awaiting approval, or the result with --wait')
    .action(async (files: string[], o: PublishCliOptions) => {
      const input = await publishInput(files, o);
      const json = Boolean(o.json);
      await withSession({ worker: 'require' }, async (s) => {
        const handle = await startRun<typeof publishWorkflow>(s, PUBLISH_WORKFLOW, {
          workflowId: o.id ?? newRunId('publish'),
          args: [input],
          kind: 'publish',
          status: 'checking',
          labels: publishLabels(input),
          options: { memo: { destination: input.destination, documents: input.documents.map((d) => d.name) } },
          onUnlabelled: unlabelledWarning,
        });
        const webUi = webUiLink(handle.workflowId, handle.firstExecutionRunId, s.target);
        if (!json) announceRun(handle.workflowId, webUi);
        let shown: string | undefined;
        const status = await followUntil(
          handle,
          async () => {
            const st = await handle.query(publishStatusQuery);
            if (st.stage !== shown && !json) process.stderr.write(`${pc.dim('stage')} ${st.stage}\n`);
            shown = st.stage;
            return FOLLOWING.has(st.stage) ? undefined : st;
          },
          { taskQueue: s.taskQueue },
        );
        if (status?.stage !== AWAITING_APPROVAL || o.wait) {
          let result: PublishResult;
          try {
            result = await handle.result();
          } catch (err) {
            throw publishFailure(err, handle.workflowId);
          }
          return printOutcome(result, json);
        }
        const report = await wholeReport(status.report, status.reportStored);
        if (json)
          return void process.stdout.write(
            `${JSON.stringify({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId, webUi, ...status, report })}\n`,
          );
        console.log(`\n${report ?? ''}\n`);
        const failed = status.analyses.filter((a) => !a.ok);
        if (failed.length)
          console.log(pc.red(`${failed.length} document analysis(es) failed: ${failed.map((a) => `${a.name}: ${a.error}`).join('; ')}\n`));
        const deadline = status.decideBy ?? '?';
        console.log(`${pc.bold('awaiting a decision')} until ${deadline} (then: ${input.defaultDecision})`);
        console.log(`  braid approve ${handle.workflowId} [--comment "…"]\n  braid reject ${handle.workflowId} --reason "…"`);
      });
    });
}
