/**
 * `npm run bench -- speculate`: the same questions with and without hedged model calls, measured in
 * one run, under a heavy-tailed (log-normal) time to first token from the simulator (its own
 * process). `without`: one call per question. `with`: each call through a Hedger — a call past the
 * model's recent p95 (from this run's own earlier calls) is sent again, the first answer wins, the
 * other is cancelled (its streamed spend charged as estimated), at most 10% of calls hedged. Both
 * variants run at once on one worker, so they see the same load. Reported: p50/p95/p99 latency per
 * question (workflow clock), tokens and dollars; `--json` prints `{ without, with, … }`.
 *
 * Then the strategy race of `braid ask --speculate`, under the same latency: handbook questions
 * (the labelled search queries that have handbook passages), each distinct question asked
 * `--race-repeats` times in rounds, `--race-concurrency` at a time, both variants at once.
 * `without`: the full tool agent (`toolAgent` with search_docs) answers each. `with`: the race —
 * the answer cache at 0 ms, retrieval + the fast model at +50 ms, the tool agent at +200 ms — first
 * valid answer wins, the others are cancelled. Latency is the client's (start to result); tokens
 * and dollars are the runs' own, the race's with its cancelled losers' spend (a cancelled agent
 * child reports its own to the race). `--json` adds
 * `race: { without, with, winners, … }` beside the hedging figures.
 */
import { simulatorModel } from '../src/model-client';
import Table from 'cli-table3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { tableStyle } from '../src/cli/render';
import { readConfig } from '../src/config';
import { formatUsd } from '../src/shared/pricing';
import { ToolRegistry } from '../src/tools';
import { quantileOf } from '../src/workflows/hedge';
import { createBraidWorker } from '../src/worker';
import { benchTemporal, loadAverage, startSimulatorProcess } from './harness';
import { benchBundle } from './overhead';
import type { SpeculateBenchRun } from './workflows';
import { ASK_WORKFLOW, type AgentInput, type AgentResult } from '../src/shared/ask';
import {
  SPECULATE_WORKFLOW,
  type SpeculateInput,
  type SpeculateResult,
  type StrategySpec,
  type ValidatorName,
} from '../src/shared/speculate';
import { createSearchTool } from '../src/tools/search';
import { defaultDataDir } from '../src/tools/paths';
import { readQuerySet } from './search-set';
import { plotFile, writePlot, type Panel } from './plot';

export interface SpeculateBenchOptions {
  calls: number;
  concurrency: number;
  medianMs: number;
  sigma: number;
  json: boolean;
  /** Also draw the figures as an SVG (`--plot [file]`). */
  plot?: string | true;
  /** Distinct questions in the strategy race (0: no race). */
  raceQuestions: number;
  /** How many times each is asked (in rounds, so a repeat comes after the first answer). */
  raceRepeats: number;
  raceConcurrency: number;
  raceValidator: ValidatorName;
  /** The race's strategies and staggers; default RACE_STRATEGIES. */
  raceStrategies?: StrategySpec[];
}

/** The race by default: where each strategy starts. */
export const RACE_STRATEGIES: StrategySpec[] = [
  { name: 'cache', startAfterMs: 0 },
  { name: 'retrieval', startAfterMs: 50 },
  { name: 'agent', startAfterMs: 200 },
];

interface RaceRun {
  latenciesMs: number[];
  /** Latencies by the strategy that won. */
  byWinner: Record<string, number[]>;
  /** The workflow's own time from its start to the winner (the race's elapsedMs): not the losers' cancellation, nor the cache store. */
  toWinnerMs: number[];
  tokens: number;
  costUsd: number;
  winners: Record<string, number>;
  failed: number;
}

/** Handbook questions: the labelled search queries whose relevant passages include the handbook's. */
function handbookQuestions(n: number): string[] {
  const all = readQuerySet()
    .filter((q) => Object.keys(q.relevant).some((id) => id.startsWith('handbook:')))
    .map((q) => q.query);
  if (n > all.length) throw new Error(`--race-questions: the set has ${all.length} handbook questions; ask for at most that many`);
  return all.slice(0, n);
}

/** Runs `ask` over the questions `c` at a time; latency from start to result, as the client sees it. */
async function raceVariant(
  questions: string[],
  c: number,
  ask: (q: string, i: number) => Promise<{ tokens: number; costUsd: number; winner: string; elapsedMs: number }>,
): Promise<RaceRun> {
  const out: RaceRun = { latenciesMs: [], byWinner: {}, toWinnerMs: [], tokens: 0, costUsd: 0, winners: {}, failed: 0 };
  let next = 0;
  const lane = async () => {
    while (next < questions.length) {
      const i = next++;
      const t0 = Date.now();
      try {
        const r = await ask(questions[i]!, i);
        out.latenciesMs.push(Date.now() - t0);
        (out.byWinner[r.winner] ??= []).push(Date.now() - t0);
        out.toWinnerMs.push(r.elapsedMs);
        out.tokens += r.tokens;
        out.costUsd += r.costUsd;
        out.winners[r.winner] = (out.winners[r.winner] ?? 0) + 1;
      } catch {
        out.failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: c }, lane));
  out.costUsd = +out.costUsd.toFixed(6);
  return out;
}

interface Figures {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  tokens: number;
  costUsd: number;
}

const raceFigures = (r: RaceRun): Figures => ({
  p50Ms: quantileOf(r.latenciesMs, 0.5) ?? 0,
  p95Ms: quantileOf(r.latenciesMs, 0.95) ?? 0,
  p99Ms: quantileOf(r.latenciesMs, 0.99) ?? 0,
  tokens: r.tokens,
  costUsd: r.costUsd,
});

const figures = (r: SpeculateBenchRun): Figures => ({
  p50Ms: quantileOf(r.latenciesMs, 0.5)!,
  p95Ms: quantileOf(r.latenciesMs, 0.95)!,
  p99Ms: quantileOf(r.latenciesMs, 0.99)!,
  tokens: r.tokens,
  costUsd: r.costUsd,
});

/** The figures as panels: latency with and without hedging, and of the race; tokens and dollars of both. */
function speculatePanels(out: {
  without: Figures;
  with: Figures;
  race?: { without: Figures; with: Figures; strategies: string };
}): Panel[] {
  const pcts = (f: Figures, series: string) => [
    { group: 'p50', series, value: f.p50Ms },
    { group: 'p95', series, value: f.p95Ms },
    { group: 'p99', series, value: f.p99Ms },
  ];
  const panels: Panel[] = [
    {
      title: 'Hedged model calls: latency per question',
      yTitle: 'ms',
      bars: [...pcts(out.without, 'without'), ...pcts(out.with, 'with hedging')],
    },
  ];
  const r = out.race;
  if (r)
    panels.push({
      title: `Strategy race (${r.strategies}) vs the tool agent alone: latency per question`,
      yTitle: 'ms',
      bars: [...pcts(r.without, 'tool agent alone'), ...pcts(r.with, 'race')],
    });
  const pair = (key: 'tokens' | 'costUsd') => [
    { group: 'hedged calls', series: 'without', value: out.without[key] },
    { group: 'hedged calls', series: 'with', value: out.with[key] },
    ...(r
      ? [
          { group: 'strategy race', series: 'without', value: r.without[key] },
          { group: 'strategy race', series: 'with', value: r.with[key] },
        ]
      : []),
  ];
  panels.push({ title: 'Tokens, all questions', yTitle: 'tokens', bars: pair('tokens') });
  panels.push({ title: 'Dollars, all questions', yTitle: 'USD', bars: pair('costUsd') });
  return panels;
}

export async function speculateBench(o: SpeculateBenchOptions): Promise<void> {
  const log = (l: string) => !o.json && process.stderr.write(`${l}\n`);
  const sim = await startSimulatorProcess({ latency: { ttftMs: { lognormal: { median: o.medianMs, sigma: o.sigma } }, perTokenMs: 1 } });
  const temporal = await benchTemporal(log);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-bench-speculate-'));
  const cfg = readConfig({
    BRAID_TASK_QUEUE: `bench-speculate-${randomUUID()}`,
    BRAID_BLOB_DIR: path.join(dir, 'blobs'),
    BRAID_ANSWER_CACHE: path.join(dir, 'answers.db'),
  });
  const model = simulatorModel(sim.url, 120_000);
  const worker = await createBraidWorker({
    connection: temporal.native,
    cfg,
    // search_docs for the race's tool agent; the retrieval strategy searches the handbook source.
    registry: new ToolRegistry().register(createSearchTool({ docsDir: path.join(defaultDataDir(), 'docs') })),
    model,
    workflowBundle: await benchBundle(),
    tuning: { maxConcurrentActivityTaskExecutions: Math.max(4 * o.concurrency, 50) },
  });
  const running = worker.run();
  const start = (mode: 'without' | 'with') =>
    temporal.client.workflow.execute('benchSpeculate', {
      taskQueue: cfg.taskQueue,
      workflowId: `bench-speculate-${mode}-${randomUUID()}`,
      args: [mode, o.calls, o.concurrency],
    }) as Promise<SpeculateBenchRun>;
  let runs: [SpeculateBenchRun, SpeculateBenchRun];
  let raced: [RaceRun, RaceRun] | undefined;
  const distinct = o.raceQuestions > 0 ? handbookQuestions(o.raceQuestions) : [];
  const strategies = o.raceStrategies ?? RACE_STRATEGIES;
  const load = [loadAverage()];
  try {
    log(`simulator ${sim.url} (own process): time to first token log-normal, median ${o.medianMs} ms, σ ${o.sigma}`);
    runs = await Promise.all([start('without'), start('with')]);
    load.push(loadAverage());
    if (distinct.length > 0) {
      const questions = Array.from({ length: o.raceRepeats }, () => distinct).flat();
      log(`strategy race: ${distinct.length} handbook questions × ${o.raceRepeats}, ${o.raceConcurrency} at a time per variant`);
      const tools = ['search_docs'];
      raced = await Promise.all([
        raceVariant(questions, o.raceConcurrency, async (question, i) => {
          const r = (await temporal.client.workflow.execute(ASK_WORKFLOW, {
            taskQueue: cfg.taskQueue,
            workflowId: `bench-race-without-${i}-${randomUUID()}`,
            args: [{ question, tools } satisfies AgentInput],
          })) as AgentResult;
          return {
            tokens: r.usage.total.inputTokens + r.usage.total.outputTokens,
            costUsd: r.cost?.totalUsd ?? 0,
            winner: 'agent',
            elapsedMs: r.timing.totalMs,
          };
        }),
        raceVariant(questions, o.raceConcurrency, async (question, i) => {
          const r = (await temporal.client.workflow.execute(SPECULATE_WORKFLOW, {
            taskQueue: cfg.taskQueue,
            workflowId: `bench-race-with-${i}-${randomUUID()}`,
            args: [{ question, tools, strategies, validator: o.raceValidator } satisfies SpeculateInput],
          })) as SpeculateResult;
          return {
            tokens: r.usage.total.inputTokens + r.usage.total.outputTokens,
            costUsd: r.cost.totalUsd,
            winner: r.winner,
            elapsedMs: r.elapsedMs,
          };
        }),
      ]);
      load.push(loadAverage());
    }
  } finally {
    await worker.shutdown();
    await running;
    await temporal.close();
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const [without, withHedging] = runs;
  const out = {
    scenario: 'speculate',
    calls: o.calls,
    concurrency: o.concurrency,
    latency: { lognormal: { medianMs: o.medianMs, sigma: o.sigma } },
    without: figures(without),
    with: figures(withHedging),
    hedges: withHedging.hedges,
    hedgeWins: withHedging.hedgeWins,
    hedgeRate: +(withHedging.hedges / o.calls).toFixed(3),
    estimatedUsd: withHedging.estimatedUsd,
    ...(raced
      ? {
          race: {
            questions: distinct.length * o.raceRepeats,
            distinct: distinct.length,
            repeats: o.raceRepeats,
            concurrency: o.raceConcurrency,
            strategies: strategies.map((x) => `${x.name}=${x.startAfterMs}`).join(','),
            validator: o.raceValidator,
            without: raceFigures(raced[0]),
            with: raceFigures(raced[1]),
            winners: raced[1].winners,
            // The workflows' own times: the agent's run; the race's start to its winner (before losers are cancelled, the answer stored).
            toAnswerMs: {
              without: { p50: quantileOf(raced[0].toWinnerMs, 0.5) ?? 0, p95: quantileOf(raced[0].toWinnerMs, 0.95) ?? 0 },
              with: { p50: quantileOf(raced[1].toWinnerMs, 0.5) ?? 0, p95: quantileOf(raced[1].toWinnerMs, 0.95) ?? 0 },
            },
            p50MsByWinner: Object.fromEntries(Object.entries(raced[1].byWinner).map(([k, v]) => [k, quantileOf(v, 0.5) ?? 0])),
            failed: { without: raced[0].failed, with: raced[1].failed },
          },
        }
      : {}),
    loadAverage: Math.max(...load),
  };
  if (o.plot) await writePlot(plotFile('speculate', o.plot), 'npm run bench -- speculate', speculatePanels(out));
  if (o.json) return void console.log(JSON.stringify(out));
  const t = new Table({ head: ['variant', 'p50', 'p95', 'p99', 'tokens', 'cost'], style: tableStyle() });
  for (const [name, f] of [
    ['without', out.without],
    ['with hedging', out.with],
  ] as const)
    t.push([name, `${f.p50Ms} ms`, `${f.p95Ms} ms`, `${f.p99Ms} ms`, String(f.tokens), formatUsd(f.costUsd)]);
  console.log(t.toString());
  console.log(
    `${o.calls} calls each, ${o.concurrency} at a time; ${out.hedges} hedged (${(out.hedgeRate * 100).toFixed(1)}%), ${out.hedgeWins} won by the hedge; load average up to ${out.loadAverage}`,
  );
  if (!out.race) return;
  const r = out.race;
  const rt = new Table({ head: ['strategy race', 'p50', 'p95', 'p99', 'tokens', 'cost'], style: tableStyle() });
  for (const [name, f] of [
    ['without (tool agent)', r.without],
    [`with (${r.strategies})`, r.with],
  ] as const)
    rt.push([name, `${f.p50Ms} ms`, `${f.p95Ms} ms`, `${f.p99Ms} ms`, String(f.tokens), formatUsd(f.costUsd)]);
  console.log(rt.toString());
  const won = Object.entries(r.winners)
    .map(([k, v]) => `${k} ${v} (p50 ${r.p50MsByWinner[k]} ms)`)
    .join(', ');
  console.log(
    `${r.distinct} questions × ${r.repeats}, ${r.concurrency} at a time; winners: ${won}; failed: ${r.failed.without} without, ${r.failed.with} with; validator ${r.validator}`,
  );
  console.log(
    `in the workflows' own time, to the answer: without p50 ${r.toAnswerMs.without.p50} ms, p95 ${r.toAnswerMs.without.p95} ms; with (start to winner) p50 ${r.toAnswerMs.with.p50} ms, p95 ${r.toAnswerMs.with.p95} ms`,
  );
}
