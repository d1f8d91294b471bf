/**
 * Pure arithmetic of the map-reduce tree: how a range of items splits into child workflows, how a
 * concurrency budget is shared among them, and how results group into reduce levels. Used by the
 * workflows and tested directly, so the shape of a 10,000-chunk job can be checked without
 * running one. Deterministic, no Temporal APIs.
 */
import type { TreeOptions } from '../shared/summarize';

export interface Range {
  start: number;
  end: number;
}

/** `parts` contiguous ranges of near-equal size covering [start, end). */
export function splitRange(start: number, end: number, parts: number): Range[] {
  const n = end - start;
  const k = Math.max(1, Math.min(parts, n));
  const base = Math.floor(n / k);
  const extra = n % k;
  const out: Range[] = [];
  let at = start;
  for (let i = 0; i < k; i++) {
    const size = base + (i < extra ? 1 : 0);
    out.push({ start: at, end: at + size });
    at += size;
  }
  return out;
}

/** `total` split into `n` near-equal positive shares. */
export function splitBudget(total: number, n: number): number[] {
  return splitRange(0, Math.max(total, n), n).map((r) => Math.max(1, r.end - r.start));
}

/** How a node handles its range: itself (leaf) or through children, and how many run at once. */
export interface NodePlan {
  leaf: boolean;
  children: Range[];
  /** Children (or, in a leaf, activities) in flight at once; never more than the budget. */
  lanes: number;
  laneBudgets: number[];
}

export function planNode(range: Range, budget: number, tree: TreeOptions): NodePlan {
  const size = range.end - range.start;
  const cap = tree.maxPending ?? Infinity;
  // What the node could run at once; past `cap` it takes children that share it.
  const wanted = Math.min(budget, size, tree.maxLeafConcurrency);
  if (size <= tree.leafSize && (wanted <= cap || cap < 2)) {
    return { leaf: true, children: [], lanes: Math.max(1, Math.min(wanted, cap)), laneBudgets: [] };
  }
  // Enough children for the leaves, and for the budget at `cap` each; past `cap` such children,
  // each takes a larger share and splits it again, so every lane still holds its budget at once.
  const forBudget = Math.min(cap, Math.ceil(Math.min(budget, size) / cap));
  const parts = Math.max(Math.ceil(size / tree.leafSize), forBudget);
  const children = splitRange(range.start, range.end, Math.min(tree.fanout, parts));
  const lanes = Math.max(1, Math.min(children.length, budget, cap));
  return { leaf: false, children, lanes, laneBudgets: splitBudget(budget, lanes) };
}

export interface TreeShape {
  depth: number;
  leaves: number;
  workflows: number;
  /** Largest number of activities or children one workflow has pending at once. */
  maxPending: number;
  /** Most items a leaf processes. */
  maxLeafItems: number;
}

/** The whole tree a phase of `items` builds with `budget` in flight. */
export function treeShape(items: number, budget: number, tree: TreeOptions): TreeShape {
  const shape: TreeShape = { depth: 0, leaves: 0, workflows: 0, maxPending: 0, maxLeafItems: 0 };
  const visit = (range: Range, b: number, depth: number) => {
    const p = planNode(range, b, tree);
    shape.workflows++;
    shape.depth = Math.max(shape.depth, depth);
    shape.maxPending = Math.max(shape.maxPending, p.lanes);
    if (p.leaf) {
      shape.leaves++;
      shape.maxLeafItems = Math.max(shape.maxLeafItems, range.end - range.start);
      return;
    }
    // Lane budgets differ by at most one; the largest one bounds what a child can get.
    p.children.forEach((c) => visit(c, Math.max(...p.laneBudgets), depth + 1));
  };
  if (items > 0) visit({ start: 0, end: items }, budget, 1);
  return shape;
}

/** Balanced groups of at most `group` items covering `n` items (e.g. 11 by 10 → 6 + 5). */
export function groupRanges(n: number, group: number): Range[] {
  return splitRange(0, n, Math.ceil(n / group));
}

/** Number of groups at each reduce level until one result remains; at least one (final) level. */
export function reduceLevels(n: number, group: number): number[] {
  const levels: number[] = [];
  let items = Math.max(1, n);
  do {
    items = Math.ceil(items / group);
    levels.push(items);
  } while (items > 1);
  return levels;
}
