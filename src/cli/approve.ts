/** `braid approve <workflowId>`: approve a publish run that awaits a decision. */
import { Command } from 'commander';
import type { DecisionRequest } from '../shared/publish';
import { defaultReviewer, printReceipt, sendDecision } from './decision';
import { withSession } from './session';

export function approveCommand(): Command {
  return new Command('approve')
    .description('approve a publish run that awaits a decision')
    .argument('<workflowId>', 'the run, as listed by `braid pending`')
    .option('--comment <text>', 'a comment recorded with the decision')
    .option('--as <reviewer>', 'who decides (default: BRAID_REVIEWER or your user name)')
    .option('--json', 'print the receipt as JSON')
    .action((workflowId: string, o: { comment?: string; as?: string; json?: boolean }) => {
      const req: DecisionRequest = {
        verdict: 'approve',
        reviewer: o.as ?? defaultReviewer(),
        ...(o.comment ? { comment: o.comment } : {}),
      };
      return withSession({ worker: 'none' }, async ({ client }) =>
        printReceipt(workflowId, await sendDecision(client, workflowId, req), Boolean(o.json)),
      );
    });
}
