/**
 * How a workflow shows where it is: `BraidStatus` (a search attribute, for runs started with it by
 * the CLI's session helpers) follows the phase as a word, and the Web UI's current details say more
 * in a line of Markdown. A run that fails or is cancelled ends with that word too.
 */
import { isCancellation, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { failureMessage } from '../shared/failures';
import { BraidStatus } from '../shared/search-attributes';

/** Sets the current details, and BraidStatus when the word changes (only for runs that started with one). */
export type StatusKeeper = (word: string, details: string) => void;

export function statusKeeper(): StatusKeeper {
  let current = workflowInfo().typedSearchAttributes.get(BraidStatus);
  const tracked = current !== undefined;
  return (word, details) => {
    setCurrentDetails(details);
    if (!tracked || word === current) return;
    current = word;
    upsertSearchAttributes([{ key: BraidStatus, value: word }]);
  };
}

/** Runs `body` with a status keeper; a failure or cancellation ends the status as `failed` or `cancelled`. */
export async function withStatus<T>(body: (status: StatusKeeper) => Promise<T>): Promise<T> {
  const status = statusKeeper();
  try {
    return await body(status);
  } catch (err) {
    if (isCancellation(err)) status('cancelled', '**Cancelled.**');
    else status('failed', `**Failed:** ${failureMessage(err)}`);
    throw err;
  }
}
