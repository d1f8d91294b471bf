/**
 * `braid pipeline --budget` on the real Temporal server with the simulator as the model: a chain
 * starts only once its worst case (every call it may make) is reserved, chains that do not fit are
 * not started nor retried, the chains done are kept and the spend never passes the budget. A stream
 * cut mid-answer and retried is charged as estimated, on the chain and in the run's cost.
 */
import type { WorkflowFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { worstCaseUsd } from '../src/shared/budget';
import { CHAIN_MAX_CALLS, chainCallInputTokens, PIPELINE_WORKFLOW, type PipelineInput } from '../src/shared/pipeline';
import { roundUsd, usdFor } from '../src/shared/pricing';
import type { contentPipeline } from '../src/workflows';
import { budgetRig, budgetModels, budgetRunId, budgetSetting } from './budget-fixtures';

const rig = budgetRig();

const id = budgetRunId;
const models = budgetModels;
const setting = budgetSetting;

const pipeline = (input: PipelineInput) =>
  rig.h.client.workflow.start<typeof contentPipeline>(PIPELINE_WORKFLOW, {
    taskQueue: rig.worker.taskQueue,
    workflowId: id('pipeline'),
    args: [input],
  });

describe('pipeline --budget', () => {
  it('starts a chain only when its worst case fits; the chains done are kept, the rest not started nor retried', async () => {
    const topics = ['Solar panels on flat roofs', 'Heat pumps in old houses', 'Batteries for home storage'];
    const callUsd = Math.max(...topics.map((t) => worstCaseUsd(models.fast, chainCallInputTokens(t, 2000), 2000)!));
    const chainUsd = CHAIN_MAX_CALLS * callUsd;
    // Room for one chain's reservation and a millionth of a dollar: once it is charged, the next one's does not fit.
    const usd = roundUsd(chainUsd + 0.000001);
    const r = await (await pipeline({ topics, concurrency: 1, maxTokens: 2000, budget: setting(usd) })).result();
    expect(r.status).toBe('budget-reached');
    expect(r.ok).toBe(1);
    expect(r.failed).toBe(2);
    expect(r.retried).toBe(0);
    expect(r.chains[0]!.status).toBe('ok');
    for (const c of r.chains.slice(1)) {
      expect(c.status).toBe('failed');
      expect(c.error).toMatch(/^not started: the budget of \$[0-9.]+ was reached$/);
    }
    expect(r.budget).toMatchObject({ usd, reached: true, skippedCalls: 6, cancelledCalls: 0 });
    expect(r.cost!.totalUsd).toBeLessThanOrEqual(usd);
    expect(r.budget!.spentUsd).toBeCloseTo(r.cost!.totalUsd, 7);
  });

  it('runs every chain, the spend counted, when the budget covers them', async () => {
    const r = await (await pipeline({ topics: ['Rainwater tanks', 'Green roofs'], concurrency: 2, budget: setting(5) })).result();
    expect(r.status).toBeUndefined();
    expect(r.ok).toBe(2);
    expect(r.budget).toMatchObject({ usd: 5, reached: false, skippedCalls: 0 });
    expect(r.budget!.spentUsd).toBeCloseTo(r.cost!.totalUsd, 7);
  });

  it('refuses a budget with stage overlap, before anything starts', async () => {
    const err = await (
      await pipeline({ topics: ['x'], concurrency: 1, overlap: true, budget: setting(1) })
    )
      .result()
      .catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause!.message).toMatch(/stage overlap/);
  });
});

describe('pipeline: spend of retried attempts', () => {
  it('charges a stream cut mid-answer as estimated, on the chain and in the run cost', async () => {
    rig.sim.configure({ faults: [{ kind: 'reset', times: 1, match: { contains: 'marker-pipe-cut' } }] });
    const r = await (await pipeline({ topics: ['marker-pipe-cut: wind farms at sea'], concurrency: 1 })).result();
    rig.sim.configure({ faults: [] });
    const c = r.chains[0]!;
    expect(c.status).toBe('ok');
    expect(c.retriedSpend).toHaveLength(1);
    const lost = c.retriedSpend![0]!;
    expect(lost.usage.outputTokens).toBeGreaterThan(0);
    expect(r.cost!.estimatedUsd).toBe(usdFor(lost.model, lost.usage));
    const stages = Object.values(r.costByPhase!).reduce((n, p) => n + p.totalUsd, 0);
    expect(r.cost!.totalUsd).toBeCloseTo(stages + r.cost!.estimatedUsd, 6);
  });
});
