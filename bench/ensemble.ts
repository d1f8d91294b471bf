/**
 * `npm run bench -- ensemble`: what a model ensemble buys and what it costs, measured in one run of
 * the real workflow (a throwaway Temporal server, the simulator as every model). The labelled set is
 * data/fixtures/support-tickets.jsonl (250 tickets, 5 labels), registered with the simulator, so each
 * model is wrong on exactly round(p·N) tickets — its error rate from the model table — and different
 * models' errors are independent draws: single-model accuracy is exact by construction, and the
 * vote's and the judge's are what those independent draws give, printed beside the exact prediction
 * for independent members (predictAccuracy).
 *
 * One batch is run with the judge as aggregator: every item gets every member's vote, the majority
 * vote is counted on them, and the judge is asked where the members disagree. So one run measures
 * each member alone (its votes), the vote, and the judge — with each model's tokens, dollars and
 * latency — and the ensemble's cost is set against the best single model's on the same prompts.
 */
import fs from 'node:fs';
import path from 'node:path';
import Table from 'cli-table3';
import { simulatedBench } from './harness';
import { tableStyle } from '../src/cli/render';
import { ENSEMBLE_WORKFLOW, predictAccuracy, type EnsembleInput, type EnsembleResult, type ItemOutcome } from '../src/shared/ensemble';
import { formatUsd, usdFor } from '../src/shared/pricing';
import { llmTaskQueue } from '../src/shared/task-queues';
import type { TokenUsage } from '../src/shared/types';
import { fromJsonl, SUPPORT_TICKET_LABELS } from '../src/simulator/fixtures/support-tickets';
import { Mind } from '../src/simulator/mind';
import { plotFile, writePlot } from './plot';

export interface EnsembleBenchOptions {
  items: number;
  models: string[];
  judge: string;
  concurrency: number;
  json: boolean;
  /** Also draw the figures as an SVG (`--plot [file]`). */
  plot?: string | true;
}

const FIXTURE = path.join(__dirname, '..', 'data', 'fixtures', 'support-tickets.jsonl');

const round = (x: number, digits = 4) => Number(x.toFixed(digits));

function percentile(xs: number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

const tokensOf = (us: (TokenUsage | undefined)[]) => us.reduce((n, u) => n + (u ? u.inputTokens + u.outputTokens : 0), 0);

export async function ensembleBench(o: EnsembleBenchOptions): Promise<void> {
  const log = (l: string) => !o.json && process.stderr.write(`${l}\n`);
  const full = fromJsonl('support-tickets', fs.readFileSync(FIXTURE, 'utf8'), [...SUPPORT_TICKET_LABELS]);
  if (o.items > full.items.length) throw new Error(`--items is at most ${full.items.length} (the labelled set)`);
  // The registered set is the items measured, so "exactly round(p·N) errors" holds for this N.
  const set = { ...full, items: full.items.slice(0, o.items) };
  const N = set.items.length;
  const labels = [...SUPPORT_TICKET_LABELS];
  // The simulator's model table sets each model's latency, error rate and price.
  const bench = await simulatedBench({ log, taskQueue: 'bench-ensemble', simulator: { datasets: [set] } });
  const { sim, temporal, cfg } = bench;
  let r: EnsembleResult;
  try {
    log(`simulator ${sim.url}: ${N} labelled tickets, ${labels.length} labels; members ${o.models.join(', ')}; judge ${o.judge}`);
    const input: EnsembleInput = {
      items: set.items.map((i) => ({ id: i.id, text: i.text, expected: i.label })),
      labels,
      members: o.models.map((model) => ({ model })),
      aggregate: 'judge',
      judge: o.judge,
      concurrency: o.concurrency,
      llmTaskQueue: llmTaskQueue(cfg.taskQueue),
      prices: { ...cfg.prices },
    };
    r = await temporal.client.workflow.execute<(i: EnsembleInput) => Promise<EnsembleResult>>(ENSEMBLE_WORKFLOW, {
      taskQueue: cfg.taskQueue,
      workflowId: `bench-ensemble-${Date.now()}`,
      args: [input],
    });
  } finally {
    await bench.close();
  }
  if (r.summary.noQuorum > 0 || r.summary.missingVotes > 0)
    throw new Error(`${r.summary.missingVotes} vote(s) went missing during the benchmark; its figures would not be comparable`);

  // Predictions from the error rates the set realises by construction: round(p·N)/N.
  const mind = new Mind({ datasets: [set] });
  const realised = (model: string) => Math.round(mind.profile(model).errorRate * N) / N;
  const rates = o.models.map(realised);
  const predicted = predictAccuracy(rates, labels.length, realised(o.judge));
  const coinciding = predictAccuracy(rates, 2);
  const acc = r.summary.accuracy!;

  // Per member: its calls' tokens, dollars and latencies (workflow clock).
  const table = cfg.prices;
  const member = o.models.map((model, i) => {
    const votes = r.items.map((it) => it.votes[i]!);
    return {
      model,
      accuracy: acc.byMember[i]!.accuracy,
      tokens: tokensOf(votes.map((v) => v.usage)),
      usd: votes.reduce((s, v) => s + (v.usage ? (usdFor(v.answeredBy ?? model, v.usage, { table }) ?? 0) : 0), 0),
      durations: votes.map((v) => v.endedAt! - v.startedAt!),
    };
  });
  const judged = r.items.filter((it): it is ItemOutcome & { judge: NonNullable<ItemOutcome['judge']> } => it.judge !== undefined);
  const judgeUsd = judged.reduce(
    (s, it) => s + (it.judge.usage ? (usdFor(it.judge.answeredBy ?? o.judge, it.judge.usage, { table }) ?? 0) : 0),
    0,
  );
  const membersUsd = member.reduce((s, m) => s + m.usd, 0);
  // The best single model: the most accurate member (the cheaper one on a tie).
  const best = [...member].sort((a, b) => b.accuracy - a.accuracy || a.usd - b.usd)[0]!;
  const slowest = r.items.map((it) => Math.max(...it.votes.map((v) => v.endedAt! - v.startedAt!)));
  const out = {
    items: N,
    labels: labels.length,
    members: o.models,
    judge: o.judge,
    singleAccuracy: Object.fromEntries(member.map((m) => [m.model, round(m.accuracy)])),
    voteAccuracy: round(acc.vote),
    judgeAccuracy: round(acc.judge!),
    predicted: {
      singleAccuracy: Object.fromEntries(o.models.map((m, i) => [m, round(1 - rates[i]!)])),
      voteAccuracy: round(predicted.vote),
      voteAccuracyIfWrongVotesCoincide: round(coinciding.vote),
      judgeAccuracy: round(predicted.judge!),
    },
    bestSingleModel: best.model,
    costRatio: round(r.cost.totalUsd / best.usd, 3),
    voteCostRatio: round(membersUsd / best.usd, 3),
    tokenRatio: round((r.usage.total.inputTokens + r.usage.total.outputTokens) / best.tokens, 3),
    costUsd: {
      ensemble: r.cost.totalUsd,
      members: round(membersUsd, 8),
      judge: round(judgeUsd, 8),
      byModel: Object.fromEntries(member.map((m) => [m.model, round(m.usd, 8)])),
    },
    tokens: {
      ensemble: r.usage.total.inputTokens + r.usage.total.outputTokens,
      judge: tokensOf(judged.map((it) => it.judge.usage)),
      byModel: Object.fromEntries(member.map((m) => [m.model, m.tokens])),
    },
    judgeCalls: judged.length,
    latencyMs: {
      ensembleP50: percentile(
        r.items.map((it) => it.elapsedMs),
        0.5,
      ),
      ensembleP95: percentile(
        r.items.map((it) => it.elapsedMs),
        0.95,
      ),
      slowestMemberP50: percentile(slowest, 0.5),
      judgeP50: percentile(
        judged.map((it) => it.judge.endedAt - it.judge.startedAt),
        0.5,
      ),
      judgedItemP50: percentile(
        judged.map((it) => it.elapsedMs),
        0.5,
      ),
      byModelP50: Object.fromEntries(member.map((m) => [m.model, percentile(m.durations, 0.5)])),
    },
    concurrency: o.concurrency,
    peakRunning: r.peakRunning,
    totalMs: r.totalMs,
  };
  if (o.plot) {
    const pctOf = (x: number) => +(x * 100).toFixed(1);
    const groups: [string, number, number][] = [
      ...o.models.map((m): [string, number, number] => [m, out.singleAccuracy[m] ?? 0, out.predicted.singleAccuracy[m] ?? 0]),
      ['majority vote', out.voteAccuracy, out.predicted.voteAccuracy],
      [`judge (${o.judge})`, out.judgeAccuracy, out.predicted.judgeAccuracy],
    ];
    await writePlot(plotFile('ensemble', o.plot), 'npm run bench -- ensemble', [
      {
        title: `Accuracy on ${N} labelled tickets: each model alone, the vote, the judge`,
        yTitle: '% right',
        bars: groups.flatMap(([group, measured, predicted]) => [
          { group, series: 'measured', value: pctOf(measured) },
          { group, series: 'predicted', value: pctOf(predicted) },
        ]),
      },
      {
        title: 'Dollars for the whole set',
        yTitle: 'USD',
        bars: [
          ...o.models.map((m) => ({ group: m, series: 'alone', value: out.costUsd.byModel[m] ?? 0 })),
          { group: 'ensemble', series: 'ensemble', value: out.costUsd.ensemble },
        ],
      },
    ]);
  }
  if (o.json) {
    console.log(JSON.stringify(out));
    return;
  }
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const t = new Table({ head: ['', 'accuracy', 'predicted', 'tokens', 'cost', 'p50 latency'], style: tableStyle() });
  for (const [i, m] of member.entries())
    t.push([m.model, pct(m.accuracy), pct(1 - rates[i]!), m.tokens, formatUsd(m.usd), `${out.latencyMs.byModelP50[m.model]} ms`]);
  t.push([
    `${o.models.length}-model majority vote`,
    pct(out.voteAccuracy),
    `${pct(out.predicted.voteAccuracy)} (${pct(out.predicted.voteAccuracyIfWrongVotesCoincide)} if wrong votes coincide)`,
    out.tokens.ensemble - out.tokens.judge,
    formatUsd(membersUsd),
    `${out.latencyMs.slowestMemberP50} ms (slowest member)`,
  ]);
  t.push([
    `judge ${o.judge} where members disagree`,
    pct(out.judgeAccuracy),
    pct(out.predicted.judgeAccuracy),
    `+${out.tokens.judge} (${judged.length} calls)`,
    `+${formatUsd(judgeUsd)}`,
    `${out.latencyMs.judgeP50} ms (judge)`,
  ]);
  console.log(t.toString());
  console.log(
    [
      `${N} tickets, ${labels.length} labels; each model wrong on exactly round(p·N) of them, independently (predictions use those rates: ${o.models.map((m, i) => `${m} ${pct(rates[i]!)}`).join(', ')}).`,
      `cost: the ensemble (members + judge) ${formatUsd(r.cost.totalUsd)} = ${out.costRatio}× the best single model (${best.model}, ${formatUsd(best.usd)}); the vote alone ${out.voteCostRatio}×; tokens ${out.tokenRatio}×.`,
      `latency per item: p50 ${out.latencyMs.ensembleP50} ms (p95 ${out.latencyMs.ensembleP95} ms) ≈ the slowest member (p50 ${out.latencyMs.slowestMemberP50} ms) + the judge where asked (p50 ${out.latencyMs.judgeP50} ms; judged items p50 ${out.latencyMs.judgedItemP50} ms).`,
      `${o.concurrency} items at once (peak ${r.peakRunning}); the whole batch ${(r.totalMs / 1000).toFixed(1)} s.`,
    ].join('\n'),
  );
}
