/** `braid runs`: recent top-level runs on Braid's task queue, newest first (child workflows of a job are not listed). */
import type { Client } from '@temporalio/client';
import Table from 'cli-table3';
import { config } from '../config';
import { ms, tableStyle } from './render';

export async function listRuns(client: Client, o: { limit: number; json?: boolean }): Promise<void> {
  const rows = [];
  for await (const wf of client.workflow.list({
    query: `TaskQueue = "${config().taskQueue}" AND ParentWorkflowId IS NULL`,
    pageSize: Math.min(o.limit, 100),
  })) {
    rows.push(wf);
    if (rows.length >= o.limit) break;
  }
  if (o.json) {
    for (const w of rows) {
      console.log(
        JSON.stringify({
          workflowId: w.workflowId,
          runId: w.runId,
          type: w.type,
          status: w.status.name,
          startTime: w.startTime,
          closeTime: w.closeTime,
        }),
      );
    }
    return;
  }
  if (!rows.length) return void console.log(`no runs yet on task queue "${config().taskQueue}"`);
  const table = new Table({ head: ['workflow id', 'type', 'status', 'started', 'took'], style: tableStyle() });
  for (const w of rows) {
    const took = w.closeTime ? ms(w.closeTime.getTime() - w.startTime.getTime()) : '';
    table.push([w.workflowId, w.type, w.status.name, w.startTime.toISOString().replace('T', ' ').slice(0, 19), took]);
  }
  console.log(table.toString());
}
