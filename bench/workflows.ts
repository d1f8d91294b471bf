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
