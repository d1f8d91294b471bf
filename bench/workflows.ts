/**
 * Workflows only the benchmarks run, bundled beside Braid's own (one worker runs both): serial
 * chains of zero-work steps — activities, local activities, child workflows — for `overhead` and
 * `ceiling`, and one wide fan-out of model calls through Braid's own helpers for `fanout-wide`.
 */
import { executeChild, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../src/activities';
import type { ModelRole } from '../src/shared/types';
import { modelCall } from '../src/workflows/profiles';
import { slidingWindow } from '../src/workflows/window';
import { Hedger } from '../src/workflows/hedge';
import { Spend } from '../src/workflows/race';

export * from '../src/workflows';

/** The zero-work activity the chains call (registered by the benchmark's worker). */
export interface BenchActivities {
  benchStep(i: number): Promise<number>;
}

const step = proxyActivities<BenchActivities>({ startToCloseTimeout: '1 minute' }).benchStep;
const localStep = proxyLocalActivities<BenchActivities>({ startToCloseTimeout: '1 minute' }).benchStep;
const llm = proxyActivities<Activities>(modelCall);

export type ChainKind = 'activity' | 'local' | 'child';

/** `k` zero-work steps one after another. */
export async function benchChain(kind: ChainKind, k: number): Promise<number> {
  let sum = 0;
  for (let i = 0; i < k; i++) {
    if (kind === 'activity') sum += await step(i);
    else if (kind === 'local') sum += await localStep(i);
    else sum += await executeChild(benchChild, { workflowId: `${workflowInfo().workflowId}/${i}`, args: [i] });
  }
  return sum;
}

export async function benchChild(i: number): Promise<number> {
  return i;
}

/** `n` zero-work activities, `c` at a time (a sliding window), in one workflow. */
export async function benchWindow(n: number, c: number): Promise<number> {
  const done = await slidingWindow(
    Array.from({ length: n }, (_, i) => i),
    c,
    (i) => step(i),
  );
  return done.filter((d) => d.ok).length;
}

/** One workflow fanning out `n` model calls (Braid's `llmTurn`), `c` at a time, each a one-line question. */
export async function benchWideFanout(n: number, c: number, role: ModelRole): Promise<number> {
  const settled = await slidingWindow(
    Array.from({ length: n }, (_, i) => i),
    c,
    (i) => llm.llmTurn({ role, messages: [{ role: 'user', content: `Say one word about the number ${i}.` }], maxTokens: 16 }),
  );
  return settled.filter((s) => s.ok).length;
}

/** What `benchSpeculate` measured: each question's latency (workflow clock), tokens, dollars, hedges. */
export interface SpeculateBenchRun {
  latenciesMs: number[];
  tokens: number;
  costUsd: number;
  estimatedUsd: number;
  hedges: number;
  hedgeWins: number;
}

/**
 * `n` one-line questions to the fast model, `c` at a time: `without`, one call each; `with`, each
 * through one Hedger (a call past the model's recent p95 is sent again, first answer wins, ≤ 10%).
 */
export async function benchSpeculate(mode: 'without' | 'with', n: number, c: number): Promise<SpeculateBenchRun> {
  const spend = new Spend();
  const hedger = new Hedger();
  const latenciesMs: number[] = [];
  let hedgeWins = 0;
  await slidingWindow(
    Array.from({ length: n }, (_, i) => i),
    c,
    async (i) => {
      const req = {
        role: 'fast' as const,
        messages: [{ role: 'user' as const, content: `Say one short line about the number ${i}.` }],
        maxTokens: 40,
      };
      const t0 = Date.now();
      if (mode === 'without') await spend.model(llm.llmTurn(req));
      else if ((await hedger.call(spend, { ...modelCall, summary: `question ${i}` }, req)).winner === 'hedge') hedgeWins++;
      latenciesMs.push(Date.now() - t0);
    },
  );
  const u = spend.usage.total;
  return {
    latenciesMs,
    tokens: u.inputTokens + u.outputTokens,
    costUsd: spend.cost.totalUsd,
    estimatedUsd: spend.cost.estimatedUsd,
    hedges: hedger.hedges,
    hedgeWins,
  };
}
