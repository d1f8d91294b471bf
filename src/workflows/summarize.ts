/**
 * Pattern 2: document map-reduce, built to stay inside Temporal's limits at any corpus size.
 *
 * The limits: at most 2,000 pending activities or children per workflow (Braid keeps ≤ 50, so a
 * burst of their results stays under the 100 events a cluster buffers behind an open task), a
 * history cut off at 51,200 events (Braid keeps every workflow under 10,240, where the server
 * starts warning), and payloads under 2 MB (Braid keeps them small by passing blob references).
 *
 * The design: the root workflow never schedules per-chunk work. Each phase (the map, then each
 * reduce level) is one child `mapReduceNode` over a range of items. A node whose range fits in a
 * leaf (≤ 250 items, ≤ 50 in flight) runs them as activities with a sliding window of `lanes` in
 * flight; a larger node — or one whose budget would put more than 50 in flight — splits its range
 * into at most 200 children and runs them in lanes, giving each lane an equal share of the
 * concurrency budget. So the whole job holds `--concurrency` calls in flight and every slot refills
 * the moment it frees. For 10,000 chunks at concurrency 200: the map
 * node has 40 leaf children of 250 chunks, 40 lanes × 5 calls = 200 in flight; a leaf's history
 * is ~3 events per activity plus workflow tasks (≈ 1,600 events); the root's is a few dozen events
 * plus ~10 progress signals per leaf. Reduce level 1 (1,000 groups of 10) reuses the same tree;
 * levels 2 (100) and 3 (10) too; the final group of ≤ `group` results runs in the root with the
 * capable model. Between phases the root continues as new once its history passes 4,000 events.
 *
 * Every item outcome is recorded by index; a failed chunk becomes an explicit failure with its
 * reason. After the map, done + failed must equal the chunk count, and the failure rate is held
 * against `--tolerate`: within it the run completes marked incomplete with the missing chunks
 * listed, beyond it the run fails with that list. Reduce failures are never tolerated.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CollectedBatch } from '../activities/batch';
import type { ItemOutput, PartFile } from '../activities/summarize';
import { batchMap } from './summarize-batch';
import {
  chunkLabel,
  DEFAULT_TREE,
  leafProgressSignal,
  progressSignal,
  spansWithin,
  SUMMARIZE_LIMITS,
  SUMMARIZE_MAX_TOKENS,
  summarizeProgressQuery,
  type ChunkSpan,
  type MissingChunk,
  type ProgressDelta,
  type PhaseStat,
  type SummarizeInput,
  type SummarizeProgress,
  type SummarizeResult,
  type TreeOptions,
} from '../shared/summarize';
import { counted, gist } from '../shared/content';
import { failureMessage } from '../shared/failures';
import { RUN_STATUS } from '../shared/search-attributes';
import type { TokenUsage } from '../shared/types';
import {
  addEstimated,
  costOfBatchUsage,
  costOfUsage,
  formatUsd,
  mergeCosts,
  roundUsd,
  type BatchUsage,
  type PriceTable,
} from '../shared/pricing';
import { BUDGET_REACHED, budgetProblem, mergeBudgetReports, worstCaseUsd, type BudgetReport } from '../shared/budget';
import { addUsage, mergeUsageSummaries, noUsage, spendOfFailure, sumUsage, type PartialSpend } from '../shared/usage';
import { blobStore, labelled, summarizeItem } from './profiles';
import { budgeted, RunBudget, spendUsd } from './budget';
import { RunStatus } from './status';
import { groupRanges, planNode, reduceLevels, type NodePlan, type Range } from './summarize-plan';
import { slidingWindow } from './window';

const item = (summary: string) => proxyActivities<Activities>(labelled(summarizeItem, summary));
/** Items of a run whose budget may cancel them wait for the cancellation, so the spend it reports is charged. */
const budgetedItem = (summary: string) => proxyActivities<Activities>(labelled(budgeted(summarizeItem), summary));
const store = (summary: string) => proxyActivities<Activities>(labelled(blobStore, summary));

/** "map chunks 1–250 of 10,000 (a.md … f.md)", "reduce level 2: results 1–100": a node's label in the Web UI. */
function nodeLabel(phase: 'map' | 'reduce', level: number, range: Range, total: number, spans?: readonly ChunkSpan[]): string {
  const what = phase === 'map' ? 'map chunks' : `reduce level ${level}: groups`;
  const files = spans?.length ? ` (${spans.length === 1 ? spans[0]!.path : `${spans[0]!.path} … ${spans.at(-1)!.path}`})` : '';
  return `${what} ${range.start + 1}–${range.end} of ${total}${files}`;
}

/** An item of the phase already done before the tree started (the map's cache warm-up call). */
export type FirstItem = { index: number } & ({ ok: true; ref: string } | { ok: false; reason: string });

interface PhaseJob {
  task: string;
  /** Done by the root before the tree started: the leaf holding it takes its outcome instead of running it. */
  first?: FirstItem;
  /** Manifest (map) or level file (reduce) the items read from. */
  inputRef: string;
  /** Results at the level being reduced (reduce only). */
  inputCount: number;
  group: number;
  /** With a budget: each call's reservation (its worst case), what happens in flight when it is reached, the prices. */
  budget?: { callUsd: number; inFlight: 'keep' | 'cancel'; prices?: PriceTable };
}

export interface NodeInput {
  rootId: string;
  phase: 'map' | 'reduce';
  level: number;
  range: Range;
  budget: number;
  tree: TreeOptions;
  job: PhaseJob;
  /** Which files this node's chunks come from (map only; for labels). */
  spans?: ChunkSpan[];
  /** Items in the whole phase (for labels). */
  total?: number;
  /** The share of the run's budget this node may spend (with `job.budget`). */
  budgetUsd?: number;
}

export interface NodeResult {
  parts: { start: number; end: number; ref: string }[];
  usage: TokenUsage;
  /** `usage` by the model that answered (absent from nodes that began before it was added). */
  byModel?: Record<string, TokenUsage>;
  /** What failed and retried attempts of the node's model calls spent, by model (estimated). */
  estimatedByModel?: Record<string, TokenUsage>;
  simulated: boolean;
  /** The node's budget ledger (with a budget). */
  budget?: BudgetReport;
}

/** One node of a phase's tree: a leaf runs its items, an inner node runs children. */
export async function mapReduceNode(input: NodeInput): Promise<NodeResult> {
  const plan = planNode(input.range, input.budget, input.tree);
  return plan.leaf ? runLeaf(input, plan.lanes) : runInner(input, plan);
}

async function runInner(input: NodeInput, plan: NodePlan): Promise<NodeResult> {
  // A budget is shared out like the concurrency: each lane runs its children one after another and
  // passes on what the last one left, so no lane can spend another's share.
  const budgeted = input.job.budget && input.budgetUsd !== undefined;
  const laneLeft = plan.laneBudgets.map(() => (budgeted ? Math.floor((input.budgetUsd! / plan.lanes) * 1e8) / 1e8 : 0));
  const laneReached = plan.laneBudgets.map(() => false);
  const settled = await slidingWindow(plan.children, plan.lanes, async (range, _i, lane) => {
    const spans = spansWithin(input.spans, range.start, range.end);
    const money = budgeted ? { budgetUsd: laneReached[lane] ? 0 : laneLeft[lane]! } : {};
    const r = await executeChild(mapReduceNode, {
      workflowId: `${input.rootId}/${input.phase}-${input.level}/${range.start}-${range.end}`,
      staticSummary: nodeLabel(input.phase, input.level, range, input.total ?? input.range.end, spans),
      args: [{ ...input, range, budget: plan.laneBudgets[lane]!, ...(spans ? { spans } : {}), ...money }],
    });
    if (budgeted && r.budget) {
      laneLeft[lane] = roundUsd(laneLeft[lane]! - r.budget.spentUsd);
      laneReached[lane] ||= r.budget.reached;
    }
    return r;
  });
  // A child that failed is an infrastructure failure (its items' own failures are inside its parts).
  const failed = settled.find((s) => !s.ok);
  if (failed?.ok === false) throw failed.error;
  const results = settled.map((s) => (s.ok ? s.value : undefined)!);
  const usage = sumUsage(results.map((r) => r.usage));
  const byModel = mergeUsageSummaries(results.map((r) => ({ total: r.usage, byModel: r.byModel ?? {} }))).byModel;
  const estimatedByModel = mergeUsageSummaries(results.map((r) => ({ total: noUsage(), byModel: r.estimatedByModel ?? {} }))).byModel;
  return {
    parts: results.flatMap((r) => r.parts),
    usage,
    byModel,
    estimatedByModel,
    simulated: results.some((r) => r.simulated),
    ...(budgeted
      ? {
          budget: mergeBudgetReports(
            input.budgetUsd!,
            results.map((r) => r.budget),
          ),
        }
      : {}),
  };
}

async function runLeaf(input: NodeInput, lanes: number): Promise<NodeResult> {
  const { start, end } = input.range;
  const n = end - start;
  const usage = noUsage();
  const byModel: Record<string, TokenUsage> = {};
  let simulated = false;
  const groups = input.phase === 'reduce' ? groupRanges(input.job.inputCount, input.job.group) : [];

  // Progress goes to the root in about ten signals per leaf, not one per item: history stays small.
  const pending = { done: 0, failed: 0 };
  let finished = false;
  const step = Math.max(1, Math.ceil(n / 10));
  const root = getExternalWorkflowHandle(input.rootId);
  const reporter = (async () => {
    for (;;) {
      await condition(() => finished || pending.done + pending.failed >= step);
      if (pending.done + pending.failed === 0) return;
      const delta = { phase: input.phase, level: input.level, ...pending };
      pending.done = 0;
      pending.failed = 0;
      try {
        await root.signal(patched('internal-leaf-progress') ? leafProgressSignal : progressSignal, delta);
      } catch (err) {
        if (isCancellation(err)) throw err; // a missing root only costs progress display
      }
    }
  })();

  const settledCount = { done: 0, failed: 0 };
  const what = input.phase === 'map' ? 'chunks' : 'groups';
  const show = () =>
    setCurrentDetails(
      `**${settledCount.done + settledCount.failed} of ${n} ${what} done**${settledCount.failed ? `, ${settledCount.failed} failed` : ''} (up to ${lanes} at once).`,
    );
  show();
  const first = input.job.first;
  const own = first && first.index >= start && first.index < end ? first : undefined;
  const indexes = Array.from({ length: n }, (_, k) => start + k).filter((i) => i !== own?.index);
  const plan = input.job.budget;
  const ledger = plan && input.budgetUsd !== undefined ? new RunBudget(input.budgetUsd, plan.inFlight, plan.prices) : undefined;
  const call = (index: number, maxUsd?: number) => {
    const g = groups[index];
    const proxy = ledger ? budgetedItem : item;
    const cap = maxUsd !== undefined ? { maxUsd } : {};
    return input.phase === 'map'
      ? proxy(`map ${chunkLabel(input.spans, index)}`).mapChunk({ manifestRef: input.job.inputRef, index, task: input.job.task, ...cap })
      : proxy(`reduce level ${input.level}: results ${g!.start + 1}–${g!.end}`).reduceGroup({
          levelRef: input.job.inputRef,
          start: g!.start,
          count: g!.end - g!.start,
          level: input.level,
          final: false,
          task: input.job.task,
          ...cap,
        });
  };
  // With a budget, an item starts only once its worst case is reserved; it gives the reservation
  // back when it ends and is charged what it spent (retried and cancelled attempts included).
  const underBudget = (index: number): Promise<ItemOutput> => ledger!.call(plan!.callUsd, (maxUsd) => call(index, maxUsd));
  const work = slidingWindow(indexes, lanes, (index) => (ledger ? underBudget(index) : call(index)), {
    onSettle: (_index, ok) => {
      if (ok) pending.done++;
      else pending.failed++;
      settledCount[ok ? 'done' : 'failed']++;
      show();
    },
  }).finally(() => {
    finished = true;
  });
  // Joined, so a cancellation rejecting both is handled once, not left unhandled in the reporter.
  const [settled] = await Promise.all([work, reporter]);
  const entries: PartFile['entries'] = settled.map((s) =>
    s.ok ? { ok: true, ref: s.value.ref } : { ok: false, reason: failureMessage(s.error, { withType: true, maxChars: 300 }) },
  );
  if (own) entries.splice(own.index - start, 0, own.ok ? { ok: true, ref: own.ref } : { ok: false, reason: own.reason });
  const estimatedByModel: Record<string, TokenUsage> = {};
  for (const s of settled) {
    const lost = s.ok ? (s.value.retriedSpend ?? []) : spendOfFailure(s.error);
    for (const l of lost) addUsage((estimatedByModel[l.model] ??= noUsage()), l.usage);
    if (!s.ok) continue;
    addUsage(usage, s.value.usage);
    if (s.value.model) addUsage((byModel[s.value.model] ??= noUsage()), s.value.usage);
    simulated ||= s.value.simulated;
  }
  const ref = await store(`save the results of ${start + 1}–${end}`).savePart({ start, end, entries });
  return { parts: [{ start, end, ref }], usage, byModel, estimatedByModel, simulated, ...(ledger ? { budget: ledger.report() } : {}) };
}

/** What the root carries across continue-as-new. */
interface Carried {
  step: 'map' | 'reduce';
  levelRef: string;
  count: number;
  level: number;
  expectChunks: number;
  missing: MissingChunk[];
  usage: TokenUsage;
  /** Usage by phase (map, reduce) and model, for `cost` (absent from runs that began before it was added). */
  byPhase?: Record<string, Record<string, TokenUsage>>;
  /** The same for failed and retried attempts' spend (estimated). */
  estimatedByPhase?: Record<string, Record<string, TokenUsage>>;
  /** The map's usage through Message Batches (--batch), billed at the batch rate. */
  batchByModel?: BatchUsage;
  simulated: boolean;
  phases: PhaseStat[];
  progress: SummarizeProgress;
  /** Spend against the budget so far (runs with a budget). */
  budget?: BudgetReport;
}

function validate(input: SummarizeInput): void {
  const bad = (msg: string) => ApplicationFailure.nonRetryable(msg, 'InvalidInput');
  if (!input?.task?.trim()) throw bad('the task is empty');
  if (!/^sha256:[0-9a-f]{64}$/.test(input.manifestRef ?? '')) throw bad('manifestRef is not a blob reference');
  if (!Number.isInteger(input.chunkCount) || input.chunkCount < 1) throw bad('the corpus has no chunks');
  const { concurrency, group, tolerate } = SUMMARIZE_LIMITS;
  if (!Number.isInteger(input.concurrency) || input.concurrency < concurrency.min || input.concurrency > concurrency.max)
    throw bad(`concurrency must be a whole number from ${concurrency.min} to ${concurrency.max}`);
  if (!Number.isInteger(input.group) || input.group < group.min || input.group > group.max)
    throw bad(`group must be a whole number from ${group.min} to ${group.max}`);
  if (!(input.tolerate >= tolerate.min && input.tolerate <= tolerate.max))
    throw bad(`tolerate must be a percentage from ${tolerate.min} to ${tolerate.max}`);
  const t = input.tree ?? {};
  for (const [key, min] of [
    ['leafSize', 1],
    ['fanout', 2],
    ['maxLeafConcurrency', 1],
    ['maxPending', 1],
  ] as const) {
    const v = t[key];
    if (v !== undefined && !(Number.isInteger(v) && v >= min)) throw bad(`tree.${key} must be a whole number ≥ ${min}`);
  }
  const b = input.budget;
  if (b) {
    const problem = budgetProblem(b.usd);
    if (problem) throw bad(problem);
    if (b.inFlight !== undefined && b.inFlight !== 'keep' && b.inFlight !== 'cancel') throw bad('budget.inFlight must be keep or cancel');
    if (!Number.isInteger(b.mapInputTokens) || b.mapInputTokens < 1) throw bad('budget.mapInputTokens must be a whole number ≥ 1');
    for (const role of ['fast', 'capable'] as const)
      if (typeof b.models?.[role] !== 'string' || worstCaseUsd(b.models[role], 0, 0, input.prices) === undefined)
        throw bad(`budget.models.${role} (${String(b.models?.[role])}) has no price: a budget needs every model priced`);
  }
  const batch = input.batch;
  if (batch && input.budget) throw bad('a budget does not work with a batch map yet: a batch reserves nothing before it is submitted');
  if (batch) {
    const { batchSize } = SUMMARIZE_LIMITS;
    if (!Number.isInteger(batch.size) || batch.size < batchSize.min || batch.size > batchSize.max)
      throw bad(`batch size must be a whole number from ${batchSize.min} to ${batchSize.max}`);
    if (!(batch.pollMs > 0 && batch.maxPollMs >= batch.pollMs)) throw bad('batch polling needs pollMs > 0 and maxPollMs ≥ pollMs');
    if (!Number.isInteger(batch.rounds) || batch.rounds < 1) throw bad('batch rounds must be a whole number ≥ 1');
  }
}

/** Each kind of call's reservation: its input bound and max_tokens at its model's price. */
function reservations(input: SummarizeInput): { map: number; reduce: number; final: number } | undefined {
  const b = input.budget;
  if (!b) return undefined;
  // A reduce call reads `group` results, each at most a reduce call's max_tokens, counted twice over, plus the prompt.
  const reduceIn = input.group * SUMMARIZE_MAX_TOKENS.reduce * 2 + input.task.length + 2000;
  const usd = (role: 'fast' | 'capable', inputTokens: number, maxTokens: number) =>
    worstCaseUsd(b.models[role], inputTokens, maxTokens, input.prices)!;
  return {
    map: usd('fast', b.mapInputTokens, SUMMARIZE_MAX_TOKENS.map),
    reduce: usd('fast', reduceIn, SUMMARIZE_MAX_TOKENS.reduce),
    final: usd('capable', reduceIn, SUMMARIZE_MAX_TOKENS.final),
  };
}

const listMissing = (m: MissingChunk[], total: number) =>
  `${m
    .slice(0, 10)
    .map((c) => `${c.chunkId} (${c.source}:${c.start}-${c.end}): ${c.reason}`)
    .join('; ')}${total > 10 ? `; and ${total - 10} more` : ''}`;

export async function summarizeCorpus(input: SummarizeInput, carried?: Carried): Promise<SummarizeResult> {
  const status = new RunStatus('braid-status-summarize');
  return status.around(() => summarizeRoot(input, carried, status));
}

/** The current details: the phase and its progress, in words. */
function progressDetails(p: SummarizeProgress, concurrency: number): string {
  const c = p.chunks;
  if (p.phase === 'map')
    return `**Map**: ${c.done + c.failed} of ${c.total} chunks done${c.failed ? `, ${c.failed} failed` : ''} (up to ${concurrency} model calls at once).`;
  const g = p.levelGroups;
  const mapped = `Map done: ${c.done} of ${c.total} chunks${c.failed ? ` (${c.failed} failed)` : ''}.`;
  if (g.total === 1) return `**Final reduce** (level ${p.level}): one capable-model call combines the results. ${mapped}`;
  return `**Reduce level ${p.level} of ${p.levels}**: ${g.done} of ${g.total} groups done. ${mapped}`;
}

async function summarizeRoot(input: SummarizeInput, carried: Carried | undefined, status: RunStatus): Promise<SummarizeResult> {
  validate(input);
  const tree = { ...DEFAULT_TREE, ...input.tree };
  const rootId = workflowInfo().workflowId;
  const s: Carried = carried ?? {
    step: 'map',
    levelRef: input.manifestRef,
    count: input.chunkCount,
    level: 0,
    expectChunks: input.chunkCount,
    missing: [],
    usage: noUsage(),
    byPhase: {},
    simulated: false,
    phases: [],
    progress: {
      phase: 'map',
      chunks: { total: input.chunkCount, done: 0, failed: 0 },
      level: 0,
      levels: 0,
      levelGroups: { total: 0, done: 0 },
      startedAt: Date.now(),
    },
  };
  const progress = s.progress;
  const show = () => status.set(progress.phase, progressDetails(progress, input.concurrency));
  setHandler(summarizeProgressQuery, () => progress, {
    description: 'Phase (map, reduce, done), chunks done and failed, the reduce level and its groups done.',
  });
  const onLeafProgress = (d: ProgressDelta) => {
    if (d.phase === 'map' && progress.phase === 'map') {
      progress.chunks.done += d.done;
      progress.chunks.failed += d.failed;
    } else if (d.phase === 'reduce' && d.level === progress.level) {
      progress.levelGroups.done += d.done + d.failed;
    }
    show();
  };
  const internal = "Internal, not for people: the tree's leaf workflows report items done; sent by hand it only skews the progress shown.";
  setHandler(leafProgressSignal, onLeafProgress, { description: internal });
  setHandler(progressSignal, onLeafProgress, { description: `${internal} (The name leaves used before internal.leafProgress.)` });
  show();

  const reserve = reservations(input);
  if (input.budget) s.budget ??= mergeBudgetReports(input.budget.usd, []);
  const budgetLeft = () => roundUsd(input.budget!.usd - s.budget!.spentUsd);
  const jobBudget = (phase: 'map' | 'reduce') =>
    reserve
      ? {
          budget: {
            callUsd: reserve[phase],
            inFlight: input.budget!.inFlight ?? 'keep',
            ...(input.prices ? { prices: input.prices } : {}),
          },
        }
      : {};
  const runPhase = (phase: 'map' | 'reduce', level: number, inputRef: string, items: number, inputCount: number, first?: FirstItem) =>
    executeChild(mapReduceNode, {
      workflowId: `${rootId}/${phase}-${level}`,
      staticSummary: nodeLabel(phase, level, { start: 0, end: items }, items, phase === 'map' ? input.chunkSpans : undefined),
      args: [
        {
          rootId,
          phase,
          level,
          range: { start: 0, end: items },
          budget: input.concurrency,
          tree,
          job: { task: input.task, inputRef, inputCount, group: input.group, ...jobBudget(phase), ...(first ? { first } : {}) },
          total: items,
          ...(reserve ? { budgetUsd: budgetLeft() } : {}),
          ...(phase === 'map' && input.chunkSpans ? { spans: input.chunkSpans } : {}),
        },
      ],
    });
  const maybeContinue = async () => {
    if (workflowInfo().historyLength > (input.continueAsNewAfterEvents ?? 4000) || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof summarizeCorpus>(input, s);
    }
  };
  const absorb = (
    phase: 'map' | 'reduce',
    r: {
      usage: TokenUsage;
      simulated: boolean;
      byModel?: Record<string, TokenUsage>;
      model?: string;
      estimatedByModel?: Record<string, TokenUsage>;
      retriedSpend?: PartialSpend[];
      budget?: BudgetReport;
    },
  ) => {
    addUsage(s.usage, r.usage);
    if (input.budget && r.budget) s.budget = mergeBudgetReports(input.budget.usd, [s.budget, r.budget]);
    const models = ((s.byPhase ??= {})[phase] ??= {});
    for (const [model, u] of Object.entries(r.byModel ?? (r.model ? { [r.model]: r.usage } : {})))
      addUsage((models[model] ??= noUsage()), u);
    const lost = ((s.estimatedByPhase ??= {})[phase] ??= {});
    for (const [model, u] of Object.entries(r.estimatedByModel ?? {})) addUsage((lost[model] ??= noUsage()), u);
    for (const l of r.retriedSpend ?? []) addUsage((lost[l.model] ??= noUsage()), l.usage);
    s.simulated ||= r.simulated;
  };

  if (s.step === 'map') {
    const t0 = Date.now();
    let r: { parts: { start: number; end: number; ref: string }[] };
    let mapName = 'map';
    if (input.batch && patched('summarize-batch-map')) {
      const absorbBatch = (c: CollectedBatch) => {
        addUsage(s.usage, c.usage);
        for (const [model, u] of Object.entries(c.byModel)) {
          const m = ((s.batchByModel ??= {})[model] ??= {
            inputTokens: 0,
            outputTokens: 0,
            cacheReadTokens: 0,
            cacheWriteTokens: 0,
            calls: 0,
          });
          for (const k of ['inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'calls'] as const)
            m[k] = (m[k] ?? 0) + (u[k] ?? 0);
        }
        s.simulated ||= c.simulated;
        progress.chunks.done += c.ok;
      };
      r = await batchMap(input, input.batch, absorbBatch, (line) => status.set('map', line));
      mapName = `map (${counted(Math.ceil(input.chunkCount / input.batch.size), 'Message Batch', 'Message Batches')})`;
    } else {
      // Runs started before the warm-up send every map call at once; a budgeted run has no warm-up
      // (every call it makes is reserved first, in the tree).
      const first =
        !input.budget && patched('summarize-map-cache-warmup') ? await warmMapCache(input, (out) => absorb('map', out)) : undefined;
      if (first) {
        progress.chunks[first.ok ? 'done' : 'failed'] += 1;
        show();
      }
      const tree = await runPhase('map', 0, input.manifestRef, input.chunkCount, input.chunkCount, first);
      absorb('map', tree);
      r = tree;
    }
    const a = await store(`assemble the map's ${input.chunkCount} results`).assembleLevel({
      parts: r.parts,
      count: input.chunkCount,
      manifestRef: input.manifestRef,
    });
    if (a.ok + a.failed !== input.chunkCount) {
      throw ApplicationFailure.nonRetryable(
        `the map returned ${a.ok + a.failed} results for ${input.chunkCount} chunks`,
        'IncompleteResults',
      );
    }
    progress.chunks.done = a.ok;
    progress.chunks.failed = a.failed;
    if (s.budget?.reached) return budgetReached(a.levelRef, a.failures, a.ok, `${a.ok} of ${input.chunkCount} chunks mapped`);
    const pct = (100 * a.failed) / input.chunkCount;
    if (a.failed > 0 && (pct > input.tolerate || a.ok === 0)) {
      throw ApplicationFailure.create({
        nonRetryable: true,
        type: 'TooManyFailures',
        message: `${a.failed} of ${input.chunkCount} chunks failed (${pct.toFixed(1)}%, tolerated ${input.tolerate}%): ${listMissing(a.failures, a.failed)}`,
        details: [a.failures],
      });
    }
    s.phases.push({ name: mapName, items: input.chunkCount, ms: Date.now() - t0 });
    Object.assign(s, { step: 'reduce', levelRef: a.levelRef, count: a.ok, level: 1, expectChunks: a.ok, missing: a.failures });
    await maybeContinue();
  }

  let finalRef: string;
  for (;;) {
    const groups = Math.ceil(s.count / input.group);
    Object.assign(progress, {
      phase: 'reduce',
      level: s.level,
      levels: s.level - 1 + reduceLevels(s.count, input.group).length,
      levelGroups: { total: groups, done: 0 },
    });
    show();
    const t0 = Date.now();
    if (groups === 1) {
      if (reserve && budgetLeft() < reserve.final) {
        s.budget = { ...s.budget!, reached: true, skippedCalls: s.budget!.skippedCalls + 1 };
        return budgetReached(s.levelRef, s.missing, s.count, `the final reduce of ${s.count} results did not start`);
      }
      const out = await item(`final reduce: ${s.count} results (level ${s.level})`).reduceGroup({
        levelRef: s.levelRef,
        start: 0,
        count: s.count,
        level: s.level,
        final: true,
        task: input.task,
        expectChunks: s.expectChunks,
        ...(reserve ? { maxUsd: reserve.final } : {}),
      });
      absorb('reduce', out);
      if (reserve)
        s.budget = {
          ...s.budget!,
          spentUsd: roundUsd(s.budget!.spentUsd + spendUsd(out.model, out.usage, out.retriedSpend, input.prices)),
        };
      progress.levelGroups.done = 1;
      s.phases.push({ name: `final reduce (level ${s.level})`, items: 1, ms: Date.now() - t0 });
      finalRef = out.ref;
      break;
    }
    const r = await runPhase('reduce', s.level, s.levelRef, groups, s.count);
    absorb('reduce', r);
    const a = await store(`assemble reduce level ${s.level}: ${groups} results`).assembleLevel({ parts: r.parts, count: groups });
    if (s.budget?.reached) return budgetReached(a.levelRef, s.missing, a.ok, `reduce level ${s.level}: ${a.ok} of ${groups} groups done`);
    if (a.failed > 0) {
      throw ApplicationFailure.nonRetryable(
        `reduce level ${s.level}: ${a.failed} of ${groups} groups failed: ${a.failures
          .slice(0, 5)
          .map((f) => f.reason)
          .join('; ')}`,
        'ReduceFailed',
      );
    }
    s.phases.push({ name: `reduce level ${s.level}`, items: groups, ms: Date.now() - t0 });
    Object.assign(s, { levelRef: a.levelRef, count: a.ok, level: s.level + 1 });
    await maybeContinue();
  }

  const final = await store('load the final answer').loadResult(finalRef);
  const budget = s.budget ? { budget: s.budget } : {};
  progress.phase = 'done';
  const missingCount = progress.chunks.failed;
  status.set(
    RUN_STATUS.done,
    `**Done**: ${counted(input.chunkCount, 'chunk')}, ${counted(s.level, 'reduce level')}${missingCount ? `; **${counted(missingCount, 'chunk')} missing** from the answer` : ''}. ${gist(final.summary, 200)}`,
  );
  return {
    answer: final.summary,
    points: final.points,
    claims: final.claims ?? [],
    relevantChunks: final.relevantChunks ?? final.chunks,
    citationChecks: final.checks ?? { returned: 0, aligned: 0, widened: 0, rejected: 0, uncited: 0 },
    omittedRanges: final.omittedRanges ?? 0,
    complete: missingCount === 0,
    citations: final.sources,
    ...jobTotals(finalRef, s.missing),
    ...budget,
  };

  /** What every result carries beside its answer: where its results are, what is missing, usage, cost, time. */
  function jobTotals(resultRef: string, missing: MissingChunk[]) {
    return {
      missing,
      badFiles: input.badFiles,
      resultRef,
      chunks: input.chunkCount,
      reduceLevels: s.level,
      usage: s.usage,
      ...costByPhase(s.byPhase ?? {}, s.estimatedByPhase ?? {}, input.prices, s.batchByModel),
      phases: s.phases,
      simulated: s.simulated,
      totalMs: Date.now() - progress.startedAt,
    };
  }

  /** The result of a job the budget stopped: no answer, the results completed kept at `levelRef`. */
  function budgetReached(levelRef: string, missing: MissingChunk[], kept: number, what: string): SummarizeResult {
    const b = s.budget!;
    progress.phase = 'done';
    const line = `budget reached (${formatUsd(b.spentUsd)} spent of ${formatUsd(b.usd)}): ${what}; no answer was reduced, the ${counted(kept, 'result')} completed are kept`;
    status.set(BUDGET_REACHED, `**Budget reached**: ${line.replace(/^budget reached /, '')}.`);
    return {
      answer: `(${line}.)`,
      points: [],
      claims: [],
      relevantChunks: 0,
      citationChecks: { returned: 0, aligned: 0, widened: 0, rejected: 0, uncited: 0 },
      omittedRanges: 0,
      complete: false,
      citations: [],
      ...jobTotals(levelRef, missing),
      status: BUDGET_REACHED,
      budget: b,
    };
  }
}

/**
 * When the map calls share a prefix the fast model can cache (a long task), the first chunk's call
 * runs alone: a cache entry is visible only once the response that writes it has begun, so calls
 * sent together would all pay for the write. The rest then read it. Returns that first item's
 * outcome, or undefined when nothing is worth warming.
 */
async function warmMapCache(input: SummarizeInput, absorb: (out: ItemOutput) => void): Promise<FirstItem | undefined> {
  if (input.chunkCount < 2) return undefined;
  const plan = await store("check whether the map's shared prompt is long enough to cache").mapCachePlan({ task: input.task });
  if (!plan.cacheable) return undefined;
  try {
    const out = await item(`warm the prompt cache: map ${chunkLabel(input.chunkSpans, 0)}`).mapChunk({
      manifestRef: input.manifestRef,
      index: 0,
      task: input.task,
    });
    absorb(out);
    return { index: 0, ok: true, ref: out.ref };
  } catch (err) {
    if (isCancellation(err)) throw err;
    return { index: 0, ok: false, reason: failureMessage(err, { withType: true, maxChars: 300 }) };
  }
}

/** The run's cost and its cost by phase, from usage by phase and model, at the input's prices. */
function costByPhase(
  byPhase: Record<string, Record<string, TokenUsage>>,
  estimatedByPhase: Record<string, Record<string, TokenUsage>>,
  prices: SummarizeInput['prices'],
  batch?: BatchUsage,
): Pick<SummarizeResult, 'cost' | 'costByPhase'> {
  const names = [...new Set([...Object.keys(byPhase), ...Object.keys(estimatedByPhase)])];
  const estimated = (phase: string) => Object.entries(estimatedByPhase[phase] ?? {}).map(([model, usage]) => ({ model, usage }));
  const phases = Object.fromEntries(
    names.map((phase) => [phase, addEstimated(costOfUsage(byPhase[phase] ?? {}, prices), estimated(phase), prices)]),
  );
  if (batch) phases.map = mergeCosts(...(phases.map ? [phases.map] : []), costOfBatchUsage(batch, prices));
  return { cost: mergeCosts(...Object.values(phases)), costByPhase: phases };
}
