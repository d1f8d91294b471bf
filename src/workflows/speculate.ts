/**
 * Pattern: speculative execution (`braid ask --speculate`) — one question, several ways to answer
 * it, started staggered: the answer cache at once, the fast model alone (or from one search's top
 * hits: `retrieval`) a moment later, the full tool agent after that. The first answer the validator
 * (`non-empty`, or `judge`: the fast model approves it too) accepts wins; the others are cancelled
 * and really stop (the fast model's stream is aborted through its activity's heartbeat; the agent
 * child and its activities are cancelled), and what they spent up to the cut is charged to the run
 * — the fast model's streamed spend as estimated, and the agent's, which the cancelled child reports
 * by signal (`agentSpendSignal`): its finished turns as billed, its cut stream as estimated. A
 * winner that did not come from the cache is stored in it, keyed by the normalised question, the
 * tools offered and their data versions, for the next run.
 *
 * The race is race.ts (a quorum with K = 1): which strategy won is decided from events in history,
 * so it is the same on replay. Strategy activities and the child carry ids that name the strategy
 * (`strategy:cache`, `strategy:fast`, `<run>/agent`): a change of strategies, their order or their
 * stagger is a different command sequence, which the replay test catches.
 */
import { ApplicationFailure, executeChild, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  FAST_SYSTEM,
  JUDGE_MAX_TOKENS,
  JUDGE_SYSTEM,
  judgeRequest,
  readJudgement,
  RETRIEVAL_SYSTEM,
  retrievalRequest,
} from '../prompts/speculate';
import { agentSpendSignal } from '../shared/ask';
import { textOf } from '../shared/content';
import { RUN_STATUS } from '../shared/search-attributes';
import {
  DEFAULT_CACHE_TTL_MS,
  DEFAULT_RETRIEVAL_SOURCE,
  DEFAULT_STRATEGIES,
  FAST_MAX_TOKENS,
  RETRIEVAL_HITS,
  RETRIEVAL_TIMEOUT_MS,
  speculateProblem,
  speculateProgressQuery,
  type SpeculateInput,
  type SpeculateProgress,
  type SpeculateResult,
  type StrategyName,
  type StrategyReport,
} from '../shared/speculate';
import { toolAgent } from './ask';
import { labelled, modelCall, sideEffect, toolCall, workerLookup } from './profiles';
import { cancellable, race, type RaceBranch, type Spend, type Strategy } from './race';
import { RunStatus } from './status';

/** A strategy's candidate: the answer and why its author stopped (the validator refuses a cut answer). */
interface Candidate {
  text: string;
  stopReason: string;
}

/** Stop reasons that mean the answer is not finished. */
const UNFINISHED = new Set(['max_tokens', 'max_turns', 'refusal', 'pause_turn']);

/** The `non-empty` validator: some text, and an author that finished. */
function nonEmpty(c: Candidate): true | string {
  if (!c.text.trim()) return 'empty answer';
  if (UNFINISHED.has(c.stopReason)) return `unfinished answer (${c.stopReason})`;
  return true;
}

export async function speculativeAsk(input: SpeculateInput): Promise<SpeculateResult> {
  const problem = speculateProblem(input);
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidInput');
  const status = new RunStatus();
  return status.around(async () => {
    const question = input.question.trim();
    const specs = input.strategies ?? DEFAULT_STRATEGIES;
    const t0 = Date.now();
    const progress: SpeculateProgress = {
      phase: 'racing',
      strategies: specs.map((s) => ({ name: s.name, status: 'not-started', tokens: 0, costUsd: 0, estimated: false })),
    };
    setHandler(speculateProgressQuery, () => progress, { description: 'Each strategy: status, timing, tokens, dollars.' });
    status.set('racing', `**Racing** ${specs.map((s) => `${s.name} (+${s.startAfterMs} ms)`).join(', ')}`);

    // A cancelled agent child reports what it had spent by signal before it ends (its cancellation
    // carries no details); the signal precedes the child's end in history, so the charge holds on replay.
    let agentSpend: Spend | undefined;
    setHandler(
      agentSpendSignal,
      (s) => {
        if (!agentSpend) return;
        for (const [model, usage] of Object.entries(s.usage.byModel)) agentSpend.charge(model, usage);
        for (const e of s.estimated) agentSpend.charge(e.model, e.usage, true);
      },
      { description: 'Sent by the agent strategy’s child when it is cancelled: what it had spent, charged to the run.' },
    );

    const tools = input.tools;
    const run: Record<StrategyName, (spend: Spend) => Promise<Candidate>> = {
      cache: async () => {
        const acts = proxyActivities<Activities>({ ...labelled(workerLookup, 'cache: look the answer up'), activityId: 'strategy:cache' });
        const found = await acts.lookupAnswer({ question, ...(tools ? { tools } : {}) });
        if (!found.hit) throw ApplicationFailure.nonRetryable(found.reason, 'CacheMiss');
        return { text: found.answer, stopReason: 'end_turn' };
      },
      fast: async (spend) => {
        const llm = proxyActivities<Activities>({
          ...cancellable(labelled(modelCall, 'fast: the fast model answers alone')),
          activityId: 'strategy:fast',
        });
        const r = await spend.model(
          llm.llmTurn({ role: 'fast', system: FAST_SYSTEM, maxTokens: FAST_MAX_TOKENS, messages: [{ role: 'user', content: question }] }),
        );
        return { text: r.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join(''), stopReason: r.stopReason };
      },
      retrieval: async (spend) => {
        const source = input.retrievalSource ?? DEFAULT_RETRIEVAL_SOURCE;
        const search = proxyActivities<Activities>({
          ...toolCall(RETRIEVAL_TIMEOUT_MS, `retrieval: search ${source}`),
          activityId: 'strategy:retrieval:search',
        });
        const found = await search.searchSource({ source, queries: [question], limit: RETRIEVAL_HITS });
        const llm = proxyActivities<Activities>({
          ...cancellable(labelled(modelCall, `retrieval: the fast model answers from ${source}`)),
          activityId: 'strategy:retrieval',
        });
        const r = await spend.model(
          llm.llmTurn({
            role: 'fast',
            system: RETRIEVAL_SYSTEM,
            maxTokens: FAST_MAX_TOKENS,
            messages: retrievalRequest(question, found.lists[0] ?? []),
          }),
        );
        return { text: textOf(r.content), stopReason: r.stopReason };
      },
      agent: async (spend) => {
        agentSpend = spend;
        const r = await executeChild(toolAgent, {
          workflowId: `${workflowInfo().workflowId}/agent`,
          args: [
            {
              question,
              ...(tools ? { tools } : {}),
              ...(input.maxTurns ? { maxTurns: input.maxTurns } : {}),
              ...(input.hedge ? { hedge: input.hedge } : {}),
              reportSpendOnCancel: true,
            },
          ],
          staticSummary: 'agent: the tool agent answers',
        });
        for (const [model, usage] of Object.entries(r.usage.byModel)) spend.charge(model, usage);
        return { text: r.answer, stopReason: r.stopReason };
      },
    };

    const report = (b: RaceBranch<Candidate>): StrategyReport => ({
      name: b.name as StrategyName,
      status: b.status,
      ...(b.startedAt !== undefined ? { startMs: b.startedAt - t0 } : {}),
      ...(b.endedAt !== undefined ? { endMs: b.endedAt - t0 } : {}),
      ...(b.reason !== undefined ? { reason: b.reason } : {}),
      tokens: b.usage.total.inputTokens + b.usage.total.outputTokens,
      costUsd: b.cost.totalUsd,
      estimated: b.cost.estimatedUsd > 0,
    });
    const strategies: Strategy<Candidate>[] = specs.map((s) => ({ name: s.name, startAfterMs: s.startAfterMs, run: run[s.name] }));
    // The judge (validator `judge`) runs in the strategy's branch: a strategy that loses meanwhile has its judge cancelled too.
    const judged = async (c: Candidate, strategy: string, spend: Spend): Promise<true | string> => {
      const plain = nonEmpty(c);
      if (plain !== true) return plain;
      const llm = proxyActivities<Activities>({
        ...cancellable(labelled(modelCall, `judge: check the ${strategy} answer`)),
        activityId: `judge:${strategy}`,
      });
      const r = await spend.model(
        llm.llmTurn({ role: 'fast', system: JUDGE_SYSTEM, maxTokens: JUDGE_MAX_TOKENS, messages: judgeRequest(question, c.text) }),
      );
      return readJudgement(textOf(r.content));
    };
    const r = await race(strategies, {
      validate: input.validator === 'judge' ? judged : (c) => nonEmpty(c),
      onSettle: (b) => {
        const i = specs.findIndex((s) => s.name === b.name);
        progress.strategies[i] = report(b);
      },
    });
    progress.strategies = r.branches.map(report);
    const answer = r.value.text;
    let cached = false;
    if (r.winner !== 'cache' && specs.some((s) => s.name === 'cache')) {
      const store = proxyActivities<Activities>({ ...labelled(sideEffect, 'cache: store the answer'), activityId: 'cache:store' });
      await store.storeAnswer({ question, ...(tools ? { tools } : {}), answer, ttlMs: input.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS });
      cached = true;
    }
    progress.phase = 'done';
    status.set(RUN_STATUS.done, `**Done:** ${r.winner} won after ${r.elapsedMs} ms`);
    return {
      answer,
      winner: r.winner as StrategyName,
      strategies: progress.strategies,
      elapsedMs: r.elapsedMs,
      usage: r.usage,
      cost: r.cost,
      cached,
    };
  });
}
