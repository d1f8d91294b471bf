/**
 * `braid ask`: starts the tool-calling agent workflow, shows its branches live through the progress
 * query and the answer's text as the model writes it (src/cli/stream.ts), and prints the answer,
 * the timing table and the Web UI link. Ctrl-C detaches — the run is
 * durable and goes on in Temporal — rather than cancelling it. An answer too large for a payload
 * comes back stored; it is read from the blob store, which the CLI shares with the workers.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { Command, InvalidArgumentError } from 'commander';
import pc from 'picocolors';
import {
  agentProgressQuery,
  askLabels,
  ASK_WORKFLOW,
  DEFAULT_HEDGE_MIN_SAMPLES,
  DEFAULT_MAX_TURNS,
  hedgeProblem,
  MAX_HEDGE_RATE,
  MAX_QUESTION_CHARS,
  MAX_TOOL_APPROVAL_MS,
  MAX_TURNS,
  type AgentInput,
  type AgentResult,
  type AskHedge,
  type HedgingReport,
} from '../shared/ask';
import { formatUsd } from '../shared/pricing';
import { config } from '../config';
import { webUiLink, type Target } from '../temporal/connection';
import type { toolAgent } from '../workflows';
import { BUDGET_REACHED } from '../shared/budget';
import { budgetSetting } from './budget';
import { BUDGET_REACHED_EXIT, UsageError } from './errors';
import { duration, intIn, list, usd } from './options';
import { budgetText, errorsOf, LiveBlock, progressLines, SIMULATED_LABEL, timingTable } from './render';
import { announceRun, followRun, newRunId, startRun, withSession, workerFor, type Session } from './session';
import { readStored } from './stored';
import { followStream } from './stream';
import { speculate, parseStrategies } from './speculate';
import { speculateProblem, VALIDATORS, type SpeculateInput, type ValidatorName } from '../shared/speculate';

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

/** The question, checked as the workflow will check it; a bad one is a usage error before anything starts. */
function checkedQuestion(text: string): string {
  const question = text.trim();
  if (!question) throw new UsageError('the question is empty: braid ask "<question>"');
  if (question.length > MAX_QUESTION_CHARS)
    throw new UsageError(`the question is ${question.length} characters; the limit is ${MAX_QUESTION_CHARS}`);
  return question;
}

export async function ask(s: Session, opts: AskOptions): Promise<AskOutcome> {
  const input: AgentInput = {
    question: checkedQuestion(opts.question),
    maxTurns: opts.maxTurns,
    tools: opts.tools,
    role: opts.role,
    system: opts.system,
    maxTokens: opts.maxTokens,
    prices: { ...config().prices },
    ...(opts.approveTools?.length ? { approveTools: opts.approveTools } : {}),
    ...(opts.approvalTimeoutMs !== undefined ? { approvalTimeoutMs: opts.approvalTimeoutMs } : {}),
    ...(opts.hedge ? { hedge: opts.hedge } : {}),
    ...(opts.budget ? { budget: opts.budget } : {}),
  };
  const handle = await startRun<typeof toolAgent>(s, ASK_WORKFLOW, {
    workflowId: opts.workflowId ?? newRunId('ask'),
    args: [input],
    kind: 'ask',
    labels: askLabels(input),
  });
  return followAgent(handle, s.target, Boolean(opts.json), s.taskQueue);
}

/** The result with a stored answer read back from the blob store, whole. */
async function withWholeAnswer(result: AgentResult): Promise<AgentResult> {
  return result.answerStored ? { ...result, answer: await readStored(result.answerStored, 'the answer') } : result;
}

/** Shows a running agent's branches live until it ends; Ctrl-C detaches. */
export async function followAgent(
  handle: WorkflowHandle<typeof toolAgent>,
  target: Target,
  json: boolean,
  taskQueue?: string,
): Promise<AskOutcome> {
  const runId = 'firstExecutionRunId' in handle ? String(handle.firstExecutionRunId) : undefined;
  const webUi = webUiLink(handle.workflowId, runId, target);
  const live = json ? undefined : new LiveBlock();
  if (!json) announceRun(handle.workflowId, webUi);
  const told = new Set<string>();
  const tick = async (l: LiveBlock) => {
    const progress = await handle.query(agentProgressQuery);
    for (const a of progress.approvals ?? []) {
      if (a.state !== 'waiting' || told.has(a.toolUseId)) continue;
      told.add(a.toolUseId);
      l.note(
        pc.yellow(
          `${a.tool} ${a.input} awaits approval until ${a.decideBy}: braid approve ${handle.workflowId} --call ${a.toolUseId}  (or braid reject … --reason "…")`,
        ),
      );
    }
    l.update(progressLines(progress));
  };

  // The answer as it is written, from the run's answer streams (never from its history); none with --json.
  const streamed = live ? followStream(handle.workflowId, (line) => live.note(line)) : undefined;
  let result: AgentResult;
  try {
    result = await followRun(handle, {
      tick: live ? () => tick(live) : undefined,
      stop: () => live?.clear(),
      detachHint: `the run goes on in Temporal: ${handle.workflowId}${webUi ? ` — ${webUi}` : ''}`,
      taskQueue,
      ...(live ? { say: (line: string) => live.note(pc.yellow(line)) } : {}),
    });
  } finally {
    await streamed?.stop();
  }
  return { workflowId: handle.workflowId, runId: runId ?? '', webUi, result: await withWholeAnswer(result) };
}

export function printOutcome(o: AskOutcome, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ workflowId: o.workflowId, runId: o.runId, webUi: o.webUi, ...o.result })}\n`);
    return;
  }
  const r = o.result;
  const model = r.simulated ? pc.yellow(SIMULATED_LABEL) : `Claude: ${r.models.join(', ')}`;
  console.log(`\n${pc.bold('Answer')} ${pc.dim(`— ${model}`)}\n${r.answer}\n`);
  const failed = errorsOf(r);
  if (failed.length)
    console.log(pc.red(`${failed.length} branch(es) failed and were reported to the model as errors:\n  ${failed.join('\n  ')}\n`));
  console.log(timingTable(r));
  if (r.hedging) console.log(hedgingLine(r.hedging));
  if (r.status === BUDGET_REACHED && r.budget) console.log(pc.yellow(`\n${budgetText(r.budget)}.`));
  if (o.webUi) console.log(`\n${pc.dim('Web UI:')} ${o.webUi}`);
}

/** What hedging did, in one line. */
export function hedgingLine(h: HedgingReport): string {
  const refused = h.refused ? `, ${h.refused} not hedged: the worker's hedge budget was spent` : '';
  const lost = h.lostUsd > 0 ? `; the cut twins cost ${formatUsd(h.lostUsd)} (est.)` : '';
  return `hedging: ${h.hedged} of ${h.calls} model turns hedged, ${h.wonByHedge} won by the hedge${refused}${lost}`;
}

/** `--hedge 5%` or `--hedge 0.05`: the share of calls that may be hedged, at most MAX_HEDGE_RATE. */
function hedgeShare(value: string): number {
  const n = value.endsWith('%') ? Number(value.slice(0, -1)) / 100 : Number(value);
  if (!(n > 0 && n <= MAX_HEDGE_RATE))
    throw new InvalidArgumentError(`expected a share of calls above 0 and at most ${MAX_HEDGE_RATE * 100}% (e.g. 5% or 0.05)`);
  return n;
}

/** The hedge setting from `--hedge [share]` and `--hedge-model`; UsageError when it does not hold. */
export function hedgeOption(o: { hedge?: number | true; hedgeModel?: string }): AskHedge | undefined {
  if (o.hedge === undefined) {
    if (o.hedgeModel !== undefined) throw new UsageError('--hedge-model applies with --hedge only');
    return undefined;
  }
  const hedge: AskHedge = {
    ...(typeof o.hedge === 'number' ? { maxRate: o.hedge } : {}),
    ...(o.hedgeModel ? { model: o.hedgeModel } : {}),
  };
  const problem = hedgeProblem(hedge);
  if (problem) throw new UsageError(problem);
  return hedge;
}

interface AskCliOptions {
  json?: boolean;
  maxTurns: number;
  tools?: string[];
  fast?: boolean;
  id?: string;
  withWorker?: boolean;
  speculate?: string | true;
  approveTools?: string[];
  approvalTimeout?: number;
  validator?: string;
  hedge?: number | true;
  hedgeModel?: string;
  budget?: number;
}

export function askCommand(): Command {
  return new Command('ask')
    .description('ask the tool-calling agent a question; its tool calls run in parallel')
    .argument('<question...>', 'the question (quote it)')
    .option('--json', 'print one JSON object with the answer, branches, timings, usage and cost')
    .option('--max-turns <n>', `model turns before the agent must stop (1-${MAX_TURNS})`, intIn(1, MAX_TURNS), DEFAULT_MAX_TURNS)
    .option('--tools <names>', 'comma-separated tools to offer (default: all)', list)
    .option('--fast', 'use the fast model role instead of the capable one')
    .option('--id <workflowId>', 'workflow id for the run (default: generated)')
    .option('--with-worker', 'run a worker inside this command (otherwise a `braid worker` must be running)')
    .option(
      '--approve-tools <names>',
      'comma-separated destructive tools whose calls wait for a person (braid approve <id> --call <toolUseId>) instead of being refused',
      list,
    )
    .option('--approval-timeout <duration>', 'how long such a call waits before it is refused (90s, 15m, 2h; default 10m)', duration)
    .option(
      '--budget <usd>',
      'most the run may spend, in US dollars: a model turn whose worst case would pass it does not start (exit code 3 when reached)',
      usd,
    )
    .option(
      '--speculate [strategies]',
      'race strategies, staggered, first valid answer wins: name=ms,… of cache, fast, retrieval, agent (default cache=0,fast=50,agent=200)',
    )
    .option(
      '--validator <name>',
      `with --speculate: what makes an answer valid — ${VALIDATORS.join(' or ')} (judge: the fast model approves it too); default non-empty`,
    )
    .option(
      '--hedge [share]',
      `hedge slow model turns: past the worker's recent p95 for the model (after ${DEFAULT_HEDGE_MIN_SAMPLES} calls) a turn starts one twin, the first answer wins; at most this share of the worker's calls (default and most ${MAX_HEDGE_RATE * 100}%)`,
      hedgeShare,
    )
    .option('--hedge-model <model>', 'with --hedge: send the twin to this model (a role or model id) instead of the same one')
    .action(async (words: string[], o: AskCliOptions) => {
      const question = checkedQuestion(words.join(' '));
      const hedge = hedgeOption(o);
      const notOffered = o.tools ? (o.approveTools ?? []).filter((t) => !o.tools!.includes(t)) : [];
      if (notOffered.length)
        throw new UsageError(`--approve-tools names ${notOffered.join(', ')}, not among --tools ${o.tools!.join(',')}`);
      if (o.approvalTimeout !== undefined && !(o.approvalTimeout >= 1 && o.approvalTimeout <= MAX_TOOL_APPROVAL_MS))
        throw new UsageError(`--approval-timeout must be from 1 ms to ${MAX_TOOL_APPROVAL_MS / 3_600_000} h`);
      if (o.speculate !== undefined && (o.approveTools || o.approvalTimeout !== undefined))
        throw new UsageError('--approve-tools and --approval-timeout apply to the agent, not to --speculate');
      if (o.validator !== undefined && o.speculate === undefined) throw new UsageError('--validator applies to --speculate only');
      if (o.budget !== undefined && o.speculate !== undefined)
        throw new UsageError('--budget applies to the agent, not to --speculate yet');
      if (o.budget !== undefined && hedge)
        throw new UsageError('--budget and --hedge cannot be combined yet: a hedge’s second call reserves nothing');
      const budget = budgetSetting(o.budget, undefined);
      if (o.speculate !== undefined) {
        const strategies = parseStrategies(o.speculate === true ? undefined : o.speculate);
        const input: SpeculateInput = {
          question,
          strategies,
          maxTurns: o.maxTurns,
          ...(o.tools ? { tools: o.tools } : {}),
          ...(o.validator !== undefined ? { validator: o.validator as ValidatorName } : {}),
          ...(hedge ? { hedge } : {}),
        };
        const problem = speculateProblem(input);
        if (problem) throw new UsageError(problem);
        await withSession(workerFor(o.withWorker), (s) => speculate(s, input, { json: Boolean(o.json), workflowId: o.id }));
        return;
      }
      await withSession(workerFor(o.withWorker), async (s) => {
        const opts = {
          question,
          maxTurns: o.maxTurns,
          tools: o.tools,
          json: o.json,
          workflowId: o.id,
          approveTools: o.approveTools,
          approvalTimeoutMs: o.approvalTimeout,
          hedge,
          ...(budget ? { budget } : {}),
        };
        const outcome = await ask(s, { ...opts, role: o.fast ? 'fast' : 'capable' });
        printOutcome(outcome, Boolean(o.json));
        if (outcome.result.status === BUDGET_REACHED) process.exitCode = BUDGET_REACHED_EXIT;
      });
    });
}
