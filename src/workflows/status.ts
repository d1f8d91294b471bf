/**
 * What a run tells the Web UI and `braid runs` about itself while it goes: the current details (a
 * few lines of Temporal markdown on the run's page: phase, progress, what to do next) and the
 * BraidStatus search attribute (one word, for filters such as `BraidKind = "ask" AND
 * BraidStatus = "tools"`).
 *
 * Current details are not a command: they are answered from memory by the UI's metadata query, so
 * setting them costs nothing in history. BraidStatus is a command (an upsert), so it is written only
 * when the value changes, and only when the run was started with the attribute: a namespace that has
 * not registered it would fail every workflow task that writes it, and a run started without it
 * keeps the command sequence it always had. Runs started before a workflow kept BraidStatus are
 * replayed without the upserts: the `patched()` marker says which runs write them.
 */
import { ContinueAsNew, isCancellation, patched, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { failureMessage } from '../shared/failures';
import { BraidStatus, RUN_STATUS } from '../shared/search-attributes';

export class RunStatus {
  private current: string | undefined;
  private tracks: boolean | undefined;

  /**
   * `patchId` guards the upserts of a workflow that did not always write BraidStatus; undefined for
   * one that always did (publish).
   */
  constructor(private readonly patchId?: string) {
    this.current = workflowInfo().typedSearchAttributes.get(BraidStatus);
  }

  get status(): string | undefined {
    return this.current;
  }

  /** Sets the status word (an upsert when it changes and the run tracks it) and the current details. */
  set(status: string, details: string): void {
    setCurrentDetails(details);
    if (status === this.current) return;
    this.current = status;
    this.tracks ??= workflowInfo().typedSearchAttributes.get(BraidStatus) !== undefined && (!this.patchId || patched(this.patchId));
    if (this.tracks) upsertSearchAttributes([{ key: BraidStatus, value: status }]);
  }

  /** Updates the current details only (progress within a phase). */
  details(details: string): void {
    setCurrentDetails(details);
  }

  /** Runs a workflow body, marking the run failed or cancelled when it ends that way. */
  async around<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (err) {
      if (err instanceof ContinueAsNew) throw err;
      if (isCancellation(err)) this.set(RUN_STATUS.cancelled, '**Cancelled.**');
      else this.set(RUN_STATUS.failed, `**Failed:** ${failureMessage(err)}`);
      throw err;
    }
  }
}
