/**
 * Bounded parallelism for workflow code: `lanes` coroutines pull the next index as soon as they
 * are free, so exactly `lanes` items are in flight until the tail — a sliding window, not waves.
 * Deterministic: the order items are taken in depends only on completion order, which history
 * replays. Each lane knows its number, so per-lane resources (a concurrency budget) can be reused.
 */
export async function runLanes(count: number, lanes: number, work: (index: number, lane: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (id: number) => {
    while (next < count) {
      const index = next++;
      await work(index, id);
    }
  };
  await Promise.all(Array.from({ length: Math.max(0, Math.min(lanes, count)) }, (_, id) => lane(id)));
}
