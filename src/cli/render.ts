/**
 * Terminal output for runs: the live branch view while a run is going, and the per-branch timing
 * table (with a small timeline, so the critical path is visible at a glance) when it is done.
 */
import Table from 'cli-table3';
import pc from 'picocolors';
import type { AgentProgress, AgentResult } from '../shared/ask';
import { formatUsd, savingSources, type CostSummary } from '../shared/pricing';
import type { BudgetReport } from '../shared/budget';
import type { Branch } from '../shared/types';

const mark: Record<Branch['status'], string> = { running: pc.cyan('…'), ok: pc.green('✓'), error: pc.red('✗'), timeout: pc.yellow('⏱') };

/** cli-table3 colours on its own; follow picocolors, which honours NO_COLOR and non-TTY output. */
export const tableStyle = () => (pc.isColorSupported ? { head: ['bold'], border: ['grey'] } : { head: [], border: [] });

/** How an answer from Braid's simulator is labelled (the simulator marks its responses; see llmTurn). */
export const SIMULATED_LABEL = "simulated model (the answer came from Braid's simulator, not Claude)";

export const ms = (n: number | undefined) => (n === undefined ? '' : n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`);

/**
 * Time left at the rate so far, for progress bars: "–" until anything is done (cli-progress's own
 * ETA prints "NFs" for an unknown rate), then "45 s", "3 min 05 s" or "1 h 05 min".
 */
export function etaText(done: number, total: number, elapsedMs: number): string {
  if (done >= total) return '0 s';
  if (!(done > 0) || !(elapsedMs > 0)) return '–';
  const s = Math.ceil(((total - done) * elapsedMs) / done / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** One line per turn: which branches are running or done. */
export function progressLines(p: AgentProgress, now = Date.now()): string[] {
  const turns = new Map<number, Branch[]>();
  for (const b of p.branches) turns.set(b.turn, [...(turns.get(b.turn) ?? []), b]);
  const lines: string[] = [];
  for (const [turn, branches] of turns) {
    const parts = branches.map((b) => `${mark[b.status]} ${b.name} ${pc.dim(ms(b.durationMs ?? Math.max(0, now - b.startedAt)))}`);
    lines.push(`${pc.dim(turn === 0 ? 'queued' : `turn ${turn}`)}  ${parts.join('  ')}`);
  }
  if (!lines.length) lines.push(pc.dim('starting…'));
  return lines;
}

/** Redraws a block of lines in place on a TTY; prints only changes elsewhere. */
export class LiveBlock {
  private height = 0;
  private last = '';
  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  update(lines: string[]): void {
    const text = lines.join('\n');
    if (this.out.isTTY) {
      if (this.height) this.out.write(`\x1b[${this.height}F\x1b[0J`);
      this.out.write(`${text}\n`);
      this.height = lines.length;
    } else if (text.replace(/\d+(\.\d)? m?s/g, '') !== this.last.replace(/\d+(\.\d)? m?s/g, '')) {
      this.out.write(`${text}\n`);
    }
    this.last = text;
  }

  clear(): void {
    if (this.out.isTTY && this.height) this.out.write(`\x1b[${this.height}F\x1b[0J`);
    this.height = 0;
  }

  /** Prints a line above the block, which is redrawn below it. */
  note(line: string): void {
    const last = this.last;
    this.clear();
    this.out.write(`${line}\n`);
    if (last && this.out.isTTY) this.update(last.split('\n'));
  }
}

function timeline(b: Branch, t0: number, total: number, width = 24): string {
  if (!total || b.durationMs === undefined) return '';
  const from = Math.floor(((b.startedAt - t0) / total) * width);
  const len = Math.max(1, Math.round((b.durationMs / total) * width));
  const bar = ' '.repeat(Math.min(width, from)) + '█'.repeat(Math.min(len, width - Math.min(width, from)));
  const colour = b.kind === 'queue' ? pc.gray : b.kind === 'llm' ? pc.magenta : b.status === 'ok' ? pc.green : pc.red;
  return colour(bar.padEnd(width));
}

export function timingTable(r: AgentResult): string {
  const t0 = r.branches[0]?.startedAt ?? 0;
  const table = new Table({ head: ['turn', 'branch', 'status', 'start', 'time', 'tokens in/out', 'timeline'], style: tableStyle() });
  for (const b of r.branches) {
    const tokens = b.usage ? `${b.usage.inputTokens}/${b.usage.outputTokens}` : '';
    table.push([
      b.kind === 'queue' ? '' : b.turn,
      b.name,
      `${mark[b.status]} ${b.status}`,
      `+${ms(b.startedAt - t0)}`,
      ms(b.durationMs),
      tokens,
      timeline(b, t0, r.timing.totalMs),
    ]);
  }
  const t = r.timing;
  const speedup = t.totalMs > 0 ? t.sequentialMs / t.totalMs : 1;
  const gain = speedup >= 1.05 ? ` (${speedup.toFixed(1)}× from parallelism)` : '';
  const queued = r.branches.some((b) => b.kind === 'queue') ? ` (${ms(t.queuedMs)} waiting for a worker)` : '';
  const summary = [
    `total ${ms(t.totalMs)}${queued} · critical path ${ms(t.criticalPathMs)} · one after another ${ms(t.sequentialMs)}${gain}`,
    `tokens ${r.usage.total.inputTokens} in / ${r.usage.total.outputTokens} out${r.cost ? ` · ${costText(r.cost)}` : ''} · ${r.turns} model turn(s) · stop: ${r.stopReason}`,
    parallelismText({ branchMs: t.sequentialMs, makespanMs: t.totalMs }),
  ];
  return `${table.toString()}\n${summary.join('\n')}`;
}

export function errorsOf(r: AgentResult): string[] {
  return r.branches.filter((b) => b.status === 'error' || b.status === 'timeout').map((b) => `${b.name}: ${b.error ?? b.status}`);
}

/**
 * What parallelism bought and cost, for a summary line: the time saved against running the same
 * branches one after another (the sum of their times minus the wall time from the first start to
 * the last end), and — for speculative or ensemble branches — the spend beyond what one branch alone
 * would have cost.
 */
export function parallelismText(o: { branchMs: number; makespanMs: number; extraUsd?: number; extraOf?: string }): string {
  const saved = o.branchMs - o.makespanMs;
  const time =
    saved > 0
      ? `parallelism saved ${ms(saved)} against one after another (${ms(o.branchMs)} of branches in ${ms(o.makespanMs)})`
      : `parallelism saved no time here (${ms(o.branchMs)} of branches in ${ms(o.makespanMs)})`;
  const extra =
    o.extraUsd !== undefined ? ` and cost ${formatUsd(Math.max(0, o.extraUsd))} extra in ${o.extraOf ?? 'parallel branches'}` : '';
  return `${time}${extra}`;
}

/** "cost $0.0123 (claude-haiku-4-5 $0.01, …)" for a summary line, with estimated and unpriced parts said. */
export function costText(c: CostSummary): string {
  const models = Object.entries(c.byModel);
  const by =
    models.length > 1 ? ` (${models.map(([m, x]) => `${m} ${formatUsd(x.usd)}`).join(', ')})` : models.length ? ` (${models[0]![0]})` : '';
  const est = c.estimatedUsd ? `, ${formatUsd(c.estimatedUsd)} of it estimated` : '';
  const unpriced = c.unpriced?.length ? `; no price for ${c.unpriced.join(', ')}` : '';
  return `cost ${formatUsd(c.totalUsd)}${by}${est}${savedText(c)}${unpriced}`;
}

/** What prompt caching and Message Batches saved against list price (or what cache writes added, unread). */
export function savedText(c: CostSummary): string {
  if (c.savedUsd > 0) return `, ${formatUsd(c.savedUsd)} saved (${savingSources(c).join(', ')})`;
  if (c.savedUsd < 0) return `, ${formatUsd(-c.savedUsd)} more for cache writes not read`;
  return '';
}

/** "BUDGET REACHED: $0.01 spent of $0.02; 3 model call(s) not started, 1 cancelled in flight" for a run the budget stopped. */
export function budgetText(b: BudgetReport): string {
  const cancelled = b.cancelledCalls ? `, ${b.cancelledCalls} cancelled in flight` : '';
  return `BUDGET REACHED: ${formatUsd(b.spentUsd)} spent of ${formatUsd(b.usd)}; ${b.skippedCalls} model call(s) not started${cancelled}`;
}
