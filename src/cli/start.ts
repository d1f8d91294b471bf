/**
 * Starting a run labelled with Braid's search attributes, and unlabelled when the namespace has not
 * registered them (a cluster or Temporal Cloud before `temporal operator search-attribute create`):
 * the run still works, it is only missing from filters such as `braid pending`.
 */
import { TypedSearchAttributes, type SearchAttributePair } from '@temporalio/common';

export async function startLabelled<T>(
  labels: SearchAttributePair[],
  start: (attrs?: { typedSearchAttributes: TypedSearchAttributes }) => Promise<T>,
  onUnlabelled?: () => void,
): Promise<T> {
  try {
    return await start({ typedSearchAttributes: new TypedSearchAttributes(labels) });
  } catch (err) {
    if (!(err instanceof Error && /search attribute/i.test(err.message))) throw err;
    onUnlabelled?.();
    return start();
  }
}
