/** `braid runs`: recent top-level runs on Braid's task queue, newest first (child workflows of a job are not listed). */
import Table from 'cli-table3';
import { Command } from 'commander';
import { intIn } from './options';
import { ms, tableStyle } from './render';
import { withSession } from './session';

export function runsCommand(): Command {
  return new Command('runs')
    .description('list recent runs')
    .option('--limit <n>', 'how many (1-500)', intIn(1, 500), 20)
    .option('--json', 'print JSON lines')
    .action((o: { limit: number; json?: boolean }) =>
      withSession({ worker: 'none' }, async ({ client, taskQueue }) => {
        const rows = [];
        for await (const wf of client.workflow.list({
          query: `TaskQueue = "${taskQueue}" AND ParentWorkflowId IS NULL`,
          pageSize: Math.min(o.limit, 100),
        })) {
          rows.push(wf);
          if (rows.length >= o.limit) break;
        }
        if (o.json) {
          for (const w of rows) {
            const { workflowId, runId, type, startTime, closeTime } = w;
            console.log(JSON.stringify({ workflowId, runId, type, status: w.status.name, startTime, closeTime }));
          }
          return;
        }
        if (!rows.length) return void console.log(`no runs yet on task queue "${taskQueue}"`);
        const table = new Table({ head: ['workflow id', 'type', 'status', 'started', 'took'], style: tableStyle() });
        for (const w of rows) {
          const took = w.closeTime ? ms(w.closeTime.getTime() - w.startTime.getTime()) : '';
          table.push([w.workflowId, w.type, w.status.name, w.startTime.toISOString().replace('T', ' ').slice(0, 19), took]);
        }
        console.log(table.toString());
      }),
    );
}
