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
import type { ChatMessage, LlmResult, TokenUsage } from '../shared/types';
import { addCall, emptyCost, mergeCosts } from '../shared/pricing';
import { addUsage, noUsage, sumUsage } from '../shared/usage';
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
  const topic = `"${gist(input.topic, 80)}"`;
  const llm = (summary: string) =>
    proxyActivities<Activities>(labelled({ ...modelCall, ...(input.llmTaskQueue ? { taskQueue: input.llmTaskQueue } : {}) }, summary));
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
        const replies = (await Promise.all(parts.map((p, i) => kept[i] ?? editSection(p)))).map(replyOf);
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
            await llm(`${stage}${revising ? ' (revision)' : ''}: ${topic}`).llmTurn({
              role: input.role,
              system: STAGE_SYSTEM[stage],
              messages,
              maxTokens: input.maxTokens,
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
  return { stages, usage, file, words: wordCount(text) };
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
      role: input.role ?? 'fast',
      maxTokens: input.maxTokens,
      minWords: input.minWords ?? 30,
      ...(input.overlap ? { overlap: true } : {}),
    };
    try {
      const out = await executeChild(pipelineChain, {
        workflowId: c.workflowId,
        staticSummary: `topic ${c.index + 1}: "${gist(c.topic, 80)}" — research → write → edit${attempt === 2 ? ' (second attempt)' : ''}`,
        args: [args],
      });
      Object.assign(c, { status: 'ok', stages: out.stages, usage: out.usage, file: out.file, error: undefined });
    } catch (err) {
      if (isCancellation(err)) throw err;
      c.status = 'failed';
      c.error = failureMessage(err);
    } finally {
      running--;
      c.endedAt = Date.now();
      show();
    }
  };

  await slidingWindow(chains, input.concurrency, (c) => runChain(c, 1));

  const failed = chains.filter((c) => c.status === 'failed');
  if (failed.length && input.retryFailed !== false) {
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
  status.set(
    RUN_STATUS.done,
    `**Done**: ${ok} of ${chains.length} topics written${ok < chains.length ? `, **${chains.length - ok} failed**` : ''}${input.outDir ? ` (files in ${input.outDir})` : ''}.`,
  );
  return {
    chains,
    ok,
    failed: chains.length - ok,
    retried: input.retryFailed === false ? 0 : failed.length,
    totalMs: Date.now() - t0,
    usage,
    ...costOfChains(chains, input.prices),
    peakRunning,
  };
}

/** The finished chains' cost by stage and in total, from each stage's usage and model at the input's prices. */
function costOfChains(chains: ChainState[], prices: PipelineInput['prices']): Pick<PipelineResult, 'cost' | 'costByPhase'> {
  const byPhase: NonNullable<PipelineResult['costByPhase']> = {};
  for (const c of chains)
    for (const st of c.stages ?? []) if (st.model) addCall((byPhase[st.stage] ??= emptyCost()), st.model, st.usage, { table: prices });
  return { cost: mergeCosts(...Object.values(byPhase)), costByPhase: byPhase };
}
