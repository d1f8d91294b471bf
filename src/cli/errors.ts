/**
 * CLI error conventions: every failure reaches the user as one line and a non-zero exit code —
 * 2 for input the user can fix, 1 for everything else — never as a stack trace.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { ConfigError } from '../config';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** The innermost meaningful message of a workflow failure chain. */
export function failureMessage(err: unknown): string {
  let e: unknown = err instanceof WorkflowFailedError ? (err.cause ?? err) : err;
  const parts: string[] = [];
  while (e instanceof TemporalFailure) {
    if (e.message && !parts.includes(e.message)) parts.push(e.message);
    if (!e.cause) break;
    e = e.cause;
  }
  if (e instanceof ApplicationFailure && e.type && parts.length) return `${parts.at(-1)} (${e.type})`;
  return parts.at(-1) ?? (err instanceof Error ? err.message : String(err));
}

export function exitCodeFor(err: unknown): number {
  return err instanceof UsageError || err instanceof ConfigError ? 2 : 1;
}

export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.trim();
}
