// The simulator's only source of randomness. Every latency draw and fault-rate roll goes through
// one seeded generator so a benchmark run with the same seed and the same request order sees the
// same timings and the same faults. (Concurrent requests draw in arrival order, so exact replay
// needs the same arrival order too.)
import type { Dist } from './types';

export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    // Fold any number (including negatives and fractions) into a non-zero 32-bit state.
    this.state = (Math.floor(seed) ^ 0x9e3779b9) >>> 0 || 0x6d2b79f5;
  }

  /** Uniform in [0, 1); a mulberry32 step. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal via Box–Muller. */
  gaussian(): number {
    const u = Math.max(this.next(), Number.EPSILON);
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A non-negative draw from `dist` in the unit the caller uses (milliseconds here). */
  draw(dist: Dist): number {
    let value: number;
    if (typeof dist === 'number') value = dist;
    else if ('fixed' in dist) value = dist.fixed;
    else if ('uniform' in dist) {
      const [lo, hi] = dist.uniform;
      value = lo + (hi - lo) * this.next();
    } else if ('normal' in dist) value = dist.normal.mean + dist.normal.sd * this.gaussian();
    else value = dist.lognormal.median * Math.exp(dist.lognormal.sigma * this.gaussian());
    return Number.isFinite(value) ? Math.max(0, value) : 0;
  }
}
