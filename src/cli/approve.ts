/** `braid approve <workflowId>`: approve a publish run, or an ask run's tool call, that awaits a decision. */
import { Command } from 'commander';
import type { DecisionRequest } from '../shared/publish';
import { defaultReviewer, printReceipt, sendDecision } from './decision';
import { withSession } from './session';

export function approveCommand(): Command {
  return new Command('approve')
    .description("approve a publish run, or an ask run's tool call, that awaits a decision")
    .argument('<workflowId>', 'the run, as listed by `braid pending`')
    .option('--call <toolUseId>', 'for an ask run: the tool call awaiting approval (may be left out while only one waits)')
    .option('--comment <text>', 'a comment recorded with the decision')
    .option('--as <reviewer>', 'who decides (default: BRAID_REVIEWER or your user name)')
    .option('--json', 'print the receipt as JSON')
    .action((workflowId: string, o: { comment?: string; as?: string; json?: boolean; call?: string }) => {
      const req: DecisionRequest = {
        verdict: 'approve',
        reviewer: o.as ?? defaultReviewer(),
        ...(o.comment ? { comment: o.comment } : {}),
        ...(o.call ? { toolUseId: o.call } : {}),
      };
      return withSession({ worker: 'none' }, async ({ client }) =>
        printReceipt(workflowId, await sendDecision(client, workflowId, req), Boolean(o.json)),
      );
    });
}
