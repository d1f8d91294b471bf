/**
 * CLI error conventions: every failure reaches the user as one line and a non-zero exit code —
 * 2 for input the user can fix, 1 for everything else — never as a stack trace. A run that ended
 * "budget reached" prints its result and exits 3.
 */
import { ConfigError } from '../config';
import { EncryptionKeyError } from '../encryption/keys';
import { McpConfigError } from '../tools/mcp-config';
import { failureMessage } from '../shared/failures';

/** The exit code of a run that stopped because its budget was reached (its result is printed). */
export const BUDGET_REACHED_EXIT = 3;

export class UsageError extends Error {
  override name = 'UsageError';
}

/** What a failed run says, for one line: the innermost message of its failure chain and its type. */
export const runFailure = (err: unknown): string => failureMessage(err, { withType: true });

export function exitCodeFor(err: unknown): number {
  return err instanceof UsageError || err instanceof ConfigError || err instanceof McpConfigError || err instanceof EncryptionKeyError
    ? 2
    : 1;
}

export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.trim();
}
