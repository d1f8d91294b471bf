/**
 * Every activity option profile Braid's workflows use, named once: timeouts and retry policies are
 * decisions about a kind of work (a model call, a tool call, a side effect, its undo), not about the
 * pattern that happens to make the call, so patterns share them from here instead of each writing
 * its own. A workflow declares its proxies from these at the top of its file:
 * `const llm = proxyActivities<Activities>(modelCall);` — adding a per-call field (an activity id,
 * a task queue) spreads a profile: `{ ...modelCall, taskQueue }`; `labelled(profile, summary)` adds
 * the summary that names the call in the Web UI's timeline and event history.
 *
 * Replay checks an activity's type and id, not these options: changing a value here breaks no
 * running workflow, and applies to the calls scheduled after a worker runs the new code.
 */
import type { ActivityOptions } from '@temporalio/workflow';
import { gist } from '../shared/content';

/**
 * A profile with the one-line summary the Web UI shows for the call instead of its activity type
 * ("turn 2: model", "analyse pricing.md"), cut to fit a line.
 */
export const labelled = <P extends ActivityOptions>(profile: P, summary: string): P & { summary: string } => ({
  ...profile,
  summary: gist(summary, 120),
});

/**
 * A model call (`llmTurn`): streamed, heartbeating, retried with backoff (the activity adds jitter
 * and retry-after). No attempt limit here: the activity counts its own failed attempts
 * (src/flow/attempts.ts) so that time spent waiting out an outage, a breaker or a rate budget is
 * not charged as failures; it gives up itself after BRAID_LLM_MAX_ATTEMPTS failures or once an
 * outage outlasts BRAID_LLM_OUTAGE_BUDGET.
 */
export const modelCall = {
  startToCloseTimeout: '3 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: Infinity },
} as const satisfies ActivityOptions;

/**
 * A summarize map or reduce item (`mapChunk`, `reduceGroup`): a model call plus blob reads and
 * writes. A content-addressed blob that is missing will not appear later (its writer was another
 * host), so that failure is not retried.
 */
export const summarizeItem = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    // Counted by the item itself, as for modelCall.
    maximumAttempts: Infinity,
    nonRetryableErrorTypes: ['BlobNotFound'],
  },
} as const satisfies ActivityOptions;

/** Bookkeeping in the blob store (saving a part, assembling a level, loading a result). */
export const blobStore = {
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['BlobNotFound'] },
} as const satisfies ActivityOptions;

/** A quick question to the worker (the tools it offers). */
export const workerLookup = { startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 3 } } as const satisfies ActivityOptions;

/** `braid health`'s status read: short, and bounded as a whole so the CLI is answered within a minute. */
export const healthCheck = {
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
} as const satisfies ActivityOptions;

/**
 * One tool call: the tool's budget (`timeoutMs`) bounds the whole call, retries included, so a
 * flaky tool is retried inside it but a hung one cannot hold the turn longer. `summary` labels the
 * branch in the Web UI's timeline (the tool's name and the gist of its input) instead of "runTool".
 */
export function toolCall(timeoutMs: number, summary: string): ActivityOptions {
  return labelled(
    {
      scheduleToCloseTimeout: timeoutMs,
      startToCloseTimeout: timeoutMs,
      heartbeatTimeout: Math.min(timeoutMs, 10_000),
      retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumAttempts: 3 },
    },
    summary,
  );
}

/** Opening a destination before any work is done: a bad one should fail the run at once. */
export const destinationCheck = { startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 2 } } as const satisfies ActivityOptions;

/**
 * A side effect at a destination (store, notify, index, remind). Store writes take milliseconds;
 * the short heartbeat timeout is how a worker killed mid-step is noticed, so the step is retried
 * (and finds its own effect) within seconds, not minutes.
 */
export const sideEffect = {
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: '3 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
} as const satisfies ActivityOptions;

/** The undo of a side effect: tried longer than the effect, since a stuck undo needs a person. */
export const sideEffectUndo = {
  ...sideEffect,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
} as const satisfies ActivityOptions;

/** Writing an output file on the worker's disk (idempotent: same path, same content). */
export const fileWrite = { startToCloseTimeout: '1 minute', retry: { maximumAttempts: 5 } } as const satisfies ActivityOptions;
