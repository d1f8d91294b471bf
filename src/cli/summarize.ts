/**
 * `braid summarize`: reads and chunks the inputs here, stores the corpus in the blob store and starts (or
 * finds) the map-reduce run whose id derives from corpus and task: the same command on the same
 * files attaches to the running job or returns the finished one, unless --fresh. Progress comes
 * from the root workflow's query; Ctrl-C detaches and the job goes on.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import pc from 'picocolors';
import { openConfiguredBlobStore } from '../blobs/open';
import { BlobStoreUnavailable } from '../blobs/store';
import { config } from '../config';
import {
  DEFAULT_BATCH_MAP,
  SUMMARIZE_LIMITS,
  SUMMARIZE_WORKFLOW,
  summarizeLabels,
  summarizeProgressQuery,
  type SummarizeInput,
  type SourceCitation,
  type SummarizeProgress,
  type SummarizeResult,
} from '../shared/summarize';
import { buildCorpus, summarizeWorkflowId } from '../summarize/corpus';
import { webUiLink, type Target } from '../temporal/connection';
import type { summarizeCorpus } from '../workflows';
import { BUDGET_REACHED_EXIT, UsageError } from './errors';
import { inFlightPolicy, intWithin, percentage, range, usd } from './options';
import { BUDGET_REACHED, worstCaseUsd, type InFlightPolicy } from '../shared/budget';
import { formatUsd } from '../shared/pricing';
import { MAP_SYSTEM } from '../prompts/summarize';
import { costText, etaText, ms, SIMULATED_LABEL } from './render';
import { announceRun, followRun, startRun, withSession, workerFor, type Session } from './session';

export interface SummarizeOptions {
  task: string;
  concurrency: number;
  group: number;
  tolerate: number;
  chunkTokens: number;
  fresh?: boolean;
  json?: boolean;
  /** Most the job may spend, in US dollars. */
  budget?: number;
  onBudget?: InFlightPolicy;
  /** Map through the Message Batches API. */
  batch?: boolean;
  batchSize?: number;
}

export interface Started {
  handle: WorkflowHandle<typeof summarizeCorpus>;
  /** 'new' run, 'attached' to a running one, or 'finished' earlier. */
  how: 'new' | 'attached' | 'finished';
}

const say = (line: string) => process.stderr.write(`${line}\n`);

export interface Prepared {
  input: SummarizeInput;
  workflowId: string;
  /** The files, directories and globs given. */
  inputs: string[];
}

/** Reads, checks and chunks the inputs into the blob store; fails before anything starts when nothing is readable. */
export async function prepareSummarize(inputs: string[], o: SummarizeOptions, quiet = false): Promise<Prepared> {
  if (!o.task.trim()) throw new UsageError('--task is empty: say what to do with the documents');
  if (o.batchSize !== undefined && !o.batch) throw new UsageError('--batch-size needs --batch');
  if (o.batch && o.budget !== undefined)
    throw new UsageError('--budget does not work with --batch yet: a batch map reserves nothing before it is submitted');
  const corpus = await buildCorpus(inputs, openConfiguredBlobStore(config()), {
    maxTokens: o.chunkTokens,
  }).catch((err: unknown) => {
    throw err instanceof BlobStoreUnavailable ? new UsageError(err.message) : err;
  });
  if (!corpus.chunkCount) {
    const why = corpus.badFiles.map((b) => `${b.path}: ${b.reason}`).join('; ');
    throw new UsageError(`nothing to summarize${why ? ` (${why})` : ''}`);
  }
  for (const b of corpus.badFiles) if (!quiet) say(`${pc.yellow('skipped')} ${b.path}: ${b.reason}`);
  if (!quiet) say(pc.dim(`${corpus.sourceCount} file(s), ${corpus.chunkCount} chunk(s), ~${corpus.tokens} tokens`));
  const input: SummarizeInput = {
    manifestRef: corpus.manifestRef,
    chunkCount: corpus.chunkCount,
    sourceCount: corpus.sourceCount,
    task: o.task.trim(),
    concurrency: o.concurrency,
    group: o.group,
    tolerate: o.tolerate,
    badFiles: corpus.badFiles,
    ...(corpus.chunkSpans ? { chunkSpans: corpus.chunkSpans } : {}),
    prices: { ...config().prices },
    ...(o.batch ? { batch: { ...DEFAULT_BATCH_MAP, ...config().batch, size: o.batchSize ?? DEFAULT_BATCH_MAP.size } } : {}),
  };
  if (o.budget !== undefined) {
    const models = config().models;
    for (const model of Object.values(models))
      if (worstCaseUsd(model, 0, 0, input.prices) === undefined)
        throw new UsageError(`--budget: the model ${model} has no price; set it in BRAID_MODEL_PRICES`);
    // A token is at least one character: the largest chunk plus the prompt bounds a map call's input.
    const mapInputTokens = corpus.maxChunkChars + input.task.length + MAP_SYSTEM.length + 200;
    input.budget = { usd: o.budget, models, mapInputTokens, ...(o.onBudget ? { inFlight: o.onBudget } : {}) };
  }
  // A batch run is its own job: the same command with --batch does not return the run answered now.
  const id = summarizeWorkflowId(corpus.manifestRef, input.task, o.group, o.tolerate, o.budget);
  return { input, inputs, workflowId: o.batch ? `${id}-batch` : id };
}

export async function startSummarize(s: Session, { input, workflowId, inputs }: Prepared, fresh = false): Promise<Started> {
  let how: Started['how'] = 'new';
  if (!fresh) {
    try {
      const d = await s.client.workflow.getHandle(workflowId).describe();
      if (d.status.name === 'RUNNING') how = 'attached';
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  try {
    const handle = await startRun<typeof summarizeCorpus>(s, SUMMARIZE_WORKFLOW, {
      workflowId,
      args: [input],
      kind: 'summarize',
      labels: summarizeLabels(input, inputs),
      // Same input, same run: join a running job, return a completed one, retry a failed one.
      options: {
        workflowIdConflictPolicy: fresh ? 'TERMINATE_EXISTING' : 'USE_EXISTING',
        workflowIdReusePolicy: fresh ? 'ALLOW_DUPLICATE' : 'ALLOW_DUPLICATE_FAILED_ONLY',
      },
    });
    return { handle, how };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      return { handle: s.client.workflow.getHandle<typeof summarizeCorpus>(workflowId), how: 'finished' };
    throw err;
  }
}

/** The bar's line: the phase, items done and failed, the rate and the time left (Braid's own ETA, see etaText). */
export function progressBar(stream: NodeJS.WritableStream = process.stderr): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    {
      format: ' {phase} |{bar}| {value}/{total} {unit} · {failed} failed · {rate}/s · ETA {left}',
      barsize: 28,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      stream,
    },
    cliProgress.Presets.shades_classic,
  );
}

export interface BarState {
  key: string;
  value: number;
  total: number;
  payload: { phase: string; unit: string; failed: number; rate: string; left: string };
}

/** What the bar shows for a progress snapshot; `phaseStartedAt` is when this command saw the current reduce level begin. */
export function barState(p: SummarizeProgress, now: number, phaseStartedAt = p.startedAt): BarState {
  const map = p.phase === 'map';
  const key = map ? 'map' : `reduce ${p.level}/${p.levels}`;
  const [value, total, failed] = map
    ? [p.chunks.done + p.chunks.failed, p.chunks.total, p.chunks.failed]
    : [p.levelGroups.done, p.levelGroups.total, 0];
  const elapsed = Math.max(1, now - (map ? p.startedAt : phaseStartedAt));
  return {
    key,
    value,
    total,
    payload: {
      phase: key.padEnd(10),
      unit: map ? 'chunks' : 'groups',
      failed,
      rate: ((value * 1000) / elapsed).toFixed(1),
      left: etaText(value, total, elapsed),
    },
  };
}

/** Follows a summarize run to its end with a progress bar; Ctrl-C detaches. */
export async function followSummarize(
  handle: WorkflowHandle<typeof summarizeCorpus>,
  target: Target,
  json: boolean,
  taskQueue?: string,
): Promise<SummarizeResult> {
  if (!json) announceRun(handle.workflowId, webUiLink(handle.workflowId, undefined, target));
  const b = json ? undefined : progressBar();
  let shown = '';
  let phaseStartedAt = Date.now();
  const render = (p: SummarizeProgress) => {
    if (p.phase !== 'map' && `reduce ${p.level}/${p.levels}` !== shown) phaseStartedAt = Date.now();
    const { key, value, total, payload } = barState(p, Date.now(), phaseStartedAt);
    if (key !== shown) {
      // Close the finished phase on its final count (the map's stays in the query during reduce).
      if (shown === 'map') b?.update(p.chunks.done + p.chunks.failed, { failed: p.chunks.failed });
      else if (shown) b?.update(b.getTotal());
      if (shown) b?.stop();
      b?.start(Math.max(1, total), value, payload);
      shown = key;
    } else b?.update(value, payload);
  };
  const result = await followRun(handle, {
    tick: b
      ? async () => {
          const p = await handle.query(summarizeProgressQuery);
          if (p.phase !== 'done') render(p);
        }
      : undefined,
    everyMs: 500,
    stop: (finished) => {
      if (finished && shown) b?.update(b.getTotal());
      b?.stop();
    },
    detachHint: `the job goes on in Temporal: braid watch ${handle.workflowId}`,
    taskQueue,
  });
  return result;
}

export function printSummary(workflowId: string, r: SummarizeResult, json: boolean, webUi?: string): void {
  if (json) return void process.stdout.write(`${JSON.stringify({ workflowId, webUi, ...r })}\n`);
  const model = r.simulated ? pc.yellow(SIMULATED_LABEL) : 'Claude';
  console.log(`\n${pc.bold('Answer')} ${pc.dim(`— ${model}`)}\n${r.answer}`);
  if (r.points.length) console.log(r.points.map((p) => `  • ${p}`).join('\n'));
  const ranges = (c: SourceCitation) => `${c.source}:${c.ranges.map(([a, b]) => `${a}-${b}`).join(',')}`;
  const claims = r.claims ?? []; // results from before Braid checked citations have none
  console.log(`\n${pc.bold('Sources')} ${pc.dim('(character ranges of each file, whole sentences)')}`);
  if (claims.length) claims.forEach((c, i) => console.log(`  [${i + 1}] ${c.sources.map(ranges).join('; ')}`));
  else for (const c of r.citations) console.log(`  ${ranges(c)}`);
  if (!r.citations.length) console.log('  none');
  const k = r.citationChecks;
  if (k) {
    const merged = r.citations.reduce((n, c) => n + c.ranges.length, 0) + (r.omittedRanges ?? 0);
    console.log(
      pc.dim(
        `${claims.length} claim(s) resting on ${merged} range(s) of ${r.citations.length} file(s); ${r.relevantChunks} of ${r.chunks} chunks bore on the task.\n` +
          `Citations checked by Braid: ${k.returned} returned, ${k.aligned} on sentence bounds, ${k.widened} widened to whole sentences, ` +
          `${k.rejected} rejected; ${k.uncited} uncited statement(s) left out.`,
      ),
    );
  }
  if (r.status === BUDGET_REACHED) {
    const b = r.budget!;
    console.log(
      pc.yellow(
        `\nBUDGET REACHED: ${formatUsd(b.spentUsd)} spent of ${formatUsd(b.usd)}; ${b.skippedCalls} model call(s) not started` +
          `${b.cancelledCalls ? `, ${b.cancelledCalls} cancelled in flight` : ''}. The ${r.chunks - r.missing.length} chunk result(s) completed are kept: ${r.resultRef}`,
      ),
    );
  } else if (!r.complete) {
    console.log(pc.yellow(`\nINCOMPLETE: ${r.missing.length} chunk(s) are missing from this answer:`));
    for (const m of r.missing) console.log(pc.yellow(`  ${m.chunkId} ${m.source}:${m.start}-${m.end} — ${m.reason}`));
  }
  if (r.badFiles.length) console.log(pc.yellow(`\nSkipped files:\n${r.badFiles.map((b) => `  ${b.path}: ${b.reason}`).join('\n')}`));
  const phases = r.phases.map((p) => `${p.name} ${p.items} in ${ms(p.ms)}`).join(' · ');
  console.log(
    `\n${r.chunks} chunks · ${r.reduceLevels} reduce level(s) · ${ms(r.totalMs)} · tokens ${r.usage.inputTokens} in / ${r.usage.outputTokens} out${r.cost ? ` · ${costText(r.cost)}` : ''}\n${pc.dim(phases)}`,
  );
  if (webUi) console.log(`${pc.dim('Web UI:')} ${webUi}`);
}

export function summarizeCommand(): Command {
  const { concurrency, group, chunkTokens, batchSize } = SUMMARIZE_LIMITS;
  return new Command('summarize')
    .description('map-reduce over documents: chunks analysed in parallel, results reduced in a tree')
    .argument('<inputs...>', 'files, directories or globs (.txt .md .html .json .pdf)')
    .requiredOption('--task <instruction>', 'what to do with the documents')
    .option('--concurrency <n>', `model calls in flight across the job (${range(concurrency)})`, intWithin(concurrency), 32)
    .option('--group <n>', `results combined per reduce call (${range(group)})`, intWithin(group), 10)
    .option('--tolerate <percent>', 'failed chunks tolerated, in percent (0-100)', percentage, 0)
    .option('--chunk-tokens <n>', `token budget per chunk (${range(chunkTokens)})`, intWithin(chunkTokens), 800)
    .option(
      '--budget <usd>',
      'most the job may spend, in US dollars: no model call starts whose worst case would pass it (exit code 3 when reached)',
      usd,
    )
    .option('--on-budget <policy>', 'calls in flight when the budget is reached: keep (finish them, default) or cancel', inFlightPolicy)
    .option('--batch', 'map through the Message Batches API: half the price, answered within 24 h instead of now')
    .option(
      '--batch-size <n>',
      `most map requests per batch, with --batch (${range(batchSize)}; default ${DEFAULT_BATCH_MAP.size})`,
      intWithin(batchSize),
    )
    .option('--fresh', 'start a new run even if this exact job ran before')
    .option(
      '--json',
      'print one JSON object: the answer, its claims with the file ranges behind them, the citation checks, what is missing, usage and cost',
    )
    .option('--with-worker', 'run a worker inside this command (otherwise a `braid worker` must be running)')
    .action(async (inputs: string[], o: SummarizeOptions & { withWorker?: boolean }) => {
      const json = Boolean(o.json);
      const prepared = await prepareSummarize(inputs, o, json);
      await withSession(workerFor(o.withWorker), async (s) => {
        const { handle, how } = await startSummarize(s, prepared, o.fresh);
        if (!json && how !== 'new')
          say(
            pc.dim(
              how === 'attached'
                ? 'this exact job is already running: attaching to it (--fresh starts over)'
                : 'this exact job ran before: returning its result (--fresh starts over)',
            ),
          );
        const result = await followSummarize(handle, s.target, json, s.taskQueue);
        printSummary(handle.workflowId, result, json, webUiLink(handle.workflowId, undefined, s.target));
        if (result.status === BUDGET_REACHED) process.exitCode = BUDGET_REACHED_EXIT;
      });
    });
}
