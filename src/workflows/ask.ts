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
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  agentProgressQuery,
  CONTINUE_AS_NEW_AFTER_BYTES,
  CONTINUE_AS_NEW_AFTER_EVENTS,
  DEFAULT_MAX_TURNS,
  MAX_QUESTION_CHARS,
  MAX_TURNS,
  type AgentInput,
  type AgentPhase,
  type AgentResult,
  type AgentStopReason,
} from '../shared/ask';
import { INLINE_MAX_CHARS, type StoredText } from '../shared/blobs';
import { counted, gist, textOf } from '../shared/content';
import { failureMessage, timedOut } from '../shared/failures';
import { addEstimated, costOfUsage } from '../shared/pricing';
import { spendOfFailure } from '../shared/usage';
import { RUN_STATUS } from '../shared/search-attributes';
import { toolBlockReadySignal } from '../shared/stream';
import type { ToolCallResult, ToolResultBlock, ToolUseBlock } from '../shared/types';
import { BranchLog } from './branches';
import { Conversation } from './conversation';
import { EarlyTools } from './early-tools';
import { fanOut } from './fanout';
import { labelled, modelCall, toolCall, workerLookup } from './profiles';
import { RunStatus } from './status';

const meta = proxyActivities<Activities>(labelled(workerLookup, "list the worker's tools"));

function validate(input: AgentInput): Required<Pick<AgentInput, 'question' | 'maxTurns'>> {
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
  return { question, maxTurns };
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

export async function toolAgent(input: AgentInput): Promise<AgentResult> {
  const status = new RunStatus('braid-status-ask');
  return status.around(() => agent(input, status));
}

async function agent(input: AgentInput, status: RunStatus): Promise<AgentResult> {
  const { question, maxTurns } = validate(input);
  // Runs started before large content went by reference keep everything inline, and never continue as new.
  const byReference = patched('ask-by-reference');
  const storeAbove = byReference ? INLINE_MAX_CHARS : undefined;
  const carry = byReference ? input.carry : undefined;
  const role = input.role ?? 'capable';
  const log_ = new BranchLog(carry && { branches: carry.branches, startedAt: carry.startedAt });
  let phase: AgentPhase = 'starting';
  let turn = carry?.turn ?? 0;
  setHandler(agentProgressQuery, () => ({ phase, turn, maxTurns, branches: log_.snapshot() }), {
    description: 'Phase, turn and every branch so far (model turns and tool calls, with times and token usage).',
  });
  const model = role === 'fast' ? 'model (fast)' : 'model';
  const turnOf = () => `**Turn ${turn} of ${maxTurns}**`;

  const tools = carry?.tools ?? (await meta.listTools(input.tools));
  const toolNames = tools.map((t) => t.name);
  const timeouts = new Map(tools.map((t) => [t.name, t.timeoutMs]));
  const conversation = new Conversation(byReference, carry ?? { segments: [], messages: [{ role: 'user', content: question }] });
  const models = new Set<string>(carry?.models);
  let simulated = carry?.simulated ?? false;
  let answer = '';
  let answerStored: StoredText | undefined;
  let stopReason: AgentStopReason = 'max_turns';

  /** One tool call as a branch of the run; a failure or timeout becomes an is_error result. */
  const runOne = async (call: ToolUseBlock, early = false): Promise<Pick<ToolCallResult, 'content' | 'isError' | 'stored'>> => {
    const b = log_.start(call.id, turn, 'tool', call.name);
    const timeoutMs = timeouts.get(call.name);
    if (timeoutMs === undefined) {
      const message = `tool ${call.name} is not available to this agent (offered: ${toolNames.join(', ')})`;
      log_.finish(b, 'error', { error: message });
      return { content: message, isError: true };
    }
    try {
      const r: ToolCallResult = await proxyActivities<Activities>(toolCall(timeoutMs, `${call.name}: ${gist(call.input)}`)).runTool({
        toolUseId: call.id,
        name: call.name,
        input: call.input,
        ...(storeAbove ? { storeAbove } : {}),
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
  const early = patched('ask-early-dispatch') && input.earlyDispatch !== false;
  const dispatch = new EarlyTools((call) => runOne(call, true));
  if (early)
    setHandler(toolBlockReadySignal, (ready) => dispatch.offer(ready), {
      description: 'Sent by the model call: a tool_use block its stream completed, to start that tool before the turn ends.',
    });

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
        },
      };
      await continueAsNew<typeof toolAgent>(next);
    }
    turn++;
    phase = 'thinking';
    status.set(phase, `${turnOf()}: the ${model} is thinking (${toolNames.length} tools offered).`);
    const branch = log_.start(`turn-${turn}/model`, turn, 'llm', model);
    if (early && turn < maxTurns) dispatch.open(turn);
    let res;
    const sent = conversation.request();
    try {
      res = await proxyActivities<Activities>(labelled(modelCall, `turn ${turn}: ${model}`)).llmTurn({
        role,
        system: input.system,
        ...sent,
        tools: toolNames,
        maxTokens: input.maxTokens,
        storeAbove,
        ...(early && turn < maxTurns ? { announceTools: { turn } } : {}),
        // The text as it is written goes to the worker's answer streams for the CLI, never into history.
        streamTo: { branch: `turn-${turn}` },
      });
    } catch (err) {
      if (early) dispatch.discard();
      const spent = spendOfFailure(err);
      if (!isCancellation(err))
        log_.finish(branch, 'error', { error: failureMessage(err), ...(spent.length ? { retriedSpend: spent } : {}) });
      throw err;
    }
    const retried = res.retriedSpend?.length ? { retriedSpend: res.retriedSpend } : {};
    log_.finish(branch, 'ok', { model: res.model, usage: res.usage, attempts: res.attempt, ...retried }, res);
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
    status.set(phase, `${turnOf()}: ${counted(calls.length, 'tool call')} at once${started} — ${calls.map((c) => c.name).join(', ')}.`);
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
  }

  phase = 'done';
  if (stopReason === 'max_turns' && !answer)
    answer = `(no final answer: the agent stopped after ${maxTurns} model turns while still calling tools)`;
  const usage = log_.usage();
  status.set(RUN_STATUS.done, `**Done** after ${counted(turn, 'model turn')} (stop: ${stopReason}): ${gist(answer, 200)}`);
  return {
    answer,
    ...(answerStored ? { answerStored } : {}),
    stopReason,
    turns: turn,
    branches: log_.snapshot(),
    usage,
    cost: addEstimated(
      costOfUsage(usage.byModel, input.prices),
      log_.branches.flatMap((b) => b.retriedSpend ?? []),
      input.prices,
    ),
    timing: log_.timing(),
    simulated,
    models: [...models],
    runs: carry?.runs ?? 1,
  };
}
