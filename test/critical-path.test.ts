import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { criticalPath, type PathSpan } from '../src/shared/critical-path';
import type { Branch } from '../src/shared/types';
import { BranchLog } from '../src/workflows/branches';

const span = (id: string, from: number, to: number, durationMs = to - from): PathSpan => ({ id, from, to, durationMs });

/** The longest chain by brute force: every ordered pair checked. */
function slow(spans: PathSpan[]): number {
  const order = [...spans.keys()].sort((a, b) => spans[a]!.from - spans[b]!.from || spans[a]!.to - spans[b]!.to || a - b);
  const best = new Map<number, number>();
  for (const [r, i] of order.entries()) {
    let before = 0;
    for (const k of order.slice(0, r)) if (spans[k]!.to <= spans[i]!.from) before = Math.max(before, best.get(k)!);
    best.set(i, spans[i]!.durationMs + before);
  }
  return Math.max(0, ...best.values());
}

describe('criticalPath', () => {
  it('is empty for no branches', () => {
    expect(criticalPath([])).toEqual({ ms: 0, ids: [] });
  });

  it('follows a model turn, its slowest tool, and the next turn', () => {
    const p = criticalPath([
      span('llm-1', 0, 100),
      span('tool-a', 100, 150),
      span('tool-b', 100, 400),
      span('tool-c', 100, 120),
      span('llm-2', 400, 480),
    ]);
    expect(p).toEqual({ ms: 100 + 300 + 80, ids: ['llm-1', 'tool-b', 'llm-2'] });
  });

  it('orders by one clock and weighs by another', () => {
    // Event ids order the branches; b and c overlap in event order, so only one of them counts.
    const p = criticalPath([span('a', 5, 9, 1000), span('b', 10, 20, 50), span('c', 10, 22, 70), span('d', 23, 30, 5)]);
    expect(p).toEqual({ ms: 1075, ids: ['a', 'c', 'd'] });
  });

  it('lets a running branch end the path but precede nothing', () => {
    const p = criticalPath([span('a', 0, 10), span('running', 10, Infinity, 500), span('b', 20, 30)]);
    expect(p).toEqual({ ms: 510, ids: ['a', 'running'] });
  });

  it('equals the ask timing table: the sum over turns of the model call and the slowest tool', () => {
    const turns = fc.array(fc.tuple(fc.integer({ min: 0, max: 500 }), fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 5 })), {
      minLength: 1,
      maxLength: 6,
    });
    fc.assert(
      fc.property(turns, (ts) => {
        const spans: PathSpan[] = [];
        let t = 0;
        let expected = 0;
        for (const [n, [llm, tools]] of ts.entries()) {
          spans.push(span(`llm-${n}`, t, t + llm));
          t += llm;
          for (const [k, d] of tools.entries()) spans.push(span(`tool-${n}-${k}`, t, t + d));
          const slowest = Math.max(0, ...tools);
          t += slowest;
          expected += llm + slowest;
        }
        expect(criticalPath(spans).ms).toBe(expected);
      }),
    );
  });

  it('finds the longest chain of any set of branches, and names a chain that adds up to it', () => {
    const spans = fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 100 })), {
      maxLength: 25,
    });
    fc.assert(
      fc.property(spans, (raw) => {
        const input = raw.map(([from, len, d], i) => span(`s${i}`, from, from + len, d));
        const p = criticalPath(input);
        expect(p.ms).toBe(slow(input));
        const chain = p.ids.map((id) => input.find((s) => s.id === id)!);
        expect(chain.reduce((sum, s) => sum + s.durationMs, 0)).toBe(p.ms);
        for (let i = 1; i < chain.length; i++) expect(chain[i - 1]!.to).toBeLessThanOrEqual(chain[i]!.from);
      }),
    );
  });

  it("gives the ask's timing table its critical path and sequential time", () => {
    const b = (id: string, turn: number, kind: Branch['kind'], startedAt: number, endedAt: number): Branch => ({
      id,
      turn,
      kind,
      name: id,
      status: 'ok',
      startedAt,
      endedAt,
      durationMs: endedAt - startedAt,
    });
    const log = new BranchLog({
      branches: [
        b('m1', 1, 'llm', 1000, 1200),
        b('t1', 1, 'tool', 1200, 1300),
        b('t2', 1, 'tool', 1200, 1700),
        b('m2', 2, 'llm', 1710, 1800),
      ],
      startedAt: 1000,
    });
    const t = log.timing();
    expect(t.criticalPathMs).toBe(200 + 500 + 90);
    expect(t.sequentialMs).toBe(200 + 100 + 500 + 90);
  });
});
