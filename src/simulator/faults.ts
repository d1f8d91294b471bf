// Fault injection: an ordered list of rules, each matching some requests, firing with a seeded
// probability and at most `times` times. The first matching rule that fires decides the fault, so
// "fail the first two requests, then 10% of the rest" is two rules in that order.
import type { SeededRandom } from './random';
import type { FaultRule } from './types';

export interface FaultContext {
  model: string;
  stream: boolean;
  /** System plus all message text (see requestText). */
  text: string;
}

export class FaultBook {
  private readonly fired: number[];

  constructor(private readonly rules: FaultRule[] = []) {
    this.fired = rules.map(() => 0);
  }

  private matches(rule: FaultRule, ctx: FaultContext): boolean {
    const m = rule.match;
    if (!m) return true;
    if (m.model !== undefined && m.model !== ctx.model) return false;
    if (m.stream !== undefined && m.stream !== ctx.stream) return false;
    if (m.contains !== undefined && !ctx.text.includes(m.contains)) return false;
    return true;
  }

  /** The rule to apply to this request, if any; counts it against its `times`. */
  pick(ctx: FaultContext, rng: SeededRandom): FaultRule | undefined {
    for (const [i, rule] of this.rules.entries()) {
      if (rule.times !== undefined && this.fired[i]! >= rule.times) continue;
      if (!this.matches(rule, ctx)) continue;
      const rate = rule.rate ?? 1;
      // Certain rules skip the draw so adding one does not shift every later latency draw.
      if (rate < 1 && !(rate > 0 && rng.next() < rate)) continue;
      this.fired[i]! += 1;
      return rule;
    }
    return undefined;
  }
}
