/**
 * Pattern 1: the parallel tool-calling agent.
 *
 * Each model turn may ask for several tools at once; they are independent by construction (the
 * model asked for them together), so every call of a turn runs at once as its own activity with its
 * own time budget. Results go back to the model in the model's own order, keyed by tool_use id, and
 * a tool that fails or runs out of time becomes an explicit `is_error` result while its siblings
 * finish: one slow or broken tool costs at most its own budget and never sinks the answer. The
 * loop ends when the model stops asking for tools, or at the max-turns cap.
 *
 * A tool's budget is its scheduleToCloseTimeout — retries included — so a flaky tool is retried
 * inside the budget but a hung one cannot hold the turn longer than the budget says.
 *
 * Long loops stay inside Temporal's limits (runs started before this was patched in go on as they
 * began): tool results and answers above INLINE_MAX_CHARS come back from their activities stored,
 * as references; a large conversation is kept as stored segments (conversation.ts); and between
 * turns a run whose history has grown continues as new, carrying the conversation's references,
 * its branches, usage and timings, so the result and the progress query cover every run.
 *
 * A destructive tool (by its MCP annotations or the MCP config) runs only after a person approves
 * that call, when the run (`approveTools`) or the worker's MCP config (`approve`) allows asking:
 * the call waits at its own gate (tool-approval.ts) while its siblings go on, and a rejection or no
 * decision by the deadline reaches the model as a refusal result. Without that opt-in the tool
 * activity refuses the call at once, as before.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  agentProgressQuery,
  agentSpendSignal,
  CONTINUE_AS_NEW_AFTER_BYTES,
  CONTINUE_AS_NEW_AFTER_EVENTS,
  DEFAULT_HEDGE_MIN_SAMPLES,
  DEFAULT_MAX_TURNS,
  DEFAULT_TOOL_APPROVAL_MS,
  hedgeProblem,
  MAX_HEDGE_RATE,
  firstTurnInputBound,
  MAX_QUESTION_CHARS,
  MAX_TOOL_APPROVAL_MS,
  MAX_TURNS,
  type AgentInput,
  type AgentPhase,
  type AgentResult,
  type AgentSpend,
  type AgentStopReason,
  type HedgingReport,
} from '../shared/ask';
import { INLINE_MAX_CHARS, type StoredText } from '../shared/blobs';
import { counted, gist, textOf } from '../shared/content';
import { failureMessage, timedOut } from '../shared/failures';
import { addEstimated, costOfUsage, emptyCost, formatUsd } from '../shared/pricing';
import { BUDGET_REACHED, budgetSettingProblem, worstCaseUsd } from '../shared/budget';
import { AWAITING_APPROVAL, type Decision } from '../shared/publish';
import { noUsageSummary, spendOfFailure, type PartialSpend } from '../shared/usage';
import { RUN_STATUS } from '../shared/search-attributes';
import { toolBlockReadySignal } from '../shared/stream';
import type { Branch, ChatMessage, LlmResult, TokenUsage, ToolCallResult, ToolInfo, ToolResultBlock, ToolUseBlock } from '../shared/types';
import { BranchLog } from './branches';
import { budgetModel, budgeted, isBudgetStop, RunBudget } from './budget';
import { Conversation } from './conversation';
import { EarlyTools } from './early-tools';
import { fanOut } from './fanout';
import { labelled, modelCall, toolCall, workerLookup } from './profiles';
import { Hedger, type HedgedCall } from './hedge';
import { cancellable, Spend } from './race';
import { RunStatus } from './status';
import { ToolApprovals } from './tool-approval';

const listing = labelled(workerLookup, "list the worker's tools");
const meta = proxyActivities<Activities>(listing);
// The tool list is a read of the worker's memory (MCP servers' tools were listed when it started):
// as a local activity it runs inside the run's first workflow task instead of costing a round trip
// through the server (~35 ms before the first model call); its result is still recorded in history.
const metaHere = proxyLocalActivities<Activities>(listing);
const latency = proxyActivities<Activities>(labelled(workerLookup, "the worker's recent model latencies, for hedging"));

function validate(input: AgentInput): Required<Pick<AgentInput, 'question' | 'maxTurns' | 'approvalTimeoutMs'>> {
  const question = typeof input?.question === 'string' ? input.question.trim() : '';
  if (!question) throw ApplicationFailure.nonRetryable('the question is empty', 'InvalidInput');
  if (question.length > MAX_QUESTION_CHARS)
    throw ApplicationFailure.nonRetryable(
      `the question is ${question.length} characters; the limit is ${MAX_QUESTION_CHARS}`,
      'InvalidInput',
    );
  const maxTurns = input.maxTurns ?? DEFAULT_MAX_TURNS;
  if (!Number.isInteger(maxTurns) || maxTurns < 1 || maxTurns > MAX_TURNS) {
    throw ApplicationFailure.nonRetryable(
      `maxTurns must be a whole number from 1 to ${MAX_TURNS}, got ${String(maxTurns)}`,
      'InvalidInput',
    );
  }
  const approvalTimeoutMs = input.approvalTimeoutMs ?? DEFAULT_TOOL_APPROVAL_MS;
  if (!Number.isInteger(approvalTimeoutMs) || approvalTimeoutMs < 1 || approvalTimeoutMs > MAX_TOOL_APPROVAL_MS) {
    throw ApplicationFailure.nonRetryable(
      `approvalTimeoutMs must be a whole number of milliseconds from 1 to ${MAX_TOOL_APPROVAL_MS}, got ${String(approvalTimeoutMs)}`,
      'InvalidInput',
    );
  }
  const hedge = input.hedge && hedgeProblem(input.hedge);
  if (hedge) throw ApplicationFailure.nonRetryable(hedge, 'InvalidInput');
  if (input.budget) {
    const problem = budgetSettingProblem(input.budget, input.prices);
    if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidInput');
  }
  if (input.hedge && input.budget)
    throw ApplicationFailure.nonRetryable(
      'hedge and budget cannot be combined yet: a hedge’s second call reserves nothing',
      'InvalidInput',
    );
  return { question, maxTurns, approvalTimeoutMs };
}

/** Characters of messages as sent: their JSON, and the whole length of content stored by reference. */
function messageChars(messages: readonly ChatMessage[]): number {
  let n = JSON.stringify(messages).length;
  for (const m of messages)
    if (typeof m.content !== 'string') for (const b of m.content) if ('stored' in b && b.stored) n += b.stored.chars;
  return n;
}

/** Whether a call of `tool` waits for a person's approval (rather than being refused by the tool activity, or run). */
function asksApproval(tool: ToolInfo | undefined, input: AgentInput): boolean {
  return tool?.annotations?.destructive === true && (tool.annotations.approve === true || (input.approveTools ?? []).includes(tool.name));
}

/** What the model reads when a person rejected a call, or no one decided in time. */
function refusedText(name: string, d: Decision): string {
  if (d.via === 'deadline') return `ToolRefused: no one approved this call of ${name} in time (${d.reason}); it was not run.`;
  return `ToolRefused: ${d.reviewer} rejected this call of ${name}: ${d.reason ?? 'no reason given'}; it was not run.`;
}

function toolFailure(err: unknown, name: string, timeoutMs: number): { status: 'error' | 'timeout'; message: string } {
  if (timedOut(err)) return { status: 'timeout', message: `tool ${name} timed out after ${timeoutMs} ms` };
  return { status: 'error', message: `tool ${name} failed: ${failureMessage(err)}` };
}

/** Whether a run should hand over to a new one before its next turn. */
function historyIsLong(input: AgentInput): boolean {
  const info = workflowInfo();
  return (
    info.continueAsNewSuggested ||
    info.historyLength > (input.continueAsNewAfterEvents ?? CONTINUE_AS_NEW_AFTER_EVENTS) ||
    info.historySize > CONTINUE_AS_NEW_AFTER_BYTES
  );
}

/** What the run has spent so far, for a parent that cancels it (`reportSpendOnCancel`). */
interface Spent {
  log?: BranchLog;
  /** Model calls cut by a cancellation: what they streamed before it. */
  cut: PartialSpend[];
}

export async function toolAgent(input: AgentInput): Promise<AgentResult> {
  const status = new RunStatus('braid-status-ask');
  const spent: Spent = { cut: [] };
  try {
    return await status.around(() => agent(input, status, spent));
  } catch (err) {
    if (input.reportSpendOnCancel && isCancellation(err)) await reportSpend(spent);
    throw err;
  }
}

/**
 * Tells the parent what this cancelled run had spent, before the run ends as cancelled (a workflow's
 * cancellation carries no details): the signal is in the parent's history before the child's end, so
 * the parent charges it, the same on replay. A parent that is gone is not an error of this run.
 */
async function reportSpend(spent: Spent): Promise<void> {
  const parent = workflowInfo().parent;
  if (!parent) return;
  const report: AgentSpend = {
    usage: spent.log?.usage() ?? noUsageSummary(),
    estimated: [...(spent.log?.branches ?? []).flatMap((b) => b.retriedSpend ?? []), ...spent.cut],
  };
  await CancellationScope.nonCancellable(async () => {
    try {
      await getExternalWorkflowHandle(parent.workflowId, parent.runId).signal(agentSpendSignal, report);
    } catch (err) {
      log.warn('could not report the spend of a cancelled agent to its parent', { parent: parent.workflowId, error: failureMessage(err) });
    }
  });
}

async function agent(input: AgentInput, status: RunStatus, spent: Spent): Promise<AgentResult> {
  const { question, maxTurns, approvalTimeoutMs } = validate(input);
  // Runs started before large content went by reference keep everything inline, and never continue as new.
  const byReference = patched('ask-by-reference');
  const storeAbove = byReference ? INLINE_MAX_CHARS : undefined;
  const carry = byReference ? input.carry : undefined;
  const role = input.role ?? 'capable';
  const log_ = new BranchLog(carry && { branches: carry.branches, startedAt: carry.startedAt });
  spent.log = log_;
  let phase: AgentPhase = 'starting';
  let turn = carry?.turn ?? 0;
  const approvals = new ToolApprovals(input.reviewers ?? [], () => (phase === 'tools' ? 'running tools' : phase), carry?.approvals);
  const approvalList = () => {
    const list = approvals.list();
    return list.length ? { approvals: list } : {};
  };
  setHandler(agentProgressQuery, () => ({ phase, turn, maxTurns, branches: log_.snapshot(), ...approvalList() }), {
    description:
      'Phase, turn, every branch so far (model turns and tool calls, with times and token usage), and tool calls awaiting approval.',
  });
  const model = role === 'fast' ? 'model (fast)' : 'model';
  const turnOf = () => `**Turn ${turn} of ${maxTurns}**`;

  const tools = carry?.tools ?? (await (patched('ask-tools-listed-locally') ? metaHere : meta).listTools(input.tools));
  const toolNames = tools.map((t) => t.name);
  const timeouts = new Map(tools.map((t) => [t.name, t.timeoutMs]));
  const toolInfo = new Map(tools.map((t) => [t.name, t]));
  const notOffered = (input.approveTools ?? []).filter((n) => !toolInfo.has(n));
  if (notOffered.length)
    throw ApplicationFailure.nonRetryable(
      `approveTools names ${notOffered.join(', ')}, not among the tools this run offers (${toolNames.join(', ')})`,
      'InvalidInput',
    );
  const conversation = new Conversation(byReference, carry ?? { segments: [], messages: [{ role: 'user', content: question }] });
  const models = new Set<string>(carry?.models);
  let simulated = carry?.simulated ?? false;
  let answer = '';
  let answerStored: StoredText | undefined;
  let stopReason: AgentStopReason = 'max_turns';
  const costSoFar = () =>
    addEstimated(
      costOfUsage(log_.usage().byModel, input.prices),
      log_.branches.flatMap((b) => b.retriedSpend ?? []),
      input.prices,
    );
  // With a budget, each turn reserves its worst case first; the spend of earlier runs (continued as new) counts.
  const budget = input.budget
    ? new RunBudget(input.budget.usd, input.budget.inFlight, input.prices, carry ? costSoFar().totalUsd : 0)
    : undefined;
  const maxTokens = input.maxTokens ?? input.budget?.maxTokens;
  // A bound on what the last turn sent, in this run, and the characters added to the conversation since.
  let sentBound: number | undefined;
  let addedChars = 0;
  const turnWorstUsd = (messages: readonly ChatMessage[]): number => {
    const last = [...log_.branches].reverse().find((b) => b.kind === 'llm' && b.usage)?.usage;
    let tokens: number;
    if (sentBound !== undefined && last) tokens = sentBound + last.outputTokens + addedChars + 100;
    else if (last)
      // A run continued as new: what the last turn read and wrote, and the messages not stored since.
      tokens =
        last.inputTokens + (last.cacheReadTokens ?? 0) + (last.cacheWriteTokens ?? 0) + last.outputTokens + messageChars(messages) + 200;
    else tokens = firstTurnInputBound(input.system, messages, tools) + messageChars(messages) - JSON.stringify(messages).length;
    sentBound = tokens;
    addedChars = 0;
    return worstCaseUsd(budgetModel(role, input.budget!.models), tokens, maxTokens!, input.prices)!;
  };

  /** One tool call as a branch of the run; a failure or timeout becomes an is_error result. */
  // The turn's tool line in the Web UI, and the one shown while calls wait for a person's approval.
  let toolsLine = '';
  const waitingLine = () => {
    const waiting = approvals.list().filter((a) => a.state === 'waiting');
    return [
      `${turnOf()}: **awaiting approval** of ${counted(waiting.length, 'tool call')} — ${waiting.map((a) => `${a.tool} (\`${a.toolUseId}\`) until ${a.decideBy}`).join(', ')}.`,
      `Decide with \`braid approve ${workflowInfo().workflowId} --call <id>\` or \`braid reject … --call <id> --reason "…"\`, or *Send an Update* → \`decide\` with \`{"verdict":"approve","reviewer":"<name>","toolUseId":"<id>"}\`.`,
    ].join('\n\n');
  };
  const runOne = async (call: ToolUseBlock, early = false): Promise<Pick<ToolCallResult, 'content' | 'isError' | 'stored'>> => {
    const b = log_.start(call.id, turn, 'tool', call.name);
    const timeoutMs = timeouts.get(call.name);
    if (timeoutMs === undefined) {
      const message = `tool ${call.name} is not available to this agent (offered: ${toolNames.join(', ')})`;
      log_.finish(b, 'error', { error: message });
      return { content: message, isError: true };
    }
    let approved: Decision | undefined;
    // Runs that began before calls could be approved refuse every destructive call in the tool activity.
    // Destructive tools are never started early (see the toolBlockReady handler), so this is after the turn.
    if (asksApproval(toolInfo.get(call.name), input) && patched('ask-tool-approval')) {
      const deciding = approvals.decide(call, turn, approvalTimeoutMs);
      status.set(AWAITING_APPROVAL, waitingLine());
      const decision = await deciding;
      if (approvals.waiting() > 0) status.details(waitingLine());
      else status.set(phase, toolsLine);
      if (decision.verdict !== 'approve') {
        const message = refusedText(call.name, decision);
        log_.finish(b, 'error', { error: message });
        return { content: message, isError: true };
      }
      approved = decision;
    }
    try {
      const r: ToolCallResult = await proxyActivities<Activities>(toolCall(timeoutMs, `${call.name}: ${gist(call.input)}`)).runTool({
        toolUseId: call.id,
        name: call.name,
        input: call.input,
        ...(storeAbove ? { storeAbove } : {}),
        ...(approved ? { approvedBy: { reviewer: approved.reviewer, at: approved.at } } : {}),
      });
      log_.finish(b, r.timedOut ? 'timeout' : r.isError ? 'error' : 'ok', r.isError ? { error: r.content } : {}, r);
      return r;
    } catch (err) {
      if (isCancellation(err)) {
        if (early) log_.finish(b, 'error', { error: `tool ${call.name} was cancelled before its result was used` });
        throw err;
      }
      const f = toolFailure(err, call.name, timeoutMs);
      log_.finish(b, f.status, { error: f.message });
      log.warn('tool branch failed', { tool: call.name, toolUseId: call.id, status: f.status });
      return { content: f.message, isError: true };
    }
  };
  // Early tool dispatch (runs started before it was patched in start every tool after the whole turn).
  // A hedged turn has two streams, so tools wait for the winner's whole turn.
  const early = patched('ask-early-dispatch') && input.earlyDispatch !== false && !input.hedge;
  const dispatch = new EarlyTools((call) => runOne(call, true));
  if (early)
    setHandler(
      toolBlockReadySignal,
      // A destructive tool never starts before its turn is whole: it may wait for a person, and a
      // retried stream must not leave it having acted for a call the history does not hold.
      (ready) => {
        if (toolInfo.get(ready.block.name)?.annotations?.destructive !== true) dispatch.offer(ready);
      },
      {
        description: 'Sent by the model call: a tool_use block its stream completed, to start that tool before the turn ends.',
      },
    );

  // Hedged turns (opt-in): the threshold starts from the worker's recent durations; the worker caps the hedges.
  let hedger: Hedger | undefined;
  let hedging: HedgingReport | undefined;
  const hedgeLost: PartialSpend[] = [];
  if (input.hedge) {
    hedger = new Hedger({
      maxRate: input.hedge.maxRate ?? MAX_HEDGE_RATE,
      minSamples: input.hedge.minSamples ?? DEFAULT_HEDGE_MIN_SAMPLES,
      ...(input.hedge.model ? { hedgeModel: input.hedge.model } : {}),
      cap: 'worker',
    });
    hedger.seed(role, (await latency.modelLatency({ keys: [role] }))[role] ?? []);
    hedging = { calls: 0, hedged: 0, wonByHedge: 0, refused: 0, lostUsd: 0 };
  }

  while (turn < maxTurns) {
    if (byReference && turn > (carry?.turn ?? 0) && historyIsLong(input)) {
      await condition(allHandlersFinished);
      const next: AgentInput = {
        ...input,
        carry: {
          turn,
          ...conversation.state(),
          tools,
          branches: log_.branches,
          startedAt: log_.startedAt,
          models: [...models],
          simulated,
          runs: (carry?.runs ?? 1) + 1,
          ...approvalList(),
        },
      };
      await continueAsNew<typeof toolAgent>(next);
    }
    turn++;
    phase = 'thinking';
    status.set(phase, `${turnOf()}: the ${model} is thinking (${toolNames.length} tools offered).`);
    // The turn's branch, once its call starts (a turn the budget does not start has none).
    const turnCall: { branch?: Branch } = {};
    let hedged: HedgedCall | undefined;
    const sent = conversation.request();
    const send = async (maxUsd?: number): Promise<LlmResult> => {
      turnCall.branch = log_.start(`turn-${turn}/model`, turn, 'llm', model);
      if (early && turn < maxTurns) dispatch.open(turn);
      // A run its parent may cancel waits for a cancelled call to stop, so the call's streamed spend is known.
      const options = labelled(budget ? budgeted(modelCall) : modelCall, `turn ${turn}: ${model}`);
      const request = {
        role,
        system: input.system,
        ...sent,
        tools: toolNames,
        maxTokens,
        storeAbove,
        ...(early && turn < maxTurns ? { announceTools: { turn } } : {}),
        // The text as it is written goes to the worker's answer streams for the CLI, never into history.
        streamTo: { branch: `turn-${turn}` },
        // Each turn's prompt is the next one's prefix: cached once long enough.
        cacheConversation: true,
        ...(maxUsd !== undefined ? { maxUsd } : {}),
      };
      if (hedger) {
        hedged = await hedger.call(new Spend(), options, request);
        return hedged.result;
      }
      return proxyActivities<Activities>(input.reportSpendOnCancel ? cancellable(options) : options).llmTurn(request);
    };
    let res: LlmResult;
    try {
      res = budget ? await budget.call(turnWorstUsd(sent.messages), send) : await send();
    } catch (err) {
      if (early) dispatch.discard();
      const failedSpend = spendOfFailure(err);
      if (isCancellation(err)) spent.cut.push(...failedSpend);
      else if (turnCall.branch)
        log_.finish(turnCall.branch, 'error', { error: failureMessage(err), ...(failedSpend.length ? { retriedSpend: failedSpend } : {}) });
      if (budget && isBudgetStop(err)) {
        // Not started (the turn did not count), or stopped by the activity before its stream passed the reservation.
        budget.ledger.reached = true;
        if (!turnCall.branch) turn--;
        stopReason = 'budget';
        break;
      }
      throw err;
    }
    const branch = turnCall.branch!;
    // A hedged turn's losing twin is charged like a cancelled attempt: what it streamed, estimated.
    const lost = hedged?.lost ? Object.entries(hedged.lost.usage.byModel).map(([m, usage]) => cutSpend(m, usage, hedged!.lost!.ms)) : [];
    hedgeLost.push(...lost);
    const spentBefore = [...(res.retriedSpend ?? []), ...lost];
    const retried = spentBefore.length ? { retriedSpend: spentBefore } : {};
    const hedgeNote = hedged?.hedged
      ? { name: `${branch.name} · hedged, ${hedged.winner === 'hedge' ? 'the hedge' : 'the first call'} won` }
      : {};
    if (hedging && hedged) {
      hedging.calls++;
      if (hedged.hedged) hedging.hedged++;
      if (hedged.winner === 'hedge') hedging.wonByHedge++;
      if (hedged.refused) hedging.refused++;
    }
    log_.finish(branch, 'ok', { model: res.model, usage: res.usage, attempts: res.attempt, ...retried, ...hedgeNote }, res);
    models.add(res.model);
    simulated ||= res.simulated;
    conversation.settle(sent, res);
    conversation.push({ role: 'assistant', content: res.content });
    answer = textOf(res.content);
    answerStored = res.storedText;
    if (res.stopReason !== 'tool_use') {
      if (early) dispatch.discard();
      stopReason = res.stopReason as AgentStopReason;
      break;
    }
    if (turn === maxTurns) break;

    phase = 'tools';
    const calls = res.content.filter((b): b is ToolUseBlock => b.type === 'tool_use');
    const started = early && dispatch.count > 0 ? ` (${dispatch.count} started while the model wrote)` : '';
    toolsLine = `${turnOf()}: ${counted(calls.length, 'tool call')} at once${started} — ${calls.map((c) => c.name).join(', ')}.`;
    status.set(phase, toolsLine);
    const reused = early ? dispatch.settle(calls) : [];
    const settled = await fanOut(calls, (call, i) => reused[i] ?? runOne(call));
    // fanOut keeps input order, so results follow the model's tool_use order, keyed by id.
    const results: ToolResultBlock[] = calls.map((call, i) => {
      const s = settled[i]!;
      const r: Pick<ToolCallResult, 'content' | 'isError' | 'stored'> = s.ok
        ? s.value
        : { content: `tool ${call.name} failed: ${String(s.error)}`, isError: true };
      return {
        type: 'tool_result',
        tool_use_id: call.id,
        content: r.content,
        ...(r.isError ? { is_error: true } : {}),
        ...(r.stored ? { stored: r.stored } : {}),
      };
    });
    conversation.push({ role: 'user', content: results });
    addedChars += messageChars([{ role: 'user', content: results }]);
  }

  phase = 'done';
  if (stopReason === 'max_turns' && !answer)
    answer = `(no final answer: the agent stopped after ${maxTurns} model turns while still calling tools)`;
  const usage = log_.usage();
  const cost = costSoFar();
  const report = budget?.report();
  if (stopReason === 'budget') {
    const line = `budget reached (${formatUsd(report!.spentUsd)} spent of ${formatUsd(report!.usd)}) before model turn ${turn + 1}`;
    if (!answer) answer = `(no final answer: ${line})`;
    status.set(BUDGET_REACHED, `**Budget reached** after ${counted(turn, 'model turn')}: ${line.replace(/^budget reached /, '')}.`);
  } else status.set(RUN_STATUS.done, `**Done** after ${counted(turn, 'model turn')} (stop: ${stopReason}): ${gist(answer, 200)}`);
  return {
    answer,
    ...(answerStored ? { answerStored } : {}),
    stopReason,
    turns: turn,
    branches: log_.snapshot(),
    usage,
    cost,
    timing: log_.timing(),
    simulated,
    models: [...models],
    runs: carry?.runs ?? 1,
    ...approvalList(),
    ...(hedging ? { hedging: { ...hedging, lostUsd: addEstimated(emptyCost(), hedgeLost, input.prices).totalUsd } } : {}),
    ...(stopReason === 'budget' ? { status: BUDGET_REACHED } : {}),
    ...(report ? { budget: report } : {}),
  };
}

/** A cut stream's spend, as the model activity reports a cancelled call's. */
const cutSpend = (model: string, usage: TokenUsage, streamedMs: number): PartialSpend => ({ model, usage, estimated: true, streamedMs });
