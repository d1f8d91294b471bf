/** `braid reject <workflowId> --reason "…"`: reject a publish run that awaits a decision. */
import { Command } from 'commander';
import type { DecisionRequest } from '../shared/publish';
import { defaultReviewer, printReceipt, sendDecision } from './decision';
import { UsageError } from './errors';
import { withSession } from './session';

export function rejectCommand(): Command {
  return new Command('reject')
    .description('reject a publish run that awaits a decision')
    .argument('<workflowId>', 'the run, as listed by `braid pending`')
    .requiredOption('--reason <text>', 'why (recorded with the decision)')
    .option('--as <reviewer>', 'who decides (default: BRAID_REVIEWER or your user name)')
    .option('--json', 'print the receipt as JSON')
    .action((workflowId: string, o: { reason: string; as?: string; json?: boolean }) => {
      if (!o.reason.trim()) throw new UsageError('the reason is empty: braid reject <workflowId> --reason "…"');
      const req: DecisionRequest = { verdict: 'reject', reviewer: o.as ?? defaultReviewer(), reason: o.reason };
      return withSession({ worker: 'none' }, async ({ client }) =>
        printReceipt(workflowId, await sendDecision(client, workflowId, req), Boolean(o.json)),
      );
    });
}
