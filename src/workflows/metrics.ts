/**
 * Braid's workflow-side metrics, through the SDK's workflow metric meter: it records outside the
 * sandbox through a sink, never during replay, and adds no command, so it changes no history.
 * Tagged with the pattern (the workflow type); the meter adds namespace and task queue.
 */
import { inWorkflowContext, metricMeter, workflowInfo } from '@temporalio/workflow';

/** A branch (model turn, tool call, child) that ended: its duration by pattern, kind and status. */
export function recordBranch(kind: string, status: string, durationMs: number): void {
  if (!inWorkflowContext()) return; // the building blocks' unit tests run them outside a workflow
  metricMeter
    .createHistogram('braid_branch_duration', 'int', 'ms', 'Duration of parallel branches by pattern, kind and status')
    .record(Math.max(0, Math.round(durationMs)), { pattern: workflowInfo().workflowType, kind, status });
}

/** A fan-out started: how many branches it opens at once. */
export function recordFanOut(width: number): void {
  if (!inWorkflowContext()) return;
  metricMeter
    .createHistogram('braid_fanout_width', 'int', 'branches', 'Branches a fan-out runs at once, by pattern')
    .record(width, { pattern: workflowInfo().workflowType });
}

/**
 * A fan-in ended: the time from its first branch done to its last — what waiting for the slowest
 * branches cost once the fastest had answered. On the workflow clock (the start of the workflow task
 * that saw each branch end). Only fan-outs of two or more branches record one.
 */
export function recordFanInWait(waitMs: number): void {
  if (!inWorkflowContext()) return;
  metricMeter
    .createHistogram('braid_fanin_wait', 'int', 'ms', 'Time from the first branch of a fan-out done to the last, by pattern')
    .record(Math.max(0, Math.round(waitMs)), { pattern: workflowInfo().workflowType });
}
