/**
 * `braid ask`: starts the tool-calling agent workflow, shows its branches live through the progress
 * query, and prints the answer, the timing table and the Web UI link. Ctrl-C detaches — the run is
 * durable and goes on in Temporal — rather than cancelling it.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import pc from 'picocolors';
import { config } from '../config';
import { AGENT_WORKFLOW, agentProgressQuery, type AgentInput, type AgentResult } from '../shared/agent';
import type { toolAgent } from '../workflows';
import { BraidKind } from '../temporal/search-attributes';
import { webUiLink, type Target } from '../temporal/connection';
import { LiveBlock, errorsOf, progressLines, timingTable } from './render';
import { UsageError, failureMessage } from './errors';

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

/** Pollers seen recently on the task queue; an empty list means nobody would pick the run up. */
export async function workerPollers(client: Client, taskQueue: string): Promise<number> {
  const res = await client.workflowService.describeTaskQueue({ namespace: client.options.namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 });
  return res.pollers?.length ?? 0;
}

async function startRun(client: Client, taskQueue: string, workflowId: string, input: AgentInput) {
  const base = { taskQueue, workflowId, args: [input] } as const;
  try {
    return await client.workflow.start<typeof toolAgent>(AGENT_WORKFLOW, { ...base, typedSearchAttributes: new TypedSearchAttributes([{ key: BraidKind, value: 'ask' }]) });
  } catch (err) {
    // A cluster without Braid's search attribute registered still runs the agent, just unlabelled.
    if (err instanceof Error && /search attribute/i.test(err.message)) return client.workflow.start<typeof toolAgent>(AGENT_WORKFLOW, base);
    throw err;
  }
}

export async function ask(client: Client, target: Target, opts: AskOptions): Promise<AskOutcome> {
  const question = opts.question.trim();
  if (!question) throw new UsageError('the question is empty: braid ask "<question>"');
  const taskQueue = config().taskQueue;
  const input: AgentInput = { question, maxTurns: opts.maxTurns, tools: opts.tools, role: opts.role, system: opts.system, maxTokens: opts.maxTokens };
  const handle = await startRun(client, taskQueue, opts.workflowId ?? newRunId('ask'), input);
  const webUi = webUiLink(handle.workflowId, handle.firstExecutionRunId, target);
  const live = opts.json ? undefined : new LiveBlock();
  if (!opts.json) process.stderr.write(`${pc.dim('run')} ${handle.workflowId}${webUi ? pc.dim(`  ${webUi}`) : ''}\n`);

  let done = false;
  const poll = async () => {
    while (!done) {
      try {
        const p = await handle.query(agentProgressQuery);
        if (!done) live?.update(progressLines(p));
      } catch {
        // No workflow task has run yet, or the worker is busy: try again on the next tick.
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const polling = live ? poll() : Promise.resolve();
  const detach = () => {
    live?.clear();
    process.stderr.write(`\ndetached; the run goes on in Temporal: ${handle.workflowId}${webUi ? ` — ${webUi}` : ''}\n`);
    process.exit(130);
  };
  process.once('SIGINT', detach);
  try {
    const result = await handle.result();
    return { workflowId: handle.workflowId, runId: handle.firstExecutionRunId, webUi, result };
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw new Error(`run ${handle.workflowId} failed: ${failureMessage(err)}`);
    throw err;
  } finally {
    done = true;
    await polling;
    live?.clear();
    process.removeListener('SIGINT', detach);
  }
}

export function printOutcome(o: AskOutcome, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ workflowId: o.workflowId, runId: o.runId, webUi: o.webUi, ...o.result })}\n`);
    return;
  }
  const r = o.result;
  const model = r.simulated ? pc.yellow('simulated model (no ANTHROPIC_API_KEY set; answers come from Braid\'s simulator, not Claude)') : `Claude: ${r.models.join(', ')}`;
  console.log(`\n${pc.bold('Answer')} ${pc.dim(`— ${model}`)}\n${r.answer}\n`);
  const failed = errorsOf(r);
  if (failed.length) console.log(pc.red(`${failed.length} branch(es) failed and were reported to the model as errors:\n  ${failed.join('\n  ')}\n`));
  console.log(timingTable(r));
  if (o.webUi) console.log(`\n${pc.dim('Web UI:')} ${o.webUi}`);
}
