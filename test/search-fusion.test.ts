/**
 * Reciprocal Rank Fusion (src/shared/search.ts) on its own: scores from ranks only, each fused hit
 * keeps every list that ranked it, and ties are broken by the stated rule whatever order the hits
 * arrive in.
 */
import { describe, expect, it } from 'vitest';
import { reciprocalRankFusion, type RankedList, type SourceHit } from '../src/shared/search';

const hit = (id: string): SourceHit => ({ id, title: id, snippet: '' });
const list = (source: string, ids: string[], query = 0): RankedList => ({ source, query, hits: ids.map(hit) });

describe('reciprocalRankFusion', () => {
  it('scores Σ 1/(k + rank) and keeps which list ranked each hit, and where', () => {
    const fused = reciprocalRankFusion([list('a', ['a:1', 'b:2', 'a:3']), list('b', ['b:2', 'b:9'])], 60);
    expect(fused.map((h) => h.id)).toEqual(['b:2', 'a:1', 'b:9', 'a:3']);
    const b2 = fused[0]!;
    expect(b2.score).toBeCloseTo(1 / 62 + 1 / 61, 15);
    expect(b2.ranks).toEqual([
      { source: 'a', query: 0, rank: 2 },
      { source: 'b', query: 0, rank: 1 },
    ]);
    expect(fused.map((h) => h.rank)).toEqual([1, 2, 3, 4]);
  });

  it('reads ranks, not scores: agreement of several lists outweighs one first place', () => {
    const lists = [list('a', ['x', 'y']), list('b', ['z', 'y']), list('c', ['w', 'q', 'y'])];
    // y (ranks 2, 2, 3) against x, z, w (one first place each): 1/2 + 1/2 + 1/3 > 1 with k = 0, and more so with a large k.
    expect(reciprocalRankFusion(lists, 0)[0]!.id).toBe('y');
    expect(reciprocalRankFusion(lists, 1000)[0]!.id).toBe('y');
    // A list naming a passage twice counts its first place only.
    expect(reciprocalRankFusion([list('a', ['x', 'x', 'y'])], 60).map((h) => [h.id, h.ranks.length])).toEqual([
      ['x', 1],
      ['y', 1],
    ]);
  });

  it('breaks ties by best rank, then the earlier list, then the id — the same order however the ties are met', () => {
    // p and q both score 1/61 + 1/63 (ranks 1 and 3); r and s score 1/62 + 1/62 (ranks 2 and 2), a hair less.
    const lists = [list('a', ['p', 'r', 'q']), list('b', ['q', 's', 'p']), list('c', ['t', 'r']), list('d', ['u', 's'])];
    const fused = reciprocalRankFusion(lists, 60);
    // p, q: equal score, both best rank 1, both first met in list a: the id decides. r, s (and t, u): the earlier list decides.
    expect(fused.map((h) => h.id)).toEqual(['p', 'q', 'r', 's', 't', 'u']);
    // Swap the lists: the list rule follows the new order, the id rule does not move.
    const swapped = reciprocalRankFusion([lists[1]!, lists[0]!, lists[3]!, lists[2]!], 60);
    expect(swapped.map((h) => h.id)).toEqual(['p', 'q', 's', 'r', 'u', 't']);
    // Equal score (k = 0: 1/1 = 1/2 + 1/2), the better best rank first:
    // a (once, first) before b (twice second), though b is met in an earlier list.
    expect(reciprocalRankFusion([list('x', ['c', 'b']), list('y', ['a', 'b'])], 0).map((h) => h.id)).toEqual(['c', 'a', 'b']);
    // Run twice: identical.
    expect(reciprocalRankFusion(lists, 60)).toEqual(fused);
  });
});
