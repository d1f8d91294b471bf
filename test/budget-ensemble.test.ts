/**
 * `braid ensemble --budget` on the real Temporal server with the simulator as every member: each
 * member's call reserves its worst case before it starts (a batch item: all of its calls), a call
 * that does not fit is a missing vote, `--on-budget cancel` stops the members in flight, and a
 * member's stream cut mid-answer and retried is charged as estimated.
 */
import { describe, expect, it } from 'vitest';
import { ENSEMBLE_WORKFLOW, type EnsembleInput, type EnsembleResult } from '../src/shared/ensemble';
import { roundUsd, usdFor } from '../src/shared/pricing';
import type { LlmRequest } from '../src/shared/types';
import { scheduledInputs } from './helpers';
import { budgetRig, budgetRunId, budgetSetting } from './budget-fixtures';

const rig = budgetRig();

const id = budgetRunId;
const setting = budgetSetting;

const HAIKU = 'claude-haiku-4-5';
const SONNET = 'claude-sonnet-4-6';
const OPUS = 'claude-opus-4-6';

const ensemble = (input: Partial<EnsembleInput>) =>
  rig.h.client.workflow.start<(i: EnsembleInput) => Promise<EnsembleResult>>(ENSEMBLE_WORKFLOW, {
    taskQueue: rig.worker.taskQueue,
    workflowId: id('ensemble'),
    args: [{ members: [{ model: HAIKU }, { model: SONNET }, { model: OPUS }], aggregate: 'vote', labels: ['yes', 'no'], ...input }],
  });

describe('ensemble --budget', () => {
  it('with --on-budget cancel, cancels the members in flight once one cannot start', async () => {
    // Each member's reservation, from a run with room to spare and a prompt of the same length.
    const ample = await ensemble({ prompt: 'Is the refund window 30 days?\n#sim slow_ms=0001', budget: setting(100) });
    await ample.result();
    const [r1, r2, r3] = ((await scheduledInputs(ample, 'llmTurn')) as LlmRequest[]).map((r) => r.maxUsd!);
    // Room for the first two: the third cannot start, and the two slow ones in flight are cancelled.
    const usd = roundUsd(r1! + r2! + r3! / 2);
    const r = await (
      await ensemble({ prompt: 'Is the refund window 30 days?\n#sim slow_ms=9000', budget: setting(usd, { inFlight: 'cancel' }) })
    ).result();
    expect(r.status).toBe('budget-reached');
    expect(r.budget).toMatchObject({ usd, reached: true, skippedCalls: 1, cancelledCalls: 2 });
    const item = r.items[0]!;
    expect(item.quorumHeld).toBe(false);
    expect(item.votes.map((v) => v.reason)).toEqual([
      expect.stringMatching(/cancelled in flight: the budget of/),
      expect.stringMatching(/cancelled in flight: the budget of/),
      expect.stringMatching(/not started: the budget of/),
    ]);
    expect(r.cost.totalUsd).toBeLessThanOrEqual(usd);
    expect(r.budget!.spentUsd).toBeCloseTo(r.cost.totalUsd, 7);
    expect(r.totalMs).toBeLessThan(9000); // well before the slow members would have answered
  });

  it('a batch starts no item whose calls do not fit', async () => {
    const items = ['Is it raining?', 'Is it sunny?', 'Is it windy?'].map((text, i) => ({ id: `q${i + 1}`, text }));
    const r = await (await ensemble({ items, concurrency: 1, budget: setting(0.000001) })).result();
    expect(r.status).toBe('budget-reached');
    expect(r.summary.answered).toBe(0);
    for (const i of r.items) expect(i.error).toMatch(/^not started: the budget of \$0\.000001 was reached$/);
    expect(r.budget).toMatchObject({ spentUsd: 0, reached: true, skippedCalls: 9 });
    expect(r.cost.totalUsd).toBe(0);
  });

  it('charges a member stream cut mid-answer as estimated', async () => {
    rig.sim.configure({ faults: [{ kind: 'reset', times: 1, match: { contains: 'marker-ens-cut' } }] });
    const r = await (await ensemble({ prompt: 'marker-ens-cut: is the refund window 30 days?\n#sim answer_tokens=60' })).result();
    rig.sim.configure({ faults: [] });
    expect(r.cost.estimatedUsd).toBeGreaterThan(0);
    const billed = Object.entries(r.usage.byModel).reduce((n, [m, u]) => n + usdFor(m, u)!, 0);
    expect(r.cost.totalUsd).toBeCloseTo(billed + r.cost.estimatedUsd, 6);
  });
});
