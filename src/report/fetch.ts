/**
 * Fetches what a run report is made from: the run's history and, breadth first and bounded, the
 * histories of the child workflows it started (map-reduce nodes, pipeline chains, ensemble items),
 * so a large run still reports in seconds; children over the bound are drawn as single branches.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { UsageError } from '../cli/errors';
import { decodeHistoryPayloads } from '../temporal/history-payloads';
import { childRunsOf, type FetchedRun } from './analyze';

export const REPORT_LIMITS = {
  /** Child histories fetched at most, over all levels. */
  maxChildren: 300,
  /** Levels of children below the run followed. */
  maxDepth: 4,
  /** Histories fetched at once. */
  parallel: 8,
} as const;

/** A run's history with its payloads decoded by the client's codecs (an encrypted run reads as plain). */
async function fetchDecoded(client: Client, workflowId: string, runId: string) {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  await decodeHistoryPayloads(history, client.options.loadedDataConverter.payloadCodecs);
  return history;
}

export async function fetchRun(
  client: Client,
  workflowId: string,
  runId?: string,
  limits: { maxChildren: number; maxDepth: number; parallel: number } = REPORT_LIMITS,
): Promise<FetchedRun> {
  let resolved: string;
  try {
    resolved = (await client.workflow.getHandle(workflowId, runId).describe()).runId;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UsageError(`no run with id ${workflowId}${runId ? ` and run id ${runId}` : ''}`);
    throw err;
  }
  const root: FetchedRun = {
    workflowId,
    runId: resolved,
    history: await fetchDecoded(client, workflowId, resolved),
    children: new Map(),
  };
  let budget = limits.maxChildren;
  let level = [root];
  for (let depth = 1; depth <= limits.maxDepth && level.length && budget > 0; depth++) {
    const wanted = level.flatMap((parent) => childRunsOf(parent.history).map((c) => ({ parent, ...c }))).slice(0, budget);
    budget -= wanted.length;
    const next: FetchedRun[] = [];
    for (let i = 0; i < wanted.length; i += limits.parallel) {
      const batch = wanted.slice(i, i + limits.parallel);
      const fetched = await Promise.all(batch.map(async (c) => ({ c, history: await fetchDecoded(client, c.workflowId, c.runId) })));
      for (const { c, history } of fetched) {
        const child: FetchedRun = { workflowId: c.workflowId, runId: c.runId, history, children: new Map() };
        c.parent.children.set(c.workflowId, child);
        next.push(child);
      }
    }
    level = next;
  }
  return root;
}
