/** `braid pending`: publish runs awaiting a decision, found through the BraidKind and BraidStatus search attributes. */
import Table from 'cli-table3';
import { Command } from 'commander';
import pc from 'picocolors';
import { AWAITING_APPROVAL } from '../shared/publish';
import { tableStyle } from './render';
import { withSession } from './session';

const PENDING_QUERY = `BraidKind = "publish" AND BraidStatus = "${AWAITING_APPROVAL}" AND ExecutionStatus = "Running"`;

export function pendingCommand(): Command {
  return new Command('pending')
    .description('list publish runs awaiting a decision (search attribute BraidStatus = "awaiting_approval")')
    .option('--json', 'print JSON lines')
    .action((o: { json?: boolean }) =>
      withSession({ worker: 'none' }, async ({ client }) => {
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
      }),
    );
}
