/**
 * The ideal makespan a benchmark compares Braid with: the same calls, at most C at a time, each slot
 * refilled the instant it frees, and nothing between them — no scheduling, no network, no CPU.
 * With a fixed latency L that is the familiar ⌈N/C⌉·L per phase; with jitter it is the median, over
 * many simulated schedules, of the same scheduling with latencies drawn from the distribution the
 * simulator draws from, since a wave now waits for its slowest call.
 */
import { SeededRandom } from '../src/simulator/random';
import type { Dist } from '../src/simulator/types';

/** One phase: `items` units of work, each `steps` calls one after another, `c` units at a time. */
export interface Phase {
  items: number;
  steps: number;
  c: number;
}

/** Makespan of units with these durations run `c` at a time in a sliding window, in order. */
export function windowMakespan(durations: readonly number[], c: number): number {
  const heap = new MinHeap();
  let end = 0;
  for (const d of durations) {
    const free = heap.size < c ? 0 : heap.pop();
    const done = free + d;
    heap.push(done);
    end = Math.max(end, done);
  }
  return end;
}

/** The ideal of phases run one after another; the median of `trials` schedules when `latency` is random. */
export function idealMs(phases: readonly Phase[], latency: Dist, trials = 101, seed = 7): number {
  const rng = new SeededRandom(seed);
  const fixed = typeof latency === 'number' || 'fixed' in latency;
  const one = () =>
    phases.reduce((sum, p) => {
      const units = Array.from({ length: p.items }, () => {
        let t = 0;
        for (let s = 0; s < p.steps; s++) t += rng.draw(latency);
        return t;
      });
      return sum + windowMakespan(units, p.c);
    }, 0);
  if (fixed) return Math.round(one());
  const xs = Array.from({ length: trials }, one).sort((a, b) => a - b);
  return Math.round(xs[Math.floor(trials / 2)]!);
}

class MinHeap {
  private a: number[] = [];
  get size() {
    return this.a.length;
  }
  push(x: number) {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= a[i]!) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}
