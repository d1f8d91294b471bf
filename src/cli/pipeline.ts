/**
 * `braid pipeline <topics file> --concurrency N [--out DIR]`: starts the content pipeline, shows
 * its chains live (running ones with their current stage), and prints a per-chain summary with
 * status, attempts, time and tokens. A topics file is checked here first so a bad one (empty, too
 * big, duplicate topics) fails with a one-line error and exit code 2 before anything starts.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Command } from 'commander';
import Table from 'cli-table3';
import pc from 'picocolors';
import { fsProblem } from '../fs-errors';
import {
  chainStageQuery,
  MAX_CONCURRENCY,
  MAX_TOPICS_FILE_BYTES,
  parseTopics,
  PIPELINE_WORKFLOW,
  pipelineLabels,
  pipelineProgressQuery,
  type ChainState,
  type PipelineProgress,
  type PipelineResult,
} from '../shared/pipeline';
import { llmTaskQueue } from '../shared/task-queues';
import { config } from '../config';
import { webUiLink } from '../temporal/connection';
import type { contentPipeline } from '../workflows';
import { BUDGET_REACHED, type InFlightPolicy } from '../shared/budget';
import { budgetSetting } from './budget';
import { BUDGET_REACHED_EXIT, UsageError } from './errors';
import { checkInputFile } from './input-file';
import { inFlightPolicy, intAtLeast, intIn, usd } from './options';
import { budgetText, costText, LiveBlock, ms, tableStyle } from './render';
import { announceRun, followRun, newRunId, startRun, withSession, workerFor } from './session';

/** Reads and checks a topics file; every problem is a UsageError naming the file (and line). */
export function readTopicsFile(file: string): string[] {
  checkInputFile(file, 'topics file', MAX_TOPICS_FILE_BYTES, ': split it into several runs');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read topics file ${file}: ${fsProblem(err)}`);
  }
  try {
    return parseTopics(text, `topics file ${file}`);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const mark: Record<ChainState['status'], string> = {
  queued: pc.dim('·'),
  running: pc.cyan('…'),
  retrying: pc.cyan('↻'),
  'retry-queued': pc.yellow('↻'),
  ok: pc.green('✓'),
  failed: pc.red('✗'),
};

const short = (s: string, n = 40) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

async function liveLines(client: Client, p: PipelineProgress, now: number): Promise<string[]> {
  const count = (s: ChainState['status']) => p.chains.filter((c) => c.status === s).length;
  const running = p.chains.filter((c) => c.status === 'running' || c.status === 'retrying');
  const stages = await Promise.all(
    running.map((c) =>
      c.workflowId
        ? client.workflow
            .getHandle(c.workflowId)
            .query(chainStageQuery)
            .then((s) => (s.revising ? `${s.stage} (sent back)` : s.stage))
            .catch(() => 'starting')
        : Promise.resolve('starting'),
    ),
  );
  const head = `${pc.bold(p.phase === 'retrying' ? 'retrying failed chains' : 'pipeline')}  ${pc.green(`${count('ok')} done`)} · ${pc.red(`${count('failed')} failed`)} · ${pc.cyan(`${running.length} running`)} (max ${p.concurrency}) · ${count('queued') + count('retry-queued')} waiting`;
  const lines = running.map(
    (c, i) => `  ${mark[c.status]} ${short(c.topic)}  ${pc.dim(`${stages[i]} · ${ms(now - (c.startedAt ?? now))}`)}`,
  );
  return [head, ...lines];
}

function summaryTable(r: PipelineResult): string {
  const t = new Table({ head: ['#', 'topic', 'status', 'attempts', 'time', 'tokens in/out', 'stages', 'file'], style: tableStyle() });
  for (const c of r.chains) {
    const time = c.startedAt !== undefined && c.endedAt !== undefined ? ms(c.endedAt - c.startedAt) : '';
    const stages = c.stages?.map((s) => `${s.stage}${s.revised ? '*' : ''} ${ms(s.ms)}`).join(', ') ?? short(c.error ?? '', 60);
    t.push([
      c.index + 1,
      short(c.topic, 36),
      `${mark[c.status]} ${c.status}`,
      c.attempt,
      time,
      `${c.usage.inputTokens}/${c.usage.outputTokens}`,
      stages,
      c.file ? path.basename(c.file) : '',
    ]);
  }
  const lines = [
    t.toString(),
    `${r.ok} ok, ${r.failed} failed (${r.retried} retried after the others) · total ${ms(r.totalMs)} · at most ${r.peakRunning} chains at once · tokens ${r.usage.inputTokens} in / ${r.usage.outputTokens} out${r.cost ? ` · ${costText(r.cost)}` : ''}`,
  ];
  if (r.chains.some((c) => c.stages?.some((s) => s.revised))) lines.push(pc.dim('* the quality gate sent the draft back once'));
  if (r.status === BUDGET_REACHED && r.budget) lines.push(pc.yellow(`${budgetText(r.budget)}; the ${r.ok} chain(s) done are kept.`));
  return lines.join('\n');
}

/** DescribeTaskQueue's activity queue type, and the sources of a rate limit someone set (API, worker). */
const ACTIVITY_QUEUE = 2;
const SET_RATE_LIMIT_SOURCES = new Set([1, 2]);

/**
 * Where the pipeline's model calls go: `<queue>-llm` only when that queue carries a rate limit — set
 * in this process (BRAID_LLM_QUEUE_ACTIVITIES_PER_SECOND, which an embedded worker applies) or one
 * the server reports as set by a worker or through its API; otherwise the main queue (undefined),
 * where the activities a workflow task schedules go straight back to the worker that scheduled
 * them (eager dispatch) — one push from the server per model call instead of two.
 */
export async function pipelineLlmQueue(client: Client, taskQueue: string, limitHere: number | undefined): Promise<string | undefined> {
  const queue = llmTaskQueue(taskQueue);
  if (limitHere) return queue;
  const res = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: queue },
    taskQueueType: ACTIVITY_QUEUE,
  });
  return SET_RATE_LIMIT_SOURCES.has(res.effectiveRateLimit?.rateLimitSource ?? 0) ? queue : undefined;
}

interface PipelineCliOptions {
  concurrency: number;
  out?: string;
  json?: boolean;
  fast?: boolean;
  capable?: boolean;
  minWords?: number;
  id?: string;
  withWorker?: boolean;
  overlap?: boolean;
  budget?: number;
  onBudget?: InFlightPolicy;
}

export function pipelineCommand(): Command {
  return new Command('pipeline')
    .description('run a research → write → edit chain per topic, at most N chains at once')
    .argument('<topics-file>', 'one topic per line; blank lines and # comments are skipped')
    .option('-c, --concurrency <n>', `chains at once (1-${MAX_CONCURRENCY})`, intIn(1, MAX_CONCURRENCY), 5)
    .option('--out <dir>', "write one Markdown file per topic here (on the workers' file system)")
    .option('--capable', 'use the capable model role (default: fast)')
    .option('--min-words <n>', 'quality gate: minimum words of an article (research needs half)', intAtLeast(0))
    .option('--overlap', 'stage overlap: edit each paragraph of a draft as soon as it is written (each paragraph edited on its own)')
    .option(
      '--budget <usd>',
      'most the run may spend, in US dollars: a chain starts only once its worst case fits (exit code 3 when reached)',
      usd,
    )
    .option('--on-budget <policy>', 'chains in flight when the budget is reached: keep (finish them, default) or cancel', inFlightPolicy)
    .option('--id <workflowId>', 'workflow id for the run (default: generated)')
    .option('--json', 'print one JSON object with every chain, usage and cost')
    .option('--with-worker', 'run a worker inside this command')
    .action(async (file: string, o: PipelineCliOptions) => {
      const topics = readTopicsFile(file);
      const outDir = o.out ? path.resolve(o.out) : undefined;
      if (o.overlap && o.budget !== undefined)
        throw new UsageError('--budget does not work with --overlap yet: a draft has no bound on its paragraphs');
      const budget = budgetSetting(o.budget, o.onBudget);
      await withSession(workerFor(o.withWorker), async (s) => {
        const { client, target } = s;
        const input = {
          topics,
          concurrency: o.concurrency,
          outDir,
          llmTaskQueue: await pipelineLlmQueue(client, s.taskQueue, config().flow.llmQueueActivitiesPerSecond),
          role: o.capable ? ('capable' as const) : ('fast' as const),
          minWords: o.minWords,
          prices: { ...config().prices },
          ...(o.overlap ? { overlap: true } : {}),
          ...(budget ? { budget } : {}),
        };
        const workflowId = o.id ?? newRunId('pipeline');
        const handle = await startRun<typeof contentPipeline>(s, PIPELINE_WORKFLOW, {
          workflowId,
          args: [input],
          kind: 'pipeline',
          labels: pipelineLabels(input),
        });
        if (!o.json)
          announceRun(
            handle.workflowId,
            webUiLink(handle.workflowId, undefined, target),
            `${topics.length} topics, ${o.concurrency} at once${outDir ? `, files in ${outDir}` : ''}`,
          );
        const live = o.json ? undefined : new LiveBlock();
        const result: PipelineResult = await followRun(handle, {
          tick: live ? async () => live.update(await liveLines(client, await handle.query(pipelineProgressQuery), Date.now())) : undefined,
          everyMs: 500,
          stop: () => live?.clear(),
          detachHint: `the pipeline goes on in Temporal: ${handle.workflowId}`,
          taskQueue: s.taskQueue,
          ...(live ? { say: (line: string) => live.note(pc.yellow(line)) } : {}),
        });
        if (o.json) console.log(JSON.stringify({ workflowId: handle.workflowId, ...result }));
        else console.log(summaryTable(result));
        if (result.status === BUDGET_REACHED) process.exitCode = BUDGET_REACHED_EXIT;
        else if (result.failed > 0) process.exitCode = 1;
      });
    });
}
