/**
 * The names Temporal knows Braid by are frozen (docs/ARCHITECTURE.md): committed histories and
 * running workflows refer to workflow types, activity types, signals, updates and queries by name,
 * so a rename of a file or module must never rename one of these. This test pins them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createActivities, type ActivityDeps } from '../src/activities';
import {
  ACTOR_WORKFLOW,
  actorStateQuery,
  exitedSignal,
  replyForQuery,
  replySignal,
  sendUpdate,
  stopSignal,
  tellSignal,
} from '../src/shared/actor';
import { agentProgressQuery, agentSpendSignal, ASK_WORKFLOW } from '../src/shared/ask';
import { ENSEMBLE_ITEM_WORKFLOW, ENSEMBLE_WORKFLOW, ensembleProgressQuery } from '../src/shared/ensemble';
import { HEALTH_WORKFLOW } from '../src/shared/health';
import { SEARCH_WORKFLOW, searchProgressQuery } from '../src/shared/search';
import { SPECULATE_WORKFLOW, speculateProgressQuery } from '../src/shared/speculate';
import { CHAIN_WORKFLOW, chainStageQuery, PIPELINE_WORKFLOW, pipelineProgressQuery } from '../src/shared/pipeline';
import { decideUpdate, decisionSignal, PUBLISH_WORKFLOW, publishStatusQuery } from '../src/shared/publish';
import {
  leafProgressSignal,
  progressSignal,
  SUMMARIZE_NODE_WORKFLOW,
  SUMMARIZE_WORKFLOW,
  summarizeProgressQuery,
} from '../src/shared/summarize';
import { sectionReadySignal, toolBlockReadySignal } from '../src/shared/stream';
import { ToolRegistry } from '../src/tools';
import * as workflows from '../src/workflows';

const WORKFLOW_TYPES = [
  ASK_WORKFLOW,
  SUMMARIZE_WORKFLOW,
  SUMMARIZE_NODE_WORKFLOW,
  PIPELINE_WORKFLOW,
  CHAIN_WORKFLOW,
  PUBLISH_WORKFLOW,
  HEALTH_WORKFLOW,
  ENSEMBLE_WORKFLOW,
  ENSEMBLE_ITEM_WORKFLOW,
  ACTOR_WORKFLOW,
  SEARCH_WORKFLOW,
  SPECULATE_WORKFLOW,
];

const ACTOR_SIGNALS = [tellSignal, replySignal, stopSignal, exitedSignal].map((s) => s.name);

/** What the committed histories name, read from their events. */
function namesInHistories() {
  const dir = path.join(__dirname, 'histories');
  const found = { workflows: new Set<string>(), activities: new Set<string>(), signals: new Set<string>(), updates: new Set<string>() };
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const { events } = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { events: Record<string, Record<string, unknown>>[] };
    for (const e of events) {
      const started = e.workflowExecutionStartedEventAttributes as { workflowType?: { name: string } } | undefined;
      const child = e.startChildWorkflowExecutionInitiatedEventAttributes as { workflowType?: { name: string } } | undefined;
      const activity = e.activityTaskScheduledEventAttributes as { activityType?: { name: string } } | undefined;
      const signal = (e.workflowExecutionSignaledEventAttributes ?? e.signalExternalWorkflowExecutionInitiatedEventAttributes) as
        { signalName?: string } | undefined;
      const update = e.workflowExecutionUpdateAcceptedEventAttributes as { acceptedRequest?: { input?: { name?: string } } } | undefined;
      if (started?.workflowType) found.workflows.add(started.workflowType.name);
      if (child?.workflowType) found.workflows.add(child.workflowType.name);
      if (activity?.activityType) found.activities.add(activity.activityType.name);
      if (signal?.signalName) found.signals.add(signal.signalName);
      if (update?.acceptedRequest?.input?.name) found.updates.add(update.acceptedRequest.input.name);
    }
  }
  return found;
}

describe('frozen names', () => {
  it('registers exactly the workflow types the contracts name', () => {
    expect(Object.keys(workflows).sort()).toEqual([...WORKFLOW_TYPES].sort());
  });

  it('keeps every workflow, activity, signal and update name the committed histories use', () => {
    const activities = Object.keys(createActivities({ registry: new ToolRegistry() } as unknown as ActivityDeps));
    const h = namesInHistories();
    expect(h.workflows.size).toBeGreaterThanOrEqual(5);
    expect(WORKFLOW_TYPES).toEqual(expect.arrayContaining([...h.workflows]));
    expect(activities).toEqual(expect.arrayContaining([...h.activities]));
    expect([
      progressSignal.name,
      leafProgressSignal.name,
      decisionSignal.name,
      toolBlockReadySignal.name,
      sectionReadySignal.name,
      agentSpendSignal.name,
      ...ACTOR_SIGNALS,
    ]).toEqual(expect.arrayContaining([...h.signals]));
    expect([decideUpdate.name, sendUpdate.name]).toEqual(expect.arrayContaining([...h.updates]));
  });

  it('keeps the query, signal and update names clients and running workflows use', () => {
    expect(
      [agentProgressQuery, summarizeProgressQuery, pipelineProgressQuery, chainStageQuery, publishStatusQuery, ensembleProgressQuery].map(
        (q) => q.name,
      ),
    ).toEqual(['progress', 'summarizeProgress', 'pipelineProgress', 'chainStage', 'publishStatus', 'ensembleProgress']);
    expect([progressSignal.name, leafProgressSignal.name, decisionSignal.name, decideUpdate.name]).toEqual([
      'progress',
      'internal.leafProgress',
      'decision',
      'decide',
    ]);
    expect(ACTOR_WORKFLOW).toBe('actorAgent');
    expect([...ACTOR_SIGNALS, sendUpdate.name, actorStateQuery.name, replyForQuery.name]).toEqual([
      'tell',
      'reply',
      'stop',
      'exited',
      'send',
      'actorState',
      'replyFor',
    ]);
  });

  it("keeps search's progress query name", () => {
    expect(searchProgressQuery.name).toBe('searchProgress');
  });

  it("keeps speculate's workflow type, progress query and cache activity names", () => {
    expect(SPECULATE_WORKFLOW).toBe('speculativeAsk');
    expect(speculateProgressQuery.name).toBe('speculateProgress');
    expect(agentSpendSignal.name).toBe('internal.agentSpend');
    const activities = Object.keys(createActivities({ registry: new ToolRegistry() } as unknown as ActivityDeps));
    expect(activities).toEqual(expect.arrayContaining(['lookupAnswer', 'storeAnswer']));
  });
});
