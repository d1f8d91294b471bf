/**
 * The map of `braid summarize --batch`: every chunk through the Message Batches API, at half price,
 * answered within 24 hours instead of now. Deterministic workflow code; the API calls are the
 * activities of src/activities/batch.ts.
 *
 * The chunks are split into ranges of at most `size` requests, one batch per range, all submitted
 * at once. The root then sleeps on a durable timer and checks every open batch in one activity,
 * waiting twice as long each time up to `maxPollMs` (a worker restart or a deploy loses nothing:
 * the timer and the batch ids are in history). An ended batch is collected into its range's part
 * file; its requests that may succeed if sent again go in a new batch for that range, up to
 * `rounds` sends in all, and stay failed chunks after. The parts tile the map exactly as the
 * tree's leaves do, so assembling, --tolerate and the reduce are the same as without --batch.
 *
 * A cancelled run cancels its open batches (requests already processed are billed by the API).
 */
import { CancellationScope, isCancellation, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CollectedBatch } from '../activities/batch';
import { counted } from '../shared/content';
import type { BatchMapOptions, SummarizeInput } from '../shared/summarize';
import { blobStore, labelled, modelCall } from './profiles';
import { splitRange, type Range } from './summarize-plan';

const api = (summary: string) => proxyActivities<Activities>(labelled({ ...blobStore, startToCloseTimeout: '5 minutes' }, summary));
const collector = (summary: string) => proxyActivities<Activities>(labelled(modelCall, summary));

interface RangeJob {
  range: Range;
  round: number;
  batchId?: string;
  partRef?: string;
  /** Chunks the open batch carries (absent: the whole range). */
  indexes?: number[];
}

export interface BatchMapResult {
  parts: { start: number; end: number; ref: string }[];
  batches: number;
}

const what = (r: Range, indexes?: number[]) =>
  indexes ? `${counted(indexes.length, 'chunk')} of ${r.start + 1}–${r.end} again` : `chunks ${r.start + 1}–${r.end}`;

/**
 * Runs the map through batches; `absorb` takes each collected batch (usage, counts) as it ends and
 * `show` gets a line about the batches for the run's current details.
 */
export async function batchMap(
  input: SummarizeInput,
  opts: BatchMapOptions,
  absorb: (c: CollectedBatch) => void,
  show: (line: string) => void,
): Promise<BatchMapResult> {
  const job = { manifestRef: input.manifestRef, task: input.task };
  const jobs: RangeJob[] = splitRange(0, input.chunkCount, Math.ceil(input.chunkCount / opts.size)).map((range) => ({ range, round: 1 }));
  let submitted = 0;
  const submit = async (j: RangeJob) => {
    const b = await api(`submit a Message Batch: map ${what(j.range, j.indexes)}`).submitMapBatch({
      ...job,
      ...j.range,
      ...(j.indexes ? { indexes: j.indexes } : {}),
    });
    j.batchId = b.batchId;
    submitted++;
  };
  const open = () => jobs.filter((j) => j.batchId !== undefined);
  try {
    await Promise.all(jobs.map(submit));
    let wait = opts.pollMs;
    let ended = 0;
    while (open().length) {
      show(
        `**Map via Message Batches**: ${ended} of ${counted(submitted, 'batch', 'batches')} ended; next check in ${Math.round(wait / 1000)} s.`,
      );
      await sleep(wait);
      wait = Math.min(wait * 2, opts.maxPollMs);
      const waiting = open();
      let again = false;
      const states = await api(`check ${counted(waiting.length, 'Message Batch', 'Message Batches')}`).pollMapBatches({
        batchIds: waiting.map((j) => j.batchId!),
      });
      await Promise.all(
        waiting.map(async (j, k) => {
          if (states[k]!.status !== 'ended') return;
          const c = await collector(`collect a Message Batch: map ${what(j.range, j.indexes)}`).collectMapBatch({
            ...job,
            ...j.range,
            ...(j.indexes ? { indexes: j.indexes } : {}),
            batchId: j.batchId!,
            ...(j.partRef ? { partRef: j.partRef } : {}),
          });
          ended++;
          absorb(c);
          j.partRef = c.partRef;
          j.batchId = undefined;
          if (c.retry.length && j.round < opts.rounds) {
            j.round++;
            j.indexes = c.retry;
            await submit(j);
            again = true;
          }
        }),
      );
      // A new round starts its own waits from the first.
      if (again) wait = opts.pollMs;
    }
  } catch (err) {
    const left = open().map((j) => j.batchId!);
    if (isCancellation(err) && left.length)
      await CancellationScope.nonCancellable(() =>
        api(`cancel ${counted(left.length, 'open Message Batch', 'open Message Batches')}`).cancelMapBatches({ batchIds: left }),
      );
    throw err;
  }
  return { parts: jobs.map((j) => ({ ...j.range, ref: j.partRef! })), batches: submitted };
}
