/**
 * `braid pending`: runs awaiting a decision — publish runs, and ask runs holding a tool call for
 * approval — found through the BraidKind and BraidStatus search attributes. For an ask run the calls
 * that wait come from its progress query.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import Table from 'cli-table3';
import { Command } from 'commander';
import pc from 'picocolors';
import { agentProgressQuery, type ToolApproval } from '../shared/ask';
import { AWAITING_APPROVAL } from '../shared/publish';
import { BraidKind } from '../shared/search-attributes';
import { tableStyle } from './render';
import { withSession } from './session';

const PENDING_QUERY = `(BraidKind = "publish" OR BraidKind = "ask") AND BraidStatus = "${AWAITING_APPROVAL}" AND ExecutionStatus = "Running"`;

/** The tool calls an ask run holds for approval (none when it cannot be asked, e.g. it just moved on). */
async function waitingCalls(client: Client, wf: WorkflowExecutionInfo): Promise<ToolApproval[]> {
  try {
    const p = await client.workflow.getHandle(wf.workflowId).query(agentProgressQuery);
    return (p.approvals ?? []).filter((a) => a.state === 'waiting');
  } catch {
    return [];
  }
}

export function pendingCommand(): Command {
  return new Command('pending')
    .description('list publish runs and ask runs\' tool calls awaiting a decision (search attribute BraidStatus = "awaiting_approval")')
    .option('--json', 'print JSON lines')
    .action((o: { json?: boolean }) =>
      withSession({ worker: 'none' }, async ({ client }) => {
        const rows: { wf: WorkflowExecutionInfo; calls?: ToolApproval[] }[] = [];
        try {
          for await (const wf of client.workflow.list({ query: PENDING_QUERY })) rows.push({ wf });
        } catch (err) {
          if (err instanceof Error && /BraidStatus|BraidKind/.test(err.message)) {
            throw new Error(
              'the search attribute BraidStatus is not registered; run `temporal operator search-attribute create --name BraidStatus --type Keyword`',
            );
          }
          throw err;
        }
        const kindOf = (wf: WorkflowExecutionInfo) => wf.typedSearchAttributes?.get(BraidKind) ?? 'publish';
        await Promise.all(rows.filter((r) => kindOf(r.wf) === 'ask').map(async (r) => (r.calls = await waitingCalls(client, r.wf))));
        if (o.json) {
          for (const { wf, calls } of rows)
            console.log(
              JSON.stringify({
                workflowId: wf.workflowId,
                runId: wf.runId,
                kind: kindOf(wf),
                startTime: wf.startTime,
                memo: wf.memo,
                ...(calls ? { toolCalls: calls } : {}),
              }),
            );
          return;
        }
        if (!rows.length) return void console.log('no runs are awaiting a decision');
        const table = new Table({ head: ['workflow id', 'started', 'awaiting a decision on'], style: tableStyle() });
        for (const { wf, calls } of rows) {
          const memo = (wf.memo ?? {}) as { destination?: string; documents?: string[] };
          const what = calls
            ? calls.map((c) => `tool call ${c.toolUseId}: ${c.tool} ${c.input} (until ${c.decideBy})`).join('\n')
            : `publishing ${(memo.documents ?? []).join(', ')} to ${memo.destination ?? '?'}`;
          table.push([wf.workflowId, wf.startTime.toISOString().replace('T', ' ').slice(0, 19), what]);
        }
        console.log(table.toString());
        console.log(pc.dim(`Web UI / temporal CLI filter: ${PENDING_QUERY}`));
        if (rows.some((r) => r.calls)) console.log(pc.dim('Decide a tool call with: braid approve <workflowId> --call <toolUseId>'));
      }),
    );
}
