/**
 * Records every branch of a run (model turns, tool calls) and derives the run's critical path.
 *
 * Times are on the workflow clock — the start time of the workflow task that observed each event:
 * deterministic on replay, and accurate to the moment the workflow could act on it — with two
 * corrections that keep them true when the workflow could not act at once:
 * - a branch ends when its activity says it finished (the result's own end, bounded below by the
 *   attempt's duration and above by the workflow clock), not when a workflow task next looked. After
 *   `temporal workflow reset`, the task that observes a result from the original run runs minutes
 *   later; a worker that was down leaves the same gap. Failed branches carry no result and keep the
 *   workflow clock.
 * - the run begins when it was started, not when a worker first picked it up: the time it waited for
 *   a worker is a branch of its own ("waiting for a worker"), counted in the total. A run that was
 *   reset begins at its first workflow task, since its start event is the original run's.
 * A run reset in the middle shows the pause before the reset as a gap between its branches.
 */
import { workflowInfo } from '@temporalio/workflow';
import { criticalPath } from '../shared/critical-path';
import type { Branch, BranchKind, BranchStatus, RunTiming, UsageSummary } from '../shared/types';
import { addModelUsage, noUsageSummary } from '../shared/usage';
import { recordBranch } from './metrics';

/** Waiting for a worker shorter than this is not shown as a branch (it still counts in the total). */
const QUEUE_SHOWN_MS = 1000;

/** An activity's own account of when its successful attempt ran (its worker's clock). */
export interface Reported {
  startedAt: number;
  endedAt: number;
}

export class BranchLog {
  readonly branches: Branch[];
  /** When the run began: its start, or for a reset run its first workflow task. */
  readonly startedAt: number;
  readonly queuedMs: number;

  /** A run that continued as new passes on its branches and start time (`carried`). */
  constructor(carried?: { branches: Branch[]; startedAt: number }) {
    if (carried) {
      this.branches = carried.branches;
      this.startedAt = carried.startedAt;
      this.queuedMs = 0;
      return;
    }
    this.branches = [];
    const info = workflowInfo();
    const firstTask = info.runStartTime.getTime();
    const reset = info.runId !== info.originalExecutionRunId;
    this.startedAt = reset ? firstTask : Math.min(firstTask, info.startTime.getTime());
    this.queuedMs = firstTask - this.startedAt;
    if (this.queuedMs >= QUEUE_SHOWN_MS) {
      this.branches.push({
        id: 'queued',
        turn: 0,
        kind: 'queue',
        name: 'waiting for a worker',
        status: 'ok',
        startedAt: this.startedAt,
        endedAt: firstTask,
        durationMs: this.queuedMs,
      });
    }
  }

  start(id: string, turn: number, kind: BranchKind, name: string): Branch {
    const branch: Branch = { id, turn, kind, name, status: 'running', startedAt: Date.now() };
    this.branches.push(branch);
    return branch;
  }

  finish(branch: Branch, status: Exclude<BranchStatus, 'running'>, extra: Partial<Branch> = {}, reported?: Reported): void {
    let end = Date.now();
    if (reported) {
      const own = Math.max(0, reported.endedAt - reported.startedAt);
      end = Math.min(end, Math.max(reported.endedAt, branch.startedAt + own));
    }
    Object.assign(branch, extra, { status, endedAt: end });
    branch.durationMs = end - branch.startedAt;
    recordBranch(branch.kind, status, branch.durationMs);
  }

  timing(): RunTiming {
    let sequentialMs = 0;
    let lastEnd = this.startedAt;
    for (const b of this.branches) {
      sequentialMs += b.durationMs ?? 0;
      lastEnd = Math.max(lastEnd, b.endedAt ?? Date.now());
    }
    // Each turn's tools begin when its model call ends, the next turn when its tools end.
    const { ms: criticalPathMs } = criticalPath(
      this.branches.map((b) => ({ id: b.id, from: b.startedAt, to: b.endedAt ?? Infinity, durationMs: b.durationMs ?? 0 })),
    );
    const totalMs = (this.branches.length ? lastEnd : Date.now()) - this.startedAt;
    return { totalMs, criticalPathMs, sequentialMs, queuedMs: this.queuedMs };
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
