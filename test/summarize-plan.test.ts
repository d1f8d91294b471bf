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

describe('tree shape', () => {
  it.each([1, 9, 10, 11, 101, 1000])('%i chunks at concurrency 200 fit in one leaf or a shallow tree', (n) => {
    const s = treeShape(n, 200, DEFAULT_TREE);
    expect(s.maxLeafItems).toBeLessThanOrEqual(DEFAULT_TREE.leafSize);
    expect(s.maxPending).toBeLessThanOrEqual(200);
    expect(s.depth).toBe(n <= DEFAULT_TREE.leafSize ? 1 : 2);
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

  it('shares a budget without exceeding it', () => {
    expect(splitBudget(200, 40)).toEqual(Array(40).fill(5));
    expect(splitBudget(7, 3)).toEqual([3, 2, 2]);
    expect(splitBudget(2, 5)).toEqual([1, 1, 1, 1, 1]); // lanes ≤ budget in planNode keeps this from happening
    expect(planNode({ start: 0, end: 10_000 }, 3, DEFAULT_TREE).lanes).toBe(3);
    expect(splitRange(0, 10, 3).map((r) => r.end - r.start)).toEqual([4, 3, 3]);
  });
});
