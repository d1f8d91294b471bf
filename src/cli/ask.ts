/**
 * `braid ask`: starts the tool-calling agent workflow, shows its branches live through the progress
 * query, and prints the answer, the timing table and the Web UI link. Ctrl-C detaches — the run is
 * durable and goes on in Temporal — rather than cancelling it.
 */
import { randomBytes } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import pc from 'picocolors';
import { config } from '../config';
import { ASK_WORKFLOW, agentProgressQuery, type AgentInput, type AgentResult } from '../shared/ask';
import type { toolAgent } from '../workflows';
import { BraidKind } from '../shared/search-attributes';
import { webUiLink, type Target } from '../temporal/connection';
import { LiveBlock, errorsOf, progressLines, timingTable } from './render';
import { UsageError } from './errors';
import { followRun } from './follow';
import { startLabelled } from './start';

export interface AskOptions extends AgentInput {
  json?: boolean;
  workflowId?: string;
}

export interface AskOutcome {
  workflowId: string;
  runId: string;
  webUi?: string;
  result: AgentResult;
}

export function newRunId(prefix: string): string {
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${prefix}-${stamp}-${randomBytes(3).toString('hex')}`;
}

function startRun(client: Client, taskQueue: string, workflowId: string, input: AgentInput) {
  return startLabelled([{ key: BraidKind, value: 'ask' }], (attrs) =>
    client.workflow.start<typeof toolAgent>(ASK_WORKFLOW, { taskQueue, workflowId, args: [input], ...attrs }),
  );
}

export async function ask(client: Client, target: Target, opts: AskOptions): Promise<AskOutcome> {
  const question = opts.question.trim();
  if (!question) throw new UsageError('the question is empty: braid ask "<question>"');
  const taskQueue = config().taskQueue;
  const input: AgentInput = {
    question,
    maxTurns: opts.maxTurns,
    tools: opts.tools,
    role: opts.role,
    system: opts.system,
    maxTokens: opts.maxTokens,
  };
  const handle = await startRun(client, taskQueue, opts.workflowId ?? newRunId('ask'), input);
  return followAgent(handle, target, Boolean(opts.json));
}

/** Shows a running agent's branches live until it ends; Ctrl-C detaches. */
export async function followAgent(handle: WorkflowHandle<typeof toolAgent>, target: Target, json: boolean): Promise<AskOutcome> {
  const runId = 'firstExecutionRunId' in handle ? String(handle.firstExecutionRunId) : undefined;
  const webUi = webUiLink(handle.workflowId, runId, target);
  const live = json ? undefined : new LiveBlock();
  if (!json) process.stderr.write(`${pc.dim('run')} ${handle.workflowId}${webUi ? pc.dim(`  ${webUi}`) : ''}\n`);

  const result = await followRun(handle, {
    tick: live ? async () => live.update(progressLines(await handle.query(agentProgressQuery))) : undefined,
    stop: () => live?.clear(),
    detachHint: `the run goes on in Temporal: ${handle.workflowId}${webUi ? ` — ${webUi}` : ''}`,
  });
  return { workflowId: handle.workflowId, runId: runId ?? '', webUi, result };
}

export function printOutcome(o: AskOutcome, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ workflowId: o.workflowId, runId: o.runId, webUi: o.webUi, ...o.result })}\n`);
    return;
  }
  const r = o.result;
  const model = r.simulated
    ? pc.yellow("simulated model (no ANTHROPIC_API_KEY set; answers come from Braid's simulator, not Claude)")
    : `Claude: ${r.models.join(', ')}`;
  console.log(`\n${pc.bold('Answer')} ${pc.dim(`— ${model}`)}\n${r.answer}\n`);
  const failed = errorsOf(r);
  if (failed.length)
    console.log(pc.red(`${failed.length} branch(es) failed and were reported to the model as errors:\n  ${failed.join('\n  ')}\n`));
  console.log(timingTable(r));
  if (o.webUi) console.log(`\n${pc.dim('Web UI:')} ${o.webUi}`);
}
