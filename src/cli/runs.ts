/**
 * `braid runs`: recent top-level runs on Braid's task queue, newest first (child workflows of a job
 * are not listed), with their kind and status from Braid's search attributes — and filtered by them
 * with --kind and --status, the same filter the Web UI takes (`BraidKind = "…" AND BraidStatus = "…"`).
 */
import type { WorkflowExecutionInfo } from '@temporalio/client';
import Table from 'cli-table3';
import { Command, Option } from 'commander';
import { BRAID_KINDS, BraidKind, BraidStatus } from '../shared/search-attributes';
import { UsageError } from './errors';
import { intIn } from './options';
import { ms, tableStyle } from './render';
import { withSession } from './session';

/** A BraidStatus value as a filter word: letters, digits, `_` and `-` only (it goes into a query). */
function statusWord(value: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(value))
    throw new UsageError(`--status takes one word such as done, failed or awaiting_approval, got "${value}"`);
  return value;
}

/** The list query: the task queue's top-level runs, narrowed by kind and status. */
export function runsQuery(taskQueue: string, o: { kind?: string; status?: string }): string {
  return [
    `TaskQueue = "${taskQueue}"`,
    'ParentWorkflowId IS NULL',
    ...(o.kind ? [`BraidKind = "${o.kind}"`] : []),
    ...(o.status ? [`BraidStatus = "${statusWord(o.status)}"`] : []),
  ].join(' AND ');
}

interface RunsOptions {
  limit: number;
  json?: boolean;
  kind?: string;
  status?: string;
}

export function runsCommand(): Command {
  return new Command('runs')
    .description('list recent runs, with their kind and status')
    .option('--limit <n>', 'how many (1-500)', intIn(1, 500), 20)
    .addOption(new Option('--kind <kind>', 'only runs of this kind').choices(BRAID_KINDS))
    .option(
      '--status <status>',
      'only runs in this BraidStatus: queued, done, failed, cancelled, or a phase (tools, map, awaiting_approval …)',
    )
    .option('--json', 'print JSON lines')
    .action((o: RunsOptions) => {
      runsQuery('', o); // a bad --status is a usage error before connecting
      return withSession({ worker: 'none' }, async ({ client, taskQueue }) => {
        const rows: WorkflowExecutionInfo[] = [];
        try {
          for await (const wf of client.workflow.list({ query: runsQuery(taskQueue, o), pageSize: Math.min(o.limit, 100) })) {
            rows.push(wf);
            if (rows.length >= o.limit) break;
          }
        } catch (err) {
          if ((o.kind || o.status) && /BraidKind|BraidStatus|search attribute/i.test(String(err)))
            throw new Error(
              'this namespace has not registered BraidKind and BraidStatus, so --kind and --status cannot filter; register them with `temporal operator search-attribute create --name BraidKind --type Keyword` (and BraidStatus)',
            );
          throw err;
        }
        const kind = (w: WorkflowExecutionInfo) => w.typedSearchAttributes.get(BraidKind) ?? '';
        const status = (w: WorkflowExecutionInfo) => w.typedSearchAttributes.get(BraidStatus) ?? '';
        if (o.json) {
          for (const w of rows) {
            const { workflowId, runId, type, startTime, closeTime } = w;
            console.log(
              JSON.stringify({
                workflowId,
                runId,
                type,
                kind: kind(w) || undefined,
                status: w.status.name,
                braidStatus: status(w) || undefined,
                startTime,
                closeTime,
              }),
            );
          }
          return;
        }
        const filter = [o.kind && `kind ${o.kind}`, o.status && `status ${o.status}`].filter(Boolean).join(', ');
        if (!rows.length) return void console.log(`no runs${filter ? ` (${filter})` : ''} yet on task queue "${taskQueue}"`);
        const table = new Table({ head: ['workflow id', 'kind', 'status', 'execution', 'started', 'took'], style: tableStyle() });
        for (const w of rows) {
          const took = w.closeTime ? ms(w.closeTime.getTime() - w.startTime.getTime()) : '';
          table.push([
            w.workflowId,
            kind(w) || w.type,
            status(w),
            w.status.name,
            w.startTime.toISOString().replace('T', ' ').slice(0, 19),
            took,
          ]);
        }
        console.log(table.toString());
      });
    });
}
