/**
 * `braid ask --speculate`: starts the speculative ask (src/workflows/speculate.ts) — the cache, the
 * fast model and the tool agent raced with staggered starts — shows each strategy live, and prints
 * the winning answer with every strategy's fate, timing, tokens and dollars (a cancelled loser's
 * marked estimated). `--json` prints one object.
 */
import Table from 'cli-table3';
import pc from 'picocolors';
import { formatUsd } from '../shared/pricing';
import {
  DEFAULT_STRATEGIES,
  SPECULATE_WORKFLOW,
  speculateLabels,
  speculateProblem,
  speculateProgressQuery,
  STRATEGY_NAMES,
  type SpeculateInput,
  type SpeculateResult,
  type StrategyName,
  type StrategyReport,
  type StrategySpec,
} from '../shared/speculate';
import { webUiLink } from '../temporal/connection';
import type { speculativeAsk } from '../workflows';
import { UsageError } from './errors';
import { LiveBlock, ms, parallelismText, tableStyle } from './render';
import { announceRun, followRun, newRunId, startRun, type Session } from './session';

/**
 * `cache=0,fast=50,agent=200` (a name alone starts at its default stagger, or 0) into strategies;
 * undefined gives the defaults. A bad entry is a usage error.
 */
export function parseStrategies(text: string | undefined): StrategySpec[] {
  if (text === undefined) return DEFAULT_STRATEGIES.map((s) => ({ ...s }));
  const out: StrategySpec[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    const m = /^([a-z]+)(?:=(\d+))?$/.exec(part);
    if (!m || !(STRATEGY_NAMES as readonly string[]).includes(m[1]!))
      throw new UsageError(`--speculate: "${part}" is not name[=ms] with name one of ${STRATEGY_NAMES.join(', ')}`);
    const name = m[1] as StrategyName;
    out.push({
      name,
      startAfterMs: m[2] !== undefined ? Number(m[2]) : (DEFAULT_STRATEGIES.find((d) => d.name === name)?.startAfterMs ?? 0),
    });
  }
  return out;
}

function liveLines(strategies: StrategyReport[]): string[] {
  return strategies.map((s) => `  ${s.name.padEnd(9)} ${s.status}${s.reason ? pc.dim(` — ${s.reason}`) : ''}`);
}

function printResult(r: SpeculateResult, webUi: string | undefined): void {
  console.log(`\n${pc.bold('Answer')} ${pc.dim(`— ${r.winner} won after ${ms(r.elapsedMs)}`)}\n${r.answer}\n`);
  const t = new Table({ head: ['strategy', 'status', 'start', 'end', 'tokens', 'cost', 'why'], style: tableStyle() });
  for (const s of r.strategies)
    t.push([
      s.name,
      s.status,
      ms(s.startMs),
      ms(s.endMs),
      String(s.tokens),
      `${formatUsd(s.costUsd)}${s.estimated ? ' (est.)' : ''}`,
      s.reason ?? '',
    ]);
  console.log(t.toString());
  const est = r.cost.estimatedUsd > 0 ? ` (${formatUsd(r.cost.estimatedUsd)} of it estimated: streams cut by the cancel)` : '';
  console.log(
    `total ${r.usage.total.inputTokens + r.usage.total.outputTokens} tokens, ${formatUsd(r.cost.totalUsd)}${est}${r.cached ? ' · answer cached' : ''}`,
  );
  console.log(speculationLine(r));
  if (webUi) console.log(`\n${pc.dim('Web UI:')} ${webUi}`);
}

/** What racing the strategies bought (time against running them one after another) and cost (the losers' spend). */
export function speculationLine(r: Pick<SpeculateResult, 'strategies' | 'cost' | 'winner'>): string {
  const ran = r.strategies.filter((s) => s.startMs !== undefined && s.endMs !== undefined);
  const branchMs = ran.reduce((n, s) => n + (s.endMs! - s.startMs!), 0);
  const makespanMs = ran.length ? Math.max(...ran.map((s) => s.endMs!)) - Math.min(...ran.map((s) => s.startMs!)) : 0;
  const won = r.strategies.find((s) => s.name === r.winner)?.costUsd ?? 0;
  return parallelismText({ branchMs, makespanMs, extraUsd: r.cost.totalUsd - won, extraOf: 'the speculative branches that lost' });
}

/** Starts a speculative ask and follows it to its answer. */
export async function speculate(s: Session, input: SpeculateInput, o: { json: boolean; workflowId?: string }): Promise<SpeculateResult> {
  const problem = speculateProblem(input);
  if (problem) throw new UsageError(problem);
  const handle = await startRun<typeof speculativeAsk>(s, SPECULATE_WORKFLOW, {
    workflowId: o.workflowId ?? newRunId('ask'),
    args: [input],
    kind: 'ask',
    status: 'racing',
    labels: speculateLabels(input),
  });
  const webUi = webUiLink(handle.workflowId, handle.firstExecutionRunId, s.target);
  if (!o.json)
    announceRun(
      handle.workflowId,
      webUi,
      (input.strategies ?? DEFAULT_STRATEGIES).map((x) => `${x.name} +${x.startAfterMs} ms`).join(' · '),
    );
  const live = o.json ? undefined : new LiveBlock();
  const result = await followRun(handle, {
    tick: live ? async () => live.update(liveLines((await handle.query(speculateProgressQuery)).strategies)) : undefined,
    everyMs: 200,
    stop: () => live?.clear(),
    detachHint: `the run goes on in Temporal: ${handle.workflowId}`,
    taskQueue: s.taskQueue,
  });
  if (o.json) console.log(JSON.stringify({ workflowId: handle.workflowId, ...(webUi ? { webUi } : {}), ...result }));
  else printResult(result, webUi);
  return result;
}
