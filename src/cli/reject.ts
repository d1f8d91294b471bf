/** `braid reject <workflowId> --reason "…"`: reject a publish run, or an ask run's tool call, that awaits a decision. */
import { Command } from 'commander';
import type { DecisionRequest } from '../shared/publish';
import { defaultReviewer, printReceipt, sendDecision } from './decision';
import { UsageError } from './errors';
import { withSession } from './session';

export function rejectCommand(): Command {
  return new Command('reject')
    .description("reject a publish run, or an ask run's tool call, that awaits a decision")
    .argument('<workflowId>', 'the run, as listed by `braid pending`')
    .option('--call <toolUseId>', 'for an ask run: the tool call awaiting approval (may be left out while only one waits)')
    .requiredOption('--reason <text>', 'why (recorded with the decision)')
    .option('--as <reviewer>', 'who decides (default: BRAID_REVIEWER or your user name)')
    .option('--json', 'print the receipt as JSON')
    .action((workflowId: string, o: { reason: string; as?: string; json?: boolean; call?: string }) => {
      if (!o.reason.trim()) throw new UsageError('the reason is empty: braid reject <workflowId> --reason "…"');
      const req: DecisionRequest = {
        verdict: 'reject',
        reviewer: o.as ?? defaultReviewer(),
        reason: o.reason,
        ...(o.call ? { toolUseId: o.call } : {}),
      };
      return withSession({ worker: 'none' }, async ({ client }) =>
        printReceipt(workflowId, await sendDecision(client, workflowId, req), Boolean(o.json)),
      );
    });
}
