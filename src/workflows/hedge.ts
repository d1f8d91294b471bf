/**
 * Hedged model calls for workflow code: a call that takes longer than its model's recent p95 latency
 * starts one hedge — the same request again, or the same request to another model — and the first
 * complete response wins; the other call is cancelled (and its streamed spend charged as
 * estimated, through `Spend`). Hedges are capped at a share of calls (10% by default), so in an
 * incident, when every call is slow, hedging cannot double the load.
 *
 * The p95 comes from the durations of this workflow's own earlier calls, as their results report
 * them (`startedAt`/`endedAt`, recorded in history), so the threshold — and so whether a hedge
 * starts — is the same on replay. Until `minSamples` calls have completed there is no p95 and no
 * hedge. The race between the call and its hedge is race.ts's, the hedge a strategy staggered by
 * the threshold: a call that finishes in time cancels the hedge's timer, nothing else.
 */
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { LlmRequest, LlmResult } from '../shared/types';
import { cancellable, race, type RaceResult, type Spend } from './race';

export interface HedgeOptions {
  /** The latency quantile a call must exceed before it is hedged (default 0.95). */
  quantile?: number;
  /** Completed calls per model before hedging starts (default 20). */
  minSamples?: number;
  /** How many recent durations per model count (default 200). */
  window?: number;
  /** At most this share of calls is hedged (default 0.1). */
  maxRate?: number;
  /** Send the hedge to this model (a role name or model id) instead of repeating the request. */
  hedgeModel?: string;
}

/** How one hedged call went. */
export interface HedgedCall {
  result: LlmResult;
  /** The threshold the call had to exceed (absent: not enough samples yet). */
  thresholdMs?: number;
  /** `primary` unless the hedge started and answered first. */
  winner: 'primary' | 'hedge';
  /** True when a hedge was started. */
  hedged: boolean;
}

/** The q-quantile of a list (nearest rank), or undefined for an empty one. */
export function quantileOf(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Keeps one workflow's model-call durations and hedges its slow calls; see the module comment. */
export class Hedger {
  private readonly durations = new Map<string, number[]>();
  /** Calls made through this hedger, and hedges started. */
  calls = 0;
  hedges = 0;
  private readonly o: Required<Omit<HedgeOptions, 'hedgeModel'>> & Pick<HedgeOptions, 'hedgeModel'>;

  constructor(o: HedgeOptions = {}) {
    this.o = { quantile: 0.95, minSamples: 20, window: 200, maxRate: 0.1, ...o };
  }

  /** Records a completed call's duration for its model. */
  record(model: string, ms: number): void {
    const list = this.durations.get(model) ?? [];
    list.push(ms);
    if (list.length > this.o.window) list.shift();
    this.durations.set(model, list);
  }

  /** The model's current hedge threshold (its recent p95), or undefined before `minSamples` calls. */
  thresholdMs(model: string): number | undefined {
    const list = this.durations.get(model) ?? [];
    return list.length < this.o.minSamples ? undefined : quantileOf(list, this.o.quantile);
  }

  /**
   * Calls the model (`llmTurn`) with `options` (a profile such as `modelCall`, with a summary),
   * hedging the call if it runs past the threshold and the hedge budget allows; charges both calls
   * to `spend`. `key` names the latency series (default: the request's model or role).
   */
  async call(spend: Spend, options: ActivityOptions, req: LlmRequest, key = req.model ?? req.role): Promise<HedgedCall> {
    this.calls++;
    const threshold = this.thresholdMs(key);
    const activity = (summary: string) =>
      proxyActivities<Activities>(cancellable({ ...options, summary: `${options.summary ?? 'model call'} · ${summary}`.slice(0, 120) }))
        .llmTurn;
    const primary = { name: 'primary', run: (s: Spend) => s.model(activity('primary')(req)) };
    let r: RaceResult<LlmResult>;
    if (threshold === undefined) {
      r = await race([primary]);
    } else {
      const hedge = {
        name: 'hedge',
        startAfterMs: Math.max(1, Math.round(threshold)),
        run: async (s: Spend) => {
          // The budget is checked when the hedge would start: calls so far, this one included.
          if (this.hedges + 1 > this.o.maxRate * this.calls) throw new Error('hedge budget spent');
          this.hedges++;
          return s.model(activity('hedge')(this.o.hedgeModel ? { ...req, model: this.o.hedgeModel } : req));
        },
      };
      r = await race([primary, hedge]);
    }
    for (const b of r.branches) {
      for (const [model, usage] of Object.entries(b.usage.byModel)) spend.charge(model, usage, b.cost.estimatedUsd > 0);
    }
    this.record(key, r.value.endedAt - r.value.startedAt);
    return {
      result: r.value,
      ...(threshold !== undefined ? { thresholdMs: threshold } : {}),
      winner: r.winner === 'hedge' ? 'hedge' : 'primary',
      hedged: r.branches.some((b) => b.name === 'hedge' && b.status !== 'not-started' && b.reason !== 'hedge budget spent'),
    };
  }
}
