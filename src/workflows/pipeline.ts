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
import { ApplicationFailure, executeChild, isCancellation, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
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
import { revisionPrompt, STAGE_SYSTEM, stagePrompt } from '../prompts/pipeline';
import { textOf } from '../shared/content';
import { failureMessage } from '../shared/failures';
import type { ChatMessage } from '../shared/types';
import { addUsage, noUsage, sumUsage } from '../shared/usage';
import { fileWrite, modelCall } from './profiles';
import { slidingWindow } from './window';

const files = proxyActivities<Activities>(fileWrite);

/** One topic's research → write → edit chain. */
export async function pipelineChain(input: ChainInput): Promise<ChainOutput> {
  const llm = proxyActivities<Activities>({ ...modelCall, ...(input.llmTaskQueue ? { taskQueue: input.llmTaskQueue } : {}) });
  let current: StageName | 'writing-file' | 'done' = 'research';
  let revising = false;
  setHandler(chainStageQuery, () => ({ stage: current, revising }));

  const stages: StageRecord[] = [];
  const usage = noUsage();
  let text = '';
  for (const stage of STAGES) {
    current = stage;
    revising = false;
    const started = Date.now();
    const stageUsage = noUsage();
    const messages: ChatMessage[] = [{ role: 'user', content: stagePrompt(stage, input.topic, text) }];
    let gateNote: string | undefined;
    for (;;) {
      const res = await llm.llmTurn({ role: input.role, system: STAGE_SYSTEM[stage], messages, maxTokens: input.maxTokens });
      addUsage(stageUsage, res.usage);
      const out = textOf(res.content);
      const gate = qualityGate(stage, out, res.stopReason, input.minWords);
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
    stages.push({ stage, ms: Date.now() - started, usage: stageUsage, revised: revising, ...(gateNote ? { gateNote } : {}) });
  }

  let file: string | undefined;
  if (input.outDir) {
    current = 'writing-file';
    const body = `# ${input.topic}\n\n${text}\n`;
    file = (await files.writePipelineOutput({ dir: input.outDir, file: outputFileName(input.index, input.topic), content: body })).path;
  }
  current = 'done';
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
  setHandler(pipelineProgressQuery, () => ({ concurrency: input.concurrency, phase, chains: chains.map((c) => ({ ...c })) }));

  const runChain = async (c: ChainState, attempt: 1 | 2): Promise<void> => {
    c.attempt = attempt;
    c.status = attempt === 1 ? 'running' : 'retrying';
    c.startedAt = Date.now();
    c.endedAt = undefined;
    c.workflowId = `${parentId}/chain-${c.index + 1}${attempt === 2 ? '-retry' : ''}`;
    peakRunning = Math.max(peakRunning, ++running);
    const args: ChainInput = {
      topic: c.topic,
      index: c.index,
      attempt,
      outDir: input.outDir,
      llmTaskQueue: input.llmTaskQueue,
      role: input.role ?? 'fast',
      maxTokens: input.maxTokens,
      minWords: input.minWords ?? 30,
    };
    try {
      const out = await executeChild(pipelineChain, { workflowId: c.workflowId, args: [args] });
      Object.assign(c, { status: 'ok', stages: out.stages, usage: out.usage, file: out.file, error: undefined });
    } catch (err) {
      if (isCancellation(err)) throw err;
      c.status = 'failed';
      c.error = failureMessage(err);
    } finally {
      running--;
      c.endedAt = Date.now();
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
    await slidingWindow(failed, input.concurrency, (c) => runChain(c, 2));
  }
  phase = 'done';

  const usage = sumUsage(chains.map((c) => c.usage));
  const ok = chains.filter((c) => c.status === 'ok').length;
  return {
    chains,
    ok,
    failed: chains.length - ok,
    retried: input.retryFailed === false ? 0 : failed.length,
    totalMs: Date.now() - t0,
    usage,
    peakRunning,
  };
}
