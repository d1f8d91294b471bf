/**
 * `braid ask --budget` on the real Temporal server with the simulator as the model: each model turn
 * reserves its worst case before it starts, a turn that does not fit is not started, the run ends
 * `budget-reached` keeping the turns done, and the spend never passes the budget.
 * (Summarize's budgets and ask's retried spend: test/budget.test.ts.)
 */
import { WorkflowFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { ASK_WORKFLOW, type AgentInput } from '../src/shared/ask';
import { roundUsd, usdFor } from '../src/shared/pricing';
import type { LlmRequest } from '../src/shared/types';
import { ToolRegistry } from '../src/tools';
import type { toolAgent } from '../src/workflows';
import { latencyTool, scheduledInputs } from './helpers';
import { budgetRig, budgetModels, budgetRunId, budgetSetting } from './budget-fixtures';

const rig = budgetRig(() => new ToolRegistry().register(latencyTool('quick', 20)));

const id = budgetRunId;
const models = budgetModels;
const setting = budgetSetting;

const ask = (input: AgentInput) =>
  rig.h.client.workflow.start<typeof toolAgent>(ASK_WORKFLOW, { taskQueue: rig.worker.taskQueue, workflowId: id('ask'), args: [input] });

describe('ask --budget', () => {
  const question = 'Check the source, then answer.\n#sim tools=quick';

  it('does not start a turn whose worst case would pass the budget, and keeps the turns done', async () => {
    // With room to spare: two turns, each sent with its reservation, the second's above the first's.
    const ample = await ask({ question, budget: setting(100) });
    const free = await ample.result();
    expect(free.turns).toBe(2);
    expect(free.status).toBeUndefined();
    expect(free.budget).toMatchObject({ usd: 100, reached: false, skippedCalls: 0 });
    expect(free.budget!.spentUsd).toBeCloseTo(free.cost!.totalUsd, 7);
    const sent = (await scheduledInputs(ample, 'llmTurn')) as LlmRequest[];
    const [first, second] = sent.map((r) => r.maxUsd!);
    expect(sent.map((r) => r.maxTokens)).toEqual([1000, 1000]);
    expect(second).toBeGreaterThan(first!);
    const turn1 = free.branches.find((b) => b.kind === 'llm')!;
    const spent1 = usdFor(turn1.model!, turn1.usage!)!;
    expect(first).toBeGreaterThan(spent1); // a reservation is the worst case

    // Room for the first turn's reservation, but not for the second's once the first is charged.
    const usd = roundUsd(first! + spent1 / 2);
    const r = await (await ask({ question, budget: setting(usd) })).result();
    expect(r.status).toBe('budget-reached');
    expect(r.stopReason).toBe('budget');
    expect(r.turns).toBe(1);
    expect(r.branches.filter((b) => b.kind === 'llm')).toHaveLength(1);
    expect(r.branches.filter((b) => b.kind === 'tool')).toHaveLength(1); // the tool the first turn asked for ran
    expect(r.budget).toMatchObject({ usd, reached: true, skippedCalls: 1, cancelledCalls: 0 });
    expect(r.cost!.totalUsd).toBeLessThanOrEqual(usd);
    expect(r.cost!.totalUsd).toBe(spent1);
    expect(r.budget!.spentUsd).toBeCloseTo(r.cost!.totalUsd, 7);
  });

  it('starts no model call when the budget is below the first turn', async () => {
    rig.sim.clearLedger();
    const r = await (await ask({ question: 'What is the refund window?', budget: setting(0.000001) })).result();
    expect(rig.sim.ledger()).toHaveLength(0);
    expect(r).toMatchObject({ status: 'budget-reached', stopReason: 'budget', turns: 0 });
    expect(r.answer).toMatch(/^\(no final answer: budget reached \(\$0 spent of \$0\.000001\) before model turn 1\)$/);
    expect(r.budget).toMatchObject({ spentUsd: 0, reached: true, skippedCalls: 1 });
    expect(r.cost!.totalUsd).toBe(0);
  });

  it('refuses a budget it cannot keep, before anything starts', async () => {
    const err = await (
      await ask({ question: 'x', budget: setting(1, { models: { ...models, capable: 'no-such-model' } }) })
    )
      .result()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause!.message).toMatch(/no-such-model\) has no price/);
  });
});
