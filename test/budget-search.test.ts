/**
 * `braid search --budget` on the real server (issue #13 §3): the planner's and the answer's model
 * calls each reserve their worst case before they start. A budget that covers the planner but not the
 * answer keeps the split query and the fused hits, refuses the answer, and says `budget-reached`;
 * spend never passes the budget, and a budget that covers both changes nothing but the report.
 */
import { describe, expect, it } from 'vitest';
import { SEARCH_SOURCES, SEARCH_WORKFLOW, type SearchInput, type SearchResult } from '../src/shared/search';
import { llmTaskQueue } from '../src/shared/task-queues';
import { braid, server } from './cli-helpers';
import { budgetRig, budgetRunId, budgetSetting } from './budget-fixtures';

const rig = budgetRig();

const search = (usd: number): Promise<SearchResult> =>
  rig.h.client.workflow.execute<(i: SearchInput) => Promise<SearchResult>>(SEARCH_WORKFLOW, {
    taskQueue: rig.worker.taskQueue,
    workflowId: budgetRunId('search'),
    args: [
      {
        query: 'refund for an item that arrived damaged',
        sources: SEARCH_SOURCES.map((name) => ({ name })),
        decompose: true,
        answer: true,
        llmTaskQueue: llmTaskQueue(rig.worker.taskQueue),
        budget: budgetSetting(usd),
      },
    ],
  });

describe('search with a budget', () => {
  it('keeps the split query and the hits, refuses the answer whose worst case would pass the budget, and never overspends', async () => {
    // The planner (fast model, 200 tokens out) reserves well under a cent; the answer (capable model
    // reading five hits of up to 4,000 characters, 1,024 tokens out) reserves several cents.
    const r = await search(0.01);
    expect(r.status).toBe('budget-reached');
    expect(r.plan?.status).toBe('split'); // the planner ran (what it split the query into is the simulator's)
    expect(r.plan?.usage?.outputTokens).toBeGreaterThan(0);
    expect(r.hits.length).toBeGreaterThan(0);
    expect(r.answer?.status).toBe('failed');
    expect(r.answer?.reason).toMatch(/not started: the budget of \$0\.01\d* was reached/);
    expect(r.budget!.usd).toBe(0.01);
    expect(r.budget!.spentUsd).toBeGreaterThan(0);
    expect(r.budget!.spentUsd).toBeLessThanOrEqual(0.01);
    expect(r.budget!.spentUsd).toBeCloseTo(r.cost.totalUsd, 6);
    expect(r.budget!.skippedCalls).toBeGreaterThanOrEqual(1);
  });

  it('a budget too small for the planner: the query goes out alone, unanswered, and nothing is spent', async () => {
    const r = await search(0.000001);
    expect(r.status).toBe('budget-reached');
    expect(r.plan?.status).toBe('failed');
    expect(r.plan?.reason).toMatch(/budget/);
    expect(r.queries).toHaveLength(1);
    expect(r.hits.length).toBeGreaterThan(0);
    expect(r.answer?.status).toBe('failed');
    expect(r.cost.totalUsd).toBe(0);
    expect(r.budget!.spentUsd).toBe(0);
  });

  it('a budget that covers both calls: answered, no budget-reached, the spend reported against it', async () => {
    const r = await search(1);
    expect(r.status).toBeUndefined();
    expect(r.plan?.status).toBe('split');
    expect(r.answer?.status).toBe('answered');
    expect(r.budget!.spentUsd).toBeCloseTo(r.cost.totalUsd, 6);
    expect(r.budget!.skippedCalls).toBe(0);
  });

  it('braid search refuses --budget without a model call to cover, in one line with exit code 2', async () => {
    const run = await braid(['search', '--budget', '0.50', 'refunds'], server());
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/--budget covers the model calls of --decompose and --answer/);
  });
});
