/**
 * Records every branch of a run (model turns, tool calls) on the workflow clock, and derives the
 * run's critical path. The workflow clock is the start time of the workflow task that observed
 * each event: deterministic on replay, and accurate to the moment the workflow could act on it.
 */
import type { Branch, BranchKind, BranchStatus, RunTiming, UsageSummary } from '../shared/types';
import { addModelUsage, noUsageSummary } from '../shared/usage';

export class BranchLog {
  /** A run that continued as new passes on its branches and start time. */
  constructor(
    readonly branches: Branch[] = [],
    readonly startedAt = Date.now(),
  ) {}

  start(id: string, turn: number, kind: BranchKind, name: string): Branch {
    const branch: Branch = { id, turn, kind, name, status: 'running', startedAt: Date.now() };
    this.branches.push(branch);
    return branch;
  }

  finish(branch: Branch, status: Exclude<BranchStatus, 'running'>, extra: Partial<Branch> = {}): void {
    Object.assign(branch, extra, { status, endedAt: Date.now() });
    branch.durationMs = branch.endedAt! - branch.startedAt;
  }

  timing(): RunTiming {
    const turns = new Map<number, { llm: number; slowestTool: number }>();
    let sequentialMs = 0;
    for (const b of this.branches) {
      const d = b.durationMs ?? 0;
      sequentialMs += d;
      const t = turns.get(b.turn) ?? { llm: 0, slowestTool: 0 };
      if (b.kind === 'llm') t.llm += d;
      else t.slowestTool = Math.max(t.slowestTool, d);
      turns.set(b.turn, t);
    }
    let criticalPathMs = 0;
    for (const t of turns.values()) criticalPathMs += t.llm + t.slowestTool;
    return { totalMs: Date.now() - this.startedAt, criticalPathMs, sequentialMs };
  }

  usage(): UsageSummary {
    const summary = noUsageSummary();
    for (const b of this.branches) if (b.usage && b.model) addModelUsage(summary, b.model, b.usage);
    return summary;
  }

  /** A copy safe to hand to a query caller. */
  snapshot(): Branch[] {
    return this.branches.map((b) => ({ ...b }));
  }
}
