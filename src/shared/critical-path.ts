/**
 * The critical path of a run: the chain of branches, each begun only after the one before it had
 * finished, whose durations add up to the most — the part of a run's time that parallelism cannot
 * remove. The ask's timing table (src/workflows/branches.ts) and `braid report` (src/report/) both
 * compute it here.
 *
 * Branches are ordered by positions on any clock that only has to be consistent (workflow-clock
 * milliseconds, or history event ids): A comes before B when A ended at or before B began. Durations
 * are given separately, so an order taken from event ids can still be weighed in milliseconds. Two
 * branches that begin and end at the same position are ordered by their place in the input.
 *
 * Pure and free of Node APIs: workflow code uses it.
 */

export interface PathSpan {
  id: string;
  /** Where the branch began, on the ordering clock. */
  from: number;
  /** Where it ended on the same clock; Infinity while it is still running. */
  to: number;
  durationMs: number;
}

export interface CriticalPath {
  /** Sum of the durations along the path. */
  ms: number;
  /** The branches on it, first to last. */
  ids: string[];
}

export function criticalPath(spans: readonly PathSpan[]): CriticalPath {
  const n = spans.length;
  if (n === 0) return { ms: 0, ids: [] };
  const order = [...spans.keys()].sort((a, b) => spans[a]!.from - spans[b]!.from || spans[a]!.to - spans[b]!.to || a - b);
  const rank = new Array<number>(n);
  order.forEach((i, r) => (rank[i] = r));
  const byEnd = [...spans.keys()].sort((a, b) => spans[a]!.to - spans[b]!.to || rank[a]! - rank[b]!);
  const best = new Array<number>(n).fill(-1);
  const prev = new Array<number>(n).fill(-1);
  let j = 0;
  let runMs = 0;
  let runIdx = -1;
  for (const i of order) {
    const s = spans[i]!;
    // Every branch that ended by the time this one began, and was weighed already, may precede it.
    while (j < n && spans[byEnd[j]!]!.to <= s.from && best[byEnd[j]!]! >= 0) {
      const k = byEnd[j]!;
      if (best[k]! > runMs || runIdx < 0) {
        runMs = best[k]!;
        runIdx = k;
      }
      j++;
    }
    best[i] = Math.max(0, s.durationMs) + (runIdx < 0 ? 0 : runMs);
    prev[i] = runIdx;
  }
  let last = 0;
  for (let i = 1; i < n; i++) if (best[i]! > best[last]!) last = i;
  const ids: string[] = [];
  for (let i = last; i >= 0; i = prev[i]!) ids.push(spans[i]!.id);
  return { ms: best[last]!, ids: ids.reverse() };
}
