/**
 * Sending a decision to a publish run, or on a tool call an ask run holds for approval, for `braid
 * approve` and `braid reject`: the workflow's `decide` update, whose validator answers at once —
 * accepted, or refused with the reason, which becomes a one-line usage error — so a refused
 * decision changes nothing.
 */
import os from 'node:os';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { config } from '../config';
import { ASK_WORKFLOW } from '../shared/ask';
import { decideUpdate, PUBLISH_WORKFLOW, type DecisionReceipt, type DecisionRequest } from '../shared/publish';
import type { publishWorkflow } from '../workflows';
import { UsageError } from './errors';
import { describeRun } from './session';

/** Who decides when --as is not given: BRAID_REVIEWER, else the user name. */
export function defaultReviewer(): string {
  try {
    return config().publish.reviewer ?? os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

export async function sendDecision(client: Client, workflowId: string, req: DecisionRequest): Promise<DecisionReceipt> {
  const desc = await describeRun(client, workflowId);
  if (desc.type !== PUBLISH_WORKFLOW && desc.type !== ASK_WORKFLOW)
    throw new UsageError(`run ${workflowId} is a ${desc.type} run, not a publish or ask run; there is nothing to decide`);
  if (req.toolUseId && desc.type !== ASK_WORKFLOW)
    throw new UsageError(`run ${workflowId} is a publish run: it has no tool calls to decide; leave out --call`);
  if (desc.status.name !== 'RUNNING')
    throw new UsageError(`run ${workflowId} has finished (${desc.status.name.toLowerCase()}); there is nothing to decide`);
  try {
    return await client.workflow.getHandle<typeof publishWorkflow>(workflowId).executeUpdate(decideUpdate, { args: [req] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new UsageError(`decision refused: ${err.cause?.message ?? err.message}`);
    if (err instanceof WorkflowNotFoundError || (err instanceof Error && /already completed|not found/i.test(err.message))) {
      throw new UsageError(`run ${workflowId} has finished; there is nothing to decide`);
    }
    throw err;
  }
}

export function printReceipt(workflowId: string, r: DecisionReceipt, json: boolean): void {
  if (json) return void process.stdout.write(`${JSON.stringify({ workflowId, ...r })}\n`);
  const verb = r.decision.verdict === 'approve' ? 'approved' : 'rejected';
  const what = r.decision.toolUseId ? `tool call ${r.decision.toolUseId} of ${workflowId}` : workflowId;
  if (r.duplicate) console.log(`${what} was already ${verb} by ${r.decision.reviewer}; nothing changed`);
  else console.log(`${verb} ${what} as ${r.decision.reviewer}`);
}
