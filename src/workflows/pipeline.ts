/**
 * Pattern: the bounded multi-agent content pipeline (`braid pipeline`).
 *
 * Each topic runs a research → write → edit chain; each stage's output feeds the next, and a
 * quality gate between stages can send a draft back once. The parent runs the chains through a
 * sliding window (window.ts): at most `concurrency` at once, and the next one starts the moment a
 * slot frees. Chains that failed are run once more after every other chain has finished, so a
 * transient outage gets a second chance without delaying healthy work.
 *
 * Each chain is a child workflow, not a string of activities in the parent: a chain is a unit of
 * work with its own identity (`<parent>/chain-7`), history, status and failure in the Web UI; a
 * failed chain fails only its child, which isolates it by construction; and the parent's history
 * grows by a few events per chain rather than by every model call, so a run of a thousand topics
 * stays far from history limits. Model calls pass the shared rate limiter; they go to `llmTaskQueue`
 * (the worker's `<queue>-llm`) when the CLI found a server-side rate limit on it, and otherwise stay
 * on the workflow's own queue, where they are dispatched eagerly.
 */
import {
  ApplicationFailure,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  CHAIN_MAX_CALLS,
  chainCallInputTokens,
  chainSpendOf,
  chainStageQuery,
  MAX_CONCURRENCY,
  outputFileName,
  pipelineProgressQuery,
  qualityGate,
  STAGES,
  topicsProblem,
  wordCount,
  type ChainInput,
  type ChainOutput,
  type ChainSpend,
  type ChainState,
  type PipelineInput,
  type PipelineProgress,
  type PipelineResult,
  type StageName,
  type StageRecord,
} from '../shared/pipeline';
import { revisionPrompt, sectionEditPrompt, STAGE_SYSTEM, stagePrompt } from '../prompts/pipeline';
import { counted, gist, textOf } from '../shared/content';
import { failureMessage } from '../shared/failures';
import { RUN_STATUS } from '../shared/search-attributes';
import { sectionKey, sectionReadySignal, splitSections, type Section } from '../shared/stream';
import type { ChatMessage, LlmRequest, LlmResult, TokenUsage } from '../shared/types';
import { addCall, addEstimated, emptyCost, formatUsd, mergeCosts, roundUsd } from '../shared/pricing';
import { BUDGET_REACHED, budgetSettingProblem, worstCaseUsd } from '../shared/budget';
import { addUsage, noUsage, spendOfFailure, sumUsage, type PartialSpend } from '../shared/usage';
import { budgetModel, budgeted, RunBudget, spendUsd } from './budget';
import { EarlyStarts } from './early-tools';
import { fileWrite, labelled, modelCall } from './profiles';
import { RunStatus } from './status';
import { slidingWindow } from './window';

const STAGE_DOING: Record<StageName, string> = { research: 'researching', write: 'writing', edit: 'editing' };

/** What one stage's call (or its sections' calls, joined) answered. */
interface StageReply {
  text: string;
  stopReason: string;
  usage: TokenUsage;
  model: string;
}

const replyOf = (r: LlmResult): StageReply => ({ text: textOf(r.content), stopReason: r.stopReason, usage: r.usage, model: r.model });

/** The chain's failure, carrying what it spent (a budgeted chain's, for the run's budget and cost). */
function failedWithSpend(err: unknown, spend: ChainSpend, cancelled: boolean): ApplicationFailure {
  const details = [{ braidChainSpend: spend }];
  if (cancelled) return ApplicationFailure.nonRetryable('the chain was cancelled in flight', 'ChainCancelled', ...details);
  const type = err instanceof ApplicationFailure ? (err.type ?? 'ChainFailed') : 'ChainFailed';
  return ApplicationFailure.create({
    message: failureMessage(err),
    type,
    nonRetryable: true,
    details,
    cause: err instanceof Error ? err : undefined,
  });
}

/** The stop reason that speaks for several calls: a cut one if any was cut. */
const worstStop = (replies: StageReply[]): string => replies.find((r) => r.stopReason !== 'end_turn')?.stopReason ?? 'end_turn';

/**
 * One topic's research → write → edit chain.
 *
 * With `overlap`, the edit does not wait for the whole draft: the writer's model call announces
 * each paragraph it completes (src/shared/stream.ts), and the chain starts that paragraph's edit at
 * once (early-tools.ts's policy: a retried stream reuses an edit only for the identical paragraph at
 * the same position; the rest are cancelled, as are all when the quality gate sends the draft
 * back). The article is the edited paragraphs joined; the gate then checks it as a whole, and a
 * failed gate sends the whole draft back to the editor once, as without overlap.
 */
export async function pipelineChain(input: ChainInput): Promise<ChainOutput> {
  // Every call's spend, billed and lost (failed or cancelled attempts, estimated).
  const spend: ChainSpend = { billed: [], lost: [] };
  if (!input.budget) return chain(input, spend);
  try {
    return await chain(input, spend);
  } catch (err) {
    // A budgeted chain's failure says what it spent, so the run's budget and cost count it.
    throw failedWithSpend(err, spend, isCancellation(err));
  }
}

async function chain(input: ChainInput, spend: ChainSpend): Promise<ChainOutput> {
  const topic = `"${gist(input.topic, 80)}"`;
  const money = input.budget && new RunBudget(input.budget.usd, input.budget.inFlight, input.budget.prices);
  const maxTokens = input.maxTokens ?? input.budget?.maxTokens;
  const profile = money ? budgeted(modelCall) : modelCall;
  const llm = (summary: string) =>
    proxyActivities<Activities>(labelled({ ...profile, ...(input.llmTaskQueue ? { taskQueue: input.llmTaskQueue } : {}) }, summary));
  /** One stage call: under the chain's budget when it has one; its spend recorded either way. */
  const turn = async (summary: string, req: LlmRequest): Promise<LlmResult> => {
    const send = (maxUsd?: number) => llm(summary).llmTurn({ ...req, ...(maxUsd !== undefined ? { maxUsd } : {}) });
    try {
      const r = money ? await money.call(input.budget!.callUsd, send) : await send();
      spend.billed.push({ model: r.model, usage: r.usage });
      spend.lost.push(...(r.retriedSpend ?? []));
      return r;
    } catch (err) {
      spend.lost.push(...spendOfFailure(err));
      throw err;
    }
  };
  let current: StageName | 'writing-file' | 'done' = 'research';
  let revising = false;
  setHandler(chainStageQuery, () => ({ stage: current, revising }), {
    description: 'The stage this chain is in (research, write, edit, writing-file, done) and whether the quality gate sent it back.',
  });
  // Stage overlap (chains started before it was patched in never have `overlap`).
  const overlap = input.overlap === true && patched('pipeline-stage-overlap');
  const editSection = (s: Section) =>
    llm(`edit ¶${s.index + 1}: ${topic}`).llmTurn({
      role: input.role,
      system: STAGE_SYSTEM.edit,
      messages: [{ role: 'user', content: sectionEditPrompt(input.topic, s.text) }],
      maxTokens: input.maxTokens,
    });
  const edits = new EarlyStarts<Section, LlmResult>(editSection, sectionKey);
  let round = 0;
  if (overlap)
    setHandler(sectionReadySignal, (r) => edits.take(r.round, r.attempt, { index: r.index, text: r.text }), {
      description: "Sent by the writer's model call: a paragraph it completed, to start editing it before the draft is finished.",
    });
  let kept: (Promise<LlmResult> | undefined)[] = [];
  let startedEarly = 0;

  const stages: StageRecord[] = [];
  const usage = noUsage();
  let text = '';
  for (const stage of STAGES) {
    current = stage;
    revising = false;
    const started = Date.now();
    const stageUsage = noUsage();
    let model: string | undefined;
    const messages: ChatMessage[] = [{ role: 'user', content: stagePrompt(stage, input.topic, text) }];
    let gateNote: string | undefined;
    let sections: number | undefined;
    for (;;) {
      setCurrentDetails(`**${STAGE_DOING[stage]}** ${topic}${revising ? ' again: the quality gate sent the first draft back' : ''}.`);
      let res: StageReply;
      if (overlap && stage === 'edit' && !revising) {
        // Each paragraph's edit, the ones started while the draft was written and the rest now.
        const parts = splitSections(text);
        const results = await Promise.all(parts.map((p, i) => kept[i] ?? editSection(p)));
        for (const r of results) spend.lost.push(...(r.retriedSpend ?? []));
        const replies = results.map(replyOf);
        sections = parts.length;
        res = {
          text: replies.map((r) => r.text).join('\n\n'),
          stopReason: worstStop(replies),
          usage: sumUsage(replies.map((r) => r.usage)),
          model: replies[0]?.model ?? '',
        };
      } else {
        const announce = overlap && stage === 'write';
        if (announce) edits.open(++round);
        try {
          res = replyOf(
            await turn(`${stage}${revising ? ' (revision)' : ''}: ${topic}`, {
              role: input.role,
              system: STAGE_SYSTEM[stage],
              messages,
              maxTokens,
              ...(announce ? { announceSections: { round } } : {}),
            }),
          );
        } catch (err) {
          if (announce) edits.discard();
          throw err;
        }
      }
      addUsage(stageUsage, res.usage);
      model = res.model || model;
      const out = res.text;
      const gate = qualityGate(stage, out, res.stopReason, input.minWords);
      if (overlap && stage === 'write') {
        startedEarly = gate.ok ? edits.count : 0;
        kept = edits.settle(gate.ok ? splitSections(out) : []);
      }
      if (gate.ok) {
        text = out;
        break;
      }
      if (revising) {
        addUsage(usage, stageUsage);
        throw ApplicationFailure.nonRetryable(
          `quality gate failed after ${stage} was sent back once: ${gate.reason}`,
          'QualityGateFailed',
          { stage, usage },
        );
      }
      revising = true;
      gateNote = gate.reason;
      messages.push({ role: 'assistant', content: out || '(empty)' }, { role: 'user', content: revisionPrompt(gate.reason, input.topic) });
    }
    addUsage(usage, stageUsage);
    stages.push({
      stage,
      ms: Date.now() - started,
      usage: stageUsage,
      ...(model ? { model } : {}),
      revised: revising,
      ...(gateNote ? { gateNote } : {}),
      ...(sections !== undefined ? { sections, startedEarly: Math.min(startedEarly, sections) } : {}),
    });
  }

  let file: string | undefined;
  if (input.outDir) {
    current = 'writing-file';
    const body = `# ${input.topic}\n\n${text}\n`;
    const name = outputFileName(input.index, input.topic);
    setCurrentDetails(`**Writing** ${name}.`);
    file = (
      await proxyActivities<Activities>(labelled(fileWrite, `write ${name}`)).writePipelineOutput({
        dir: input.outDir,
        file: name,
        content: body,
      })
    ).path;
  }
  current = 'done';
  setCurrentDetails(`**Done**: ${topic}, ${wordCount(text)} words${file ? ` in ${file}` : ''}.`);
  return { stages, usage, file, words: wordCount(text), ...(spend.lost.length ? { retriedSpend: spend.lost } : {}) };
}

function validate(input: PipelineInput): void {
  const problem = topicsProblem(input?.topics);
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidInput');
  const c = input.concurrency;
  if (!Number.isInteger(c) || c < 1 || c > MAX_CONCURRENCY)
    throw ApplicationFailure.nonRetryable(
      `concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}, got ${String(c)}`,
      'InvalidInput',
    );
  if (input.minWords !== undefined && (!Number.isInteger(input.minWords) || input.minWords < 0))
    throw ApplicationFailure.nonRetryable(`minWords must be a whole number ≥ 0`, 'InvalidInput');
  if (input.budget) {
    const problem = budgetSettingProblem(input.budget, input.prices);
    if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidInput');
    if (input.overlap)
      throw ApplicationFailure.nonRetryable(
        'a budget does not work with stage overlap yet: a draft has no bound on its paragraphs',
        'InvalidInput',
      );
  }
}

export async function contentPipeline(input: PipelineInput): Promise<PipelineResult> {
  const status = new RunStatus('braid-status-pipeline');
  return status.around(() => pipeline(input, status));
}

async function pipeline(input: PipelineInput, status: RunStatus): Promise<PipelineResult> {
  validate(input);
  const t0 = Date.now();
  const parentId = workflowInfo().workflowId;
  const chains: ChainState[] = input.topics.map((topic, index) => ({
    index,
    topic: topic.trim(),
    status: 'queued',
    attempt: 1,
    usage: noUsage(),
  }));
  let phase: PipelineProgress['phase'] = 'first-pass';
  let running = 0;
  let peakRunning = 0;
  setHandler(pipelineProgressQuery, () => ({ concurrency: input.concurrency, phase, chains: chains.map((c) => ({ ...c })) }), {
    description: 'Every chain: topic, status, attempt, child workflow id, times, stages and tokens.',
  });
  const show = () => {
    const n = (s: ChainState['status']) => chains.filter((c) => c.status === s).length;
    const running = chains.filter((c) => c.status === 'running' || c.status === 'retrying');
    const head =
      phase === 'retrying'
        ? `**Retrying** ${counted(running.length + n('retry-queued'), 'failed chain')} once`
        : `**${n('ok')} of ${chains.length} topics done**`;
    const parts = [`${n('failed')} failed`, `${running.length} running (at most ${input.concurrency})`, `${n('queued')} waiting`];
    const now = running.slice(0, 5).map((c) => `"${gist(c.topic, 40)}"`);
    status.set(
      phase === 'retrying' ? 'retrying' : 'running',
      `${head}: ${parts.join(', ')}.${now.length ? ` Now: ${now.join(', ')}${running.length > 5 ? ' …' : ''}.` : ''}`,
    );
  };
  show();

  // With a budget, a chain starts only once its worst case is reserved: CHAIN_MAX_CALLS calls at
  // their bound. It runs on that grant and gives back what it did not spend when it ends.
  const b = input.budget;
  const role = input.role ?? 'fast';
  const money = b && new RunBudget(b.usd, b.inFlight, input.prices);
  const maxTokens = input.maxTokens ?? b?.maxTokens;
  const callUsd = (topic: string) =>
    worstCaseUsd(budgetModel(role, b!.models), chainCallInputTokens(topic, maxTokens!), maxTokens!, input.prices)!;
  /** What failed chains spent (budgeted runs): their calls' usage, and their lost attempts'. */
  const failedSpend: ChainSpend[] = [];
  const chainUsd = (billed: readonly { model: string; usage: TokenUsage }[], lost: readonly PartialSpend[]) =>
    billed.reduce((n, x) => n + spendUsd(x.model, x.usage, [], input.prices), spendUsd(undefined, undefined, lost, input.prices));

  const runChain = async (c: ChainState, attempt: 1 | 2): Promise<void> => {
    c.attempt = attempt;
    c.status = attempt === 1 ? 'running' : 'retrying';
    c.startedAt = Date.now();
    c.endedAt = undefined;
    c.workflowId = `${parentId}/chain-${c.index + 1}${attempt === 2 ? '-retry' : ''}`;
    peakRunning = Math.max(peakRunning, ++running);
    show();
    const args: ChainInput = {
      topic: c.topic,
      index: c.index,
      attempt,
      outDir: input.outDir,
      llmTaskQueue: input.llmTaskQueue,
      role,
      maxTokens: input.maxTokens,
      minWords: input.minWords ?? 30,
      ...(input.overlap ? { overlap: true } : {}),
    };
    const start = (grant?: number) =>
      executeChild(pipelineChain, {
        workflowId: c.workflowId,
        staticSummary: `topic ${c.index + 1}: "${gist(c.topic, 80)}" — research → write → edit${attempt === 2 ? ' (second attempt)' : ''}`,
        args: [
          money
            ? {
                ...args,
                maxTokens,
                budget: {
                  usd: grant!,
                  callUsd: callUsd(c.topic),
                  maxTokens: maxTokens!,
                  inFlight: b!.inFlight ?? 'keep',
                  ...(input.prices ? { prices: input.prices } : {}),
                },
              }
            : args,
        ],
      });
    try {
      const out = money
        ? await money.run(
            roundUsd(CHAIN_MAX_CALLS * callUsd(c.topic)),
            start,
            (o) => {
              if (o.ok)
                return chainUsd(
                  o.value.stages.flatMap((st) => (st.model ? [{ model: st.model, usage: st.usage }] : [])),
                  o.value.retriedSpend ?? [],
                );
              const spent = chainSpendOf(o.error);
              return spent ? chainUsd(spent.billed, spent.lost) : 0;
            },
            STAGES.length,
          )
        : await start();
      Object.assign(c, { status: 'ok', stages: out.stages, usage: out.usage, file: out.file, error: undefined });
      if (out.retriedSpend?.length) c.retriedSpend = out.retriedSpend;
    } catch (err) {
      if (isCancellation(err)) throw err;
      c.status = 'failed';
      c.error = failureMessage(err);
      const spent = money && chainSpendOf(err);
      if (spent) failedSpend.push(spent);
    } finally {
      running--;
      c.endedAt = Date.now();
      show();
    }
  };

  await slidingWindow(chains, input.concurrency, (c) => runChain(c, 1));

  const failed = chains.filter((c) => c.status === 'failed');
  // A run stopped by its budget retries nothing: the retries would not start either.
  if (failed.length && input.retryFailed !== false && !money?.reached) {
    phase = 'retrying';
    for (const c of failed) {
      c.firstAttempt = { startedAt: c.startedAt!, endedAt: c.endedAt!, error: c.error ?? 'failed' };
      c.status = 'retry-queued';
    }
    show();
    await slidingWindow(failed, input.concurrency, (c) => runChain(c, 2));
  }
  phase = 'done';

  const usage = sumUsage(chains.map((c) => c.usage));
  const ok = chains.filter((c) => c.status === 'ok').length;
  const costs = costOfChains(chains, input.prices, failedSpend);
  const report = money?.report();
  const written = `${ok} of ${chains.length} topics written${ok < chains.length ? `, **${chains.length - ok} failed**` : ''}${input.outDir ? ` (files in ${input.outDir})` : ''}`;
  if (report?.reached)
    status.set(BUDGET_REACHED, `**Budget reached** (${formatUsd(report.spentUsd)} spent of ${formatUsd(report.usd)}): ${written}.`);
  else status.set(RUN_STATUS.done, `**Done**: ${written}.`);
  return {
    chains,
    ok,
    failed: chains.length - ok,
    retried: input.retryFailed === false || report?.reached ? 0 : failed.length,
    totalMs: Date.now() - t0,
    usage,
    ...costs,
    peakRunning,
    ...(report?.reached ? { status: BUDGET_REACHED } : {}),
    ...(report ? { budget: report } : {}),
  };
}

/**
 * The finished chains' cost by stage and in total, from each stage's usage and model at the input's
 * prices; their calls' lost attempts (estimated) and what failed chains of a budgeted run spent
 * count in the total, not in a stage.
 */
function costOfChains(
  chains: ChainState[],
  prices: PipelineInput['prices'],
  failed: readonly ChainSpend[] = [],
): Pick<PipelineResult, 'cost' | 'costByPhase'> {
  const byPhase: NonNullable<PipelineResult['costByPhase']> = {};
  for (const c of chains)
    for (const st of c.stages ?? []) if (st.model) addCall((byPhase[st.stage] ??= emptyCost()), st.model, st.usage, { table: prices });
  const other = addEstimated(emptyCost(), [...chains.flatMap((c) => c.retriedSpend ?? []), ...failed.flatMap((f) => f.lost)], prices);
  for (const f of failed) for (const x of f.billed) addCall(other, x.model, x.usage, { table: prices });
  return { cost: mergeCosts(...Object.values(byPhase), other), costByPhase: byPhase };
}
