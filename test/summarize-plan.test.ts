/** The arithmetic of the map-reduce tree: reduce levels, balanced groups, and limits per workflow. */
import { describe, expect, it } from 'vitest';
import { groupRanges, planNode, reduceLevels, splitBudget, splitRange, treeShape } from '../src/workflows/summarize-plan';
import { DEFAULT_TREE } from '../src/shared/summarize';

describe('reduce levels in groups of 10', () => {
  it.each([
    [1, [1]],
    [9, [1]],
    [10, [1]],
    [11, [2, 1]],
    [101, [11, 2, 1]],
    [1000, [100, 10, 1]],
    [10_000, [1000, 100, 10, 1]],
  ])('%i results reduce through levels %j', (n, levels) => {
    expect(reduceLevels(n, 10)).toEqual(levels);
  });

  it('groups are balanced and cover every result exactly once', () => {
    expect(groupRanges(11, 10).map((r) => r.end - r.start)).toEqual([6, 5]);
    expect(groupRanges(101, 10).map((r) => r.end - r.start)).toEqual([10, 10, 9, 9, 9, 9, 9, 9, 9, 9, 9]);
    for (const n of [1, 9, 10, 11, 101, 1000, 9999]) {
      const g = groupRanges(n, 10);
      expect(g[0]!.start).toBe(0);
      expect(g.at(-1)!.end).toBe(n);
      g.forEach((r, i) => {
        expect(r.end - r.start).toBeGreaterThan(0);
        expect(r.end - r.start).toBeLessThanOrEqual(10);
        if (i) expect(r.start).toBe(g[i - 1]!.end);
      });
    }
  });
});

/** Calls in flight when every leaf of the tree runs its full window at once. */
function leafLanes(items: number, budget: number): number {
  const visit = (range: { start: number; end: number }, b: number): number => {
    const p = planNode(range, b, DEFAULT_TREE);
    if (p.leaf) return p.lanes;
    // Lanes run their children one after another: a lane's widest child is what it holds at once.
    const perLane = p.laneBudgets.map(() => 0);
    p.children.forEach((c, i) => {
      const lane = i % p.lanes;
      perLane[lane] = Math.max(perLane[lane]!, visit(c, p.laneBudgets[lane]!));
    });
    return perLane.reduce((a, x) => a + x, 0);
  };
  return visit({ start: 0, end: items }, budget);
}

describe('tree shape', () => {
  it.each([1, 9, 10, 11, 101, 1000])('%i chunks at concurrency 200 fit in one leaf or a shallow tree', (n) => {
    const s = treeShape(n, 200, DEFAULT_TREE);
    expect(s.maxLeafItems).toBeLessThanOrEqual(DEFAULT_TREE.leafSize);
    expect(s.maxPending).toBeLessThanOrEqual(50);
    expect(s.depth).toBe(n <= DEFAULT_TREE.maxPending! ? 1 : 2);
  });

  it('10,000 chunks at concurrency 200: 40 leaves of 250 with 5 calls in flight each', () => {
    const root = planNode({ start: 0, end: 10_000 }, 200, DEFAULT_TREE);
    expect(root.leaf).toBe(false);
    expect(root.children).toHaveLength(40);
    expect(root.lanes).toBe(40);
    expect(root.laneBudgets.reduce((a, b) => a + b, 0)).toBe(200);
    const s = treeShape(10_000, 200, DEFAULT_TREE);
    expect(s).toMatchObject({ depth: 2, leaves: 40, workflows: 41, maxLeafItems: 250, maxPending: 40 });
  });

  it('never has more than 500 pending in one workflow, even at absurd sizes and budgets', () => {
    for (const [n, c] of [
      [2_000_000, 10_000],
      [60_000, 5],
      [500, 5000],
    ] as const) {
      const s = treeShape(n, c, DEFAULT_TREE);
      expect(s.maxPending).toBeLessThanOrEqual(500);
      expect(s.maxLeafItems).toBeLessThanOrEqual(DEFAULT_TREE.leafSize);
    }
  });

  it('keeps at most 50 in flight per workflow and still runs the whole budget at once', () => {
    for (const n of [2, 51, 100, 200, 250, 251, 1000, 2000, 10_000, 100_000])
      for (const c of [1, 16, 50, 51, 200, 1000, 10_000]) {
        const s = treeShape(n, c, DEFAULT_TREE);
        expect(s.maxPending, `${n} items at concurrency ${c}`).toBeLessThanOrEqual(50);
        expect(s.maxLeafItems).toBeLessThanOrEqual(DEFAULT_TREE.leafSize);
        // The leaves' windows add up to the budget (or to every item, when there are fewer).
        expect(leafLanes(n, c), `${n} items at concurrency ${c}`).toBe(Math.min(n, c));
      }
  });

  it('splits a leaf-sized range that would hold more than 50 calls: 250 chunks at 200 run as 4 leaves of 50', () => {
    const p = planNode({ start: 0, end: 250 }, 200, DEFAULT_TREE);
    expect(p).toMatchObject({ leaf: false, lanes: 4, laneBudgets: [50, 50, 50, 50] });
    expect(p.children.map((r) => r.end - r.start)).toEqual([63, 63, 62, 62]);
    expect(planNode(p.children[0]!, 50, DEFAULT_TREE)).toMatchObject({ leaf: true, lanes: 50 });
    expect(planNode({ start: 0, end: 100 }, 200, { ...DEFAULT_TREE, maxPending: 1 })).toMatchObject({ leaf: true, lanes: 1 });
  });

  it('plans nodes started before the cap existed (no maxPending in their tree) as it did then', () => {
    const before = { leafSize: 250, fanout: 200, maxLeafConcurrency: 400 };
    expect(planNode({ start: 0, end: 250 }, 200, before)).toEqual({ leaf: true, children: [], lanes: 200, laneBudgets: [] });
    const inner = planNode({ start: 0, end: 1000 }, 200, before);
    expect(inner).toMatchObject({ leaf: false, lanes: 4, laneBudgets: [50, 50, 50, 50] });
    expect(treeShape(500, 5000, before).maxPending).toBe(250);
  });

  it('shares a budget without exceeding it', () => {
    expect(splitBudget(200, 40)).toEqual(Array(40).fill(5));
    expect(splitBudget(7, 3)).toEqual([3, 2, 2]);
    expect(splitBudget(2, 5)).toEqual([1, 1, 1, 1, 1]); // lanes ≤ budget in planNode keeps this from happening
    expect(planNode({ start: 0, end: 10_000 }, 3, DEFAULT_TREE).lanes).toBe(3);
    expect(splitRange(0, 10, 3).map((r) => r.end - r.start)).toEqual([4, 3, 3]);
  });
});
