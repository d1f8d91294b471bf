/**
 * `braid health`'s contract: a one-activity workflow whose answer is the flow-control snapshot
 * (src/flow's `FlowSnapshot`) of whichever worker picks the task up. No Node APIs.
 */

import type { RunLabels } from './types';

export const HEALTH_LABELS: RunLabels = {
  summary: "health: a worker's rate-limiter budgets and circuit breakers",
  details: 'Reads the flow-control state of whichever worker picks the task up (`braid health`).',
};

/** The workflow type: the name of the workflow function in src/workflows/health.ts (frozen). */
export const HEALTH_WORKFLOW = 'flowHealth';
