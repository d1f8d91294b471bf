/**
 * The run report's analysis, on the committed histories of real runs (test/histories/): branches,
 * tokens and cost, the critical path, fan-out width, where the time went — and a run cut short, as
 * a running run's history looks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { analyzeRun, childRunsOf, lostTaskCauses, type FetchedRun } from '../src/report/analyze';
import { renderHtml } from '../src/report/html';
import { addCall, emptyCost, usdFor } from '../src/shared/pricing';

const dir = path.join(__dirname, 'histories');
const load = (file: string) => historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));

/** A recorded run with the children that were recorded beside it (`<name>--<child>.json`). */
function recorded(name: string): FetchedRun {
  const history = load(`${name}.json`);
  const children = new Map<string, FetchedRun>();
  for (const c of childRunsOf(history)) {
    const file = `${name}--${c.workflowId.slice(c.workflowId.lastIndexOf('/') + 1)}.json`;
    if (fs.existsSync(path.join(dir, file))) children.set(c.workflowId, { ...c, history: load(file), children: new Map() });
  }
  return { workflowId: name, runId: 'recorded', history, children };
}

const resultOf = (run: FetchedRun): Record<string, unknown> => {
  const done = run.history.events!.at(-1)!.workflowExecutionCompletedEventAttributes!;
  return defaultPayloadConverter.fromPayload(done.result!.payloads![0]! as never);
};

describe('analyzeRun', () => {
  it('reads an ask: model turns and tools, tokens and cost as the run reported them', () => {
    const run = recorded('ask-showcase');
    const r = analyzeRun(run, { now: 0 });
    const result = resultOf(run) as { usage: { total: object; byModel: Record<string, { inputTokens: number; outputTokens: number }> } };
    expect(r.workflowType).toBe('toolAgent');
    expect(r.status).toBe('ok');
    expect(r.running).toBe(false);
    expect(r.spans.filter((s) => s.type === 'llmTurn').every((s) => s.kind === 'model' && s.model === 'claude-sonnet-4-6')).toBe(true);
    expect(r.spans.filter((s) => s.type === 'runTool').map((s) => s.kind)).toEqual(['tool', 'tool', 'tool', 'tool']);
    expect(r.usage).toEqual(result.usage.total);
    const expected = emptyCost();
    for (const [model, u] of Object.entries(result.usage.byModel)) addCall(expected, model, u);
    expect(r.cost.totalUsd).toBe(expected.totalUsd);
    expect(r.cost.totalUsd).toBeGreaterThan(0);
    for (const s of r.spans.filter((x) => x.usage)) expect(s.usd).toBe(usdFor(s.model!, s.usage!));
    expect(r.maxWidth).toBe(4);
  });

  it('names workflow tasks the server failed or timed out, by cause, and shows none for a clean run', () => {
    const run = recorded('ask-showcase');
    expect(analyzeRun(run, { now: 0 }).lostTasks).toEqual([]);
    expect(renderHtml(analyzeRun(run, { now: 0 }), { generatedAt: 0 })).not.toContain('id="lost-tasks"');
    // The same history with two tasks force-closed and one timed out, as a busy cluster records them.
    const events = run.history.events!;
    const at = events[4]!.eventTime;
    const E = temporal.api.enums.v1;
    const lost = [
      { workflowTaskFailedEventAttributes: { cause: E.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND } },
      { workflowTaskTimedOutEventAttributes: { timeoutType: E.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE } },
      { workflowTaskFailedEventAttributes: { cause: E.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND } },
    ].map((x) => temporal.api.history.v1.HistoryEvent.create({ eventTime: at, ...x }));
    const r = analyzeRun({ ...run, history: { events: [...events.slice(0, 5), ...lost, ...events.slice(5)] } }, { now: 0 });
    expect(r.lostTasks.map((l) => l.cause)).toEqual(['FORCE_CLOSE_COMMAND', 'START_TO_CLOSE timeout', 'FORCE_CLOSE_COMMAND']);
    expect(lostTaskCauses(r.lostTasks)).toBe('FORCE_CLOSE_COMMAND ×2, START_TO_CLOSE timeout ×1');
    const html = renderHtml(r, { generatedAt: 0 });
    expect(html).toContain('id="lost-tasks" data-count="3"');
    expect(html).toContain(
      '3 workflow tasks failed or timed out on the server (FORCE_CLOSE_COMMAND ×2, START_TO_CLOSE timeout ×1) in ask-showcase',
    );
  });

  it("measures each fan-out's fan-in wait, from its first branch done to its last, and the page shows the longest", () => {
    const r = analyzeRun(recorded('ask-showcase'), { now: 0 });
    const tools = r.spans.filter((s) => s.type === 'runTool');
    expect(r.fanIns).toHaveLength(1); // the turn that called its four tools at once
    expect(r.fanIns[0]!.ids).toEqual(tools.map((s) => s.id));
    const ends = tools.map((s) => s.endedAt!);
    expect(r.fanIns[0]!.waitMs).toBe(Math.max(...ends) - Math.min(...ends));
    expect(r.fanIns[0]!.waitMs).toBeGreaterThan(0);
    expect(renderHtml(r, { generatedAt: 0 })).toContain(`id="fan-in-wait" data-ms="${r.fanIns[0]!.waitMs}"`);
  });

  it("puts every model turn of an ask on the critical path, with the slowest of each turn's tools", () => {
    const r = analyzeRun(recorded('ask-showcase'), { now: 0 });
    const byId = new Map(r.spans.map((s) => [s.id, s]));
    const onPath = r.criticalPath.ids.map((id) => byId.get(id)!);
    expect(onPath[0]!.kind).toBe('queue');
    const turns = r.spans.filter((s) => s.type === 'llmTurn');
    expect(onPath.filter((s) => s.type === 'llmTurn')).toEqual(turns);
    const tools = r.spans.filter((s) => s.type === 'runTool');
    const slowest = tools.reduce((a, b) => (b.endedAt! - b.scheduledAt > a.endedAt! - a.scheduledAt ? b : a));
    expect(onPath.filter((s) => s.type === 'runTool')).toEqual([slowest]);
    expect(r.criticalPath.ms).toBe(onPath.reduce((sum, s) => sum + (s.endedAt! - s.scheduledAt), 0));
    expect(r.criticalPath.ms).toBeLessThan(r.endedAt - r.startedAt);
  });

  it('draws a map-reduce as a tree: fetched children expanded under their branch, the rest counted', () => {
    const run = recorded('summarize-two-docs');
    expect(run.children.size).toBe(2);
    const r = analyzeRun(run, { now: 0, assumedModel: 'claude-haiku-4-5' });
    const map = r.spans.find((s) => s.childWorkflowId?.endsWith('/map-0'))!;
    expect(map.expanded).toBe(true);
    const leaves = r.spans.filter((s) => s.parent === map.id && s.type === 'mapChunk');
    expect(leaves).toHaveLength(22);
    expect(leaves.every((s) => s.depth === 1 && s.id.startsWith(`${map.id}/`))).toBe(true);
    // The spans come depth first: a child's own branches right after it.
    const at = r.spans.indexOf(map);
    expect(r.spans.slice(at + 1, at + 1 + leaves.length + 1).every((s) => s.parent === map.id)).toBe(true);
    expect(r.childrenNotFetched).toBe(1);
    // Tokens: the leaves of fetched children, the result of the one not fetched, and the final reduce.
    expect(r.usage).toEqual((resultOf(run) as { usage: object }).usage);
    expect(r.cost.totalUsd).toBe(usdFor('claude-haiku-4-5', r.usage));
    expect(r.cost.estimatedUsd).toBe(r.cost.totalUsd);
    expect(r.spans.filter((s) => s.usage && s.kind === 'model').every((s) => s.modelAssumed)).toBe(true);
    // The critical path goes into the map child and follows its own critical path there.
    const i = r.criticalPath.ids.indexOf(map.id);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(r.criticalPath.ids[i + 1]).toBe(`${map.id}/queue`);
    expect(r.criticalPath.ids.filter((id) => id.startsWith(`${map.id}/`)).length).toBeGreaterThan(2);
  });

  it('shows a pipeline whose chains failed and were retried', () => {
    const r = analyzeRun(recorded('pipeline-gate-and-retry'), { now: 0 });
    const chains = r.spans.filter((s) => s.kind === 'child');
    expect(chains.map((s) => s.status)).toEqual(['ok', 'failed', 'failed', 'ok', 'failed']);
    expect(chains.filter((s) => s.expanded)).toHaveLength(2);
    expect(r.childrenNotFetched).toBe(3);
    expect(r.maxWidth).toBe(2); // the recorded pipeline ran two chains at a time
  });

  it('counts a wait for a decision as timer time, and puts what followed the decision after it', () => {
    const r = analyzeRun(recorded('publish-approved'), { now: 0 });
    const timers = r.spans.filter((s) => s.kind === 'timer');
    expect(timers.length).toBeGreaterThan(0);
    expect(timers.some((s) => s.status === 'cancelled')).toBe(true);
    expect(r.timeWent.timers).toBe(timers.reduce((sum, s) => sum + s.endedAt! - s.scheduledAt, 0));
    // The side effects the decision let through follow the wait on the critical path.
    const cancelled = timers.find((s) => s.status === 'cancelled')!;
    const path = r.criticalPath.ids.map((id) => r.spans.find((s) => s.id === id)!);
    const at = path.indexOf(cancelled);
    expect(path.slice(at, at + 3).map((s) => s.type)).toEqual(['timer', 'storeReport', 'postNotification']);
  });

  it('draws a running run to now, its open branches marked running', () => {
    const run = recorded('ask-showcase');
    const events = run.history.events!;
    // Cut the history right after the turn's four tools were scheduled.
    const cut = events.findLastIndex(
      (e) =>
        e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'runTool',
    );
    const partial: FetchedRun = { ...run, history: { events: events.slice(0, cut + 1) } };
    const last = analyzeRun(run, { now: 0 }).spans.find((s) => s.type === 'runTool')!.scheduledAt;
    const now = last + 5000;
    const r = analyzeRun(partial, { now });
    expect(r.running).toBe(true);
    expect(r.status).toBe('running');
    expect(r.endedAt).toBe(now);
    const open = r.spans.filter((s) => s.status === 'running');
    expect(open.map((s) => s.type)).toEqual(['runTool', 'runTool', 'runTool', 'runTool']);
    expect(open.every((s) => s.endedAt === undefined)).toBe(true);
    expect(r.timeWent.running).toBe(open.reduce((sum, s) => sum + now - s.scheduledAt, 0));
    expect(r.criticalPath.ids.at(-1)).toBe(open[0]!.id);
    expect(r.width.at(-2)).toEqual({ t: open[0]!.scheduledAt, n: 4 });
  });

  it('labels branches by the summary the Web UI shows', () => {
    const r = analyzeRun(recorded('ensemble-judge'), { now: 0 });
    const labels = r.spans.filter((s) => s.type === 'llmTurn').map((s) => s.label);
    expect(labels).toContain('member 1: claude-haiku-4-5');
    expect(labels.every((l) => !l.startsWith('llmTurn'))).toBe(true);
  });

  it('says which run a run continued as', () => {
    const r = analyzeRun(recorded('ask-by-reference'), { now: 0 });
    expect(r.continuedAs).toBe('89a6ddfe-3717-4563-b4eb-5d835da8bbb1');
    expect(r.status).toBe('ok');
    expect(r.running).toBe(false);
  });

  it("takes a child's reported cost when its history is not fetched (an ensemble's items)", () => {
    const run = recorded('ensemble-batch');
    expect(run.children.size).toBe(1);
    const r = analyzeRun(run, { now: 0, assumedModel: 'claude-opus-4-6' });
    const result = resultOf(run) as { cost: { totalUsd: number; byModel: Record<string, unknown> } };
    expect(r.childrenNotFetched).toBe(2);
    expect(r.spans.some((s) => s.modelAssumed)).toBe(false);
    expect(r.cost.totalUsd).toBeCloseTo(result.cost.totalUsd, 7);
    expect(Object.keys(r.cost.byModel).sort()).toEqual(Object.keys(result.cost.byModel).sort());
  });
});
