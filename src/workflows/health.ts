/**
 * `braid health`: a one-activity workflow that asks a worker for its flow-control state (limiter
 * budgets, circuit breakers). The limiter and breakers live in worker processes (or in Redis,
 * reached from them), so the CLI reaches them the way it reaches everything else — through a task
 * on the workers' queue.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FlowSnapshot } from '../flow';
import { counted } from '../shared/content';
import { RUN_STATUS } from '../shared/search-attributes';
import { healthCheck, labelled } from './profiles';
import { RunStatus } from './status';

const flow = proxyActivities<Activities>(labelled(healthCheck, "read this worker's rate-limiter budgets and circuit breakers"));

export async function flowHealth(): Promise<FlowSnapshot | null> {
  const status = new RunStatus('braid-status-health');
  return status.around(async () => {
    status.details('**Asking a worker** for its rate-limiter budgets and circuit breakers.');
    const snapshot = await flow.flowStatus();
    const open = snapshot?.breakers.filter((b) => b.state !== 'closed').length ?? 0;
    status.set(
      RUN_STATUS.done,
      snapshot
        ? `**Done**: ${snapshot.backend === 'redis' ? 'shared (Redis)' : 'in-process'} rate limiter with ${counted(snapshot.budgets.length, 'model budget')}; ${open ? `**${counted(open, 'circuit breaker')} open or half-open**` : 'every circuit breaker closed'}.`
        : '**Done**: the worker that answered runs without flow control.',
    );
    return snapshot;
  });
}
