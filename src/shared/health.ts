/**
 * `braid health`'s contract: a one-activity workflow whose answer is the flow-control snapshot
 * (src/flow's `FlowSnapshot`) of whichever worker picks the task up. No Node APIs.
 */

/** The workflow type: the name of the workflow function in src/workflows/health.ts (frozen). */
export const HEALTH_WORKFLOW = 'flowHealth';
