/**
 * Reading failures for people: the one place that turns a chain of failures — a workflow's around a
 * child's, around an activity's, around the error the activity threw — into the message that says
 * what went wrong. Workflow code (branch errors, missing chunks, failed chains, compensations), and
 * the CLI (a failed run as one line) use it alike, so no pattern walks a cause chain of its own.
 * Pure and free of Node APIs: it runs in the workflow sandbox.
 */
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, RetryState, TimeoutFailure } from '@temporalio/common';

/** How `failureMessage` shortens and labels a failure's message. */
export interface FailureMessageOptions {
  /** Append the innermost ApplicationFailure's type, e.g. "… (TooManyFailures)". */
  withType?: boolean;
  /** Keep the first line only, cut to this many characters (the type is appended after the cut). */
  maxChars?: number;
}

/**
 * The innermost non-empty message of a failure chain: the activity's own error under its
 * ActivityFailure, the child's under its ChildWorkflowFailure, the workflow's under a client's
 * WorkflowFailedError.
 */
export function failureMessage(err: unknown, o: FailureMessageOptions = {}): string {
  let message = err instanceof Error ? err.message : String(err);
  let e: unknown = err;
  while (e instanceof Error) {
    if (e.message) message = e.message;
    if (!(e.cause instanceof Error)) break;
    e = e.cause;
  }
  if (o.maxChars !== undefined) message = message.split('\n')[0]!.slice(0, o.maxChars);
  const type = o.withType && e instanceof ApplicationFailure && e.type ? ` (${e.type})` : '';
  return `${message}${type}`;
}

/** True when an activity or child workflow failed because it ran out of time (not because it threw). */
export function timedOut(err: unknown): boolean {
  const cause = err instanceof ActivityFailure || err instanceof ChildWorkflowFailure ? err.cause : err;
  return cause instanceof TimeoutFailure;
}

/**
 * True when an activity or child workflow ended for lack of time: it timed out, or its next retry
 * would have come after its schedule-to-close time (the server then reports the last failure, e.g. a
 * breaker that was still open, with retry state TIMEOUT).
 */
export function outOfTime(err: unknown): boolean {
  return (
    timedOut(err) || ((err instanceof ActivityFailure || err instanceof ChildWorkflowFailure) && err.retryState === RetryState.TIMEOUT)
  );
}
