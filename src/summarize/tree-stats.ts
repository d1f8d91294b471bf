/**
 * Reads a map-reduce run's whole tree of workflows back from the server and measures what
 * Temporal limits: history length, activities and children pending at once, payload size, and
 * workflow tasks lost (failed or timed out). Used by the tests (which assert the limits) and the
 * benchmark (which reports them).
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type Event = temporal.api.history.v1.IHistoryEvent;
type Payload = temporal.api.common.v1.IPayload;

export interface TreeStats {
  workflows: number;
  maxEvents: number;
  maxPending: number;
  maxPayloadBytes: number;
  /** Workflow tasks that failed or timed out, in all the tree's histories (each makes its run replay its history). */
  workflowTaskFailures: number;
  /** Decoded payload text of every history, when asked for (tests search it). */
  text: string;
}

const OPENS: (keyof Event)[] = ['activityTaskScheduledEventAttributes', 'startChildWorkflowExecutionInitiatedEventAttributes'];
const CLOSES: (keyof Event)[] = [
  'activityTaskCompletedEventAttributes',
  'activityTaskFailedEventAttributes',
  'activityTaskTimedOutEventAttributes',
  'activityTaskCanceledEventAttributes',
  'childWorkflowExecutionCompletedEventAttributes',
  'childWorkflowExecutionFailedEventAttributes',
  'childWorkflowExecutionCanceledEventAttributes',
  'childWorkflowExecutionTerminatedEventAttributes',
  'childWorkflowExecutionTimedOutEventAttributes',
  'startChildWorkflowExecutionFailedEventAttributes',
];

function payloadsOf(e: Event): Payload[] {
  const all = [
    e.workflowExecutionStartedEventAttributes?.input,
    e.activityTaskScheduledEventAttributes?.input,
    e.activityTaskCompletedEventAttributes?.result,
    e.startChildWorkflowExecutionInitiatedEventAttributes?.input,
    e.childWorkflowExecutionCompletedEventAttributes?.result,
    e.workflowExecutionCompletedEventAttributes?.result,
    e.workflowExecutionSignaledEventAttributes?.input,
    e.signalExternalWorkflowExecutionInitiatedEventAttributes?.input,
    e.workflowExecutionContinuedAsNewEventAttributes?.input,
  ];
  return all.flatMap((p) => p?.payloads ?? []);
}

export async function treeStats(client: Client, rootId: string, o: { keepText?: boolean } = {}): Promise<TreeStats> {
  const stats: TreeStats = { workflows: 0, maxEvents: 0, maxPending: 0, maxPayloadBytes: 0, workflowTaskFailures: 0, text: '' };
  const visit = async (id: string) => {
    const events: Event[] = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    stats.workflows++;
    stats.maxEvents = Math.max(stats.maxEvents, events.length);
    let pending = 0;
    const children: string[] = [];
    for (const e of events) {
      if (e.workflowTaskFailedEventAttributes || e.workflowTaskTimedOutEventAttributes) stats.workflowTaskFailures++;
      if (OPENS.some((k) => e[k])) pending++;
      if (CLOSES.some((k) => e[k])) pending--;
      stats.maxPending = Math.max(stats.maxPending, pending);
      const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId;
      if (child) children.push(child);
      for (const p of payloadsOf(e)) {
        stats.maxPayloadBytes = Math.max(stats.maxPayloadBytes, p.data?.length ?? 0);
        if (o.keepText && stats.text.length < 20_000_000) stats.text += Buffer.from(p.data ?? []).toString('utf8');
      }
    }
    for (const c of children) await visit(c);
  };
  await visit(rootId);
  return stats;
}
