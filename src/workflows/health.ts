/**
 * `braid health`: a one-activity workflow that asks a worker for its flow-control state (limiter
 * budgets, circuit breakers). The limiter and breakers live in worker processes (or in Redis,
 * reached from them), so the CLI reaches them the way it reaches everything else — through a task
 * on the workers' queue.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FlowSnapshot } from '../flow';
import { healthCheck } from './profiles';

const status = proxyActivities<Activities>(healthCheck);

export async function flowHealth(): Promise<FlowSnapshot | null> {
  return status.flowStatus();
}
