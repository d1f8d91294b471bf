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
 *
 * A workflow that makes few calls of its own (an agent's handful of turns) can start from the
 * worker's recent durations instead (`seed`, from the `modelLatency` activity, whose result is in
 * history), and leave the cap to the worker (`cap: 'worker'`): the hedge's request then says it is a
 * hedge, and the worker refuses it (`HedgeRefused`) when its hedges would pass `maxRate` of the model
 * calls it made lately — a cap over every run on the worker, where a run's own few calls would
 * allow none. The worker's verdict is the activity's result, so it too holds on replay.
 */
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CostSummary } from '../shared/pricing';
import type { LlmRequest, LlmResult, UsageSummary } from '../shared/types';
import { cancellable, race, type RaceResult, type Spend } from './race';

/** Why a hedge did not start: the share of calls hedged would pass the cap. */
const BUDGET_SPENT = 'hedge budget spent';

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
  /**
   * Who holds the hedges to `maxRate`: `run` (default) counts this hedger's own calls; `worker` lets
   * the worker count every run's calls and refuse a hedge past the rate (see the module comment).
   */
  cap?: 'run' | 'worker';
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
  /**
   * What the call that lost spent (the primary cut by the hedge's answer, or the hedge cut by the
   * primary's), if anything, and how long it ran (ms).
   */
  lost?: { usage: UsageSummary; cost: CostSummary; ms: number };
  /** Why a hedge due by the threshold did not start (its budget was spent). */
  refused?: string;
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
    this.o = { quantile: 0.95, minSamples: 20, window: 200, maxRate: 0.1, cap: 'run', ...o };
  }

  /** Starts a model's series from durations measured elsewhere (oldest first), e.g. the worker's recent calls. */
  seed(model: string, durations: readonly number[]): void {
    for (const ms of durations) this.record(model, ms);
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
    // The hedge repeats the request but announces nothing: its twin streams and announces for both.
    const { streamTo: _s, announceTools: _t, announceSections: _a, ...quiet } = req;
    const hedgeReq: LlmRequest = {
      ...quiet,
      ...(this.o.hedgeModel ? { model: this.o.hedgeModel } : {}),
      ...(this.o.cap === 'worker' ? { hedge: { maxRate: this.o.maxRate } } : {}),
    };
    let r: RaceResult<LlmResult>;
    if (threshold === undefined) {
      r = await race([primary]);
    } else {
      const hedge = {
        name: 'hedge',
        startAfterMs: Math.max(1, Math.round(threshold)),
        run: async (s: Spend) => {
          // The budget is checked when the hedge would start: calls so far, this one included.
          if (this.o.cap === 'run') {
            if (this.hedges + 1 > this.o.maxRate * this.calls) throw new Error(BUDGET_SPENT);
            this.hedges++;
          }
          return s.model(activity('hedge')(hedgeReq));
        },
      };
      r = await race([primary, hedge]);
    }
    for (const b of r.branches) {
      for (const [model, usage] of Object.entries(b.usage.byModel)) spend.charge(model, usage, b.cost.estimatedUsd > 0);
    }
    this.record(key, r.value.endedAt - r.value.startedAt);
    const h = r.branches.find((b) => b.name === 'hedge');
    const refused = h?.reason?.includes(BUDGET_SPENT) ? h.reason : undefined;
    const hedged = h !== undefined && h.status !== 'not-started' && refused === undefined;
    if (hedged && this.o.cap === 'worker') this.hedges++;
    const loser = r.branches.find((b) => b.name !== r.winner && b.usage.total.inputTokens + b.usage.total.outputTokens > 0);
    return {
      result: r.value,
      ...(threshold !== undefined ? { thresholdMs: threshold } : {}),
      winner: r.winner === 'hedge' ? 'hedge' : 'primary',
      hedged,
      ...(loser ? { lost: { usage: loser.usage, cost: loser.cost, ms: (loser.endedAt ?? 0) - (loser.startedAt ?? 0) } } : {}),
      ...(refused ? { refused } : {}),
    };
  }
}
