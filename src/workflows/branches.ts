/**
 * Records every branch of a run (model turns, tool calls) on the workflow clock, and derives the
 * run's critical path. The workflow clock is the start time of the workflow task that observed
 * each event: deterministic on replay, and accurate to the moment the workflow could act on it.
 */
import { criticalPath } from '../shared/critical-path';
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
    let sequentialMs = 0;
    for (const b of this.branches) sequentialMs += b.durationMs ?? 0;
    // Each turn's tools begin when its model call ends, the next turn when its tools end.
    const { ms: criticalPathMs } = criticalPath(
      this.branches.map((b) => ({ id: b.id, from: b.startedAt, to: b.endedAt ?? Infinity, durationMs: b.durationMs ?? 0 })),
    );
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
