/**
 * `braid health`: the flow-control state as a worker sees it — the rate limiter's budgets per model
 * (shared by all workers when the backend is Redis) and the circuit breakers of that worker. It
 * runs the small `flowHealth` workflow, so it answers for whichever worker picks the task up.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { Command } from 'commander';
import Table from 'cli-table3';
import pc from 'picocolors';
import type { FlowSnapshot } from '../flow';
import { HEALTH_LABELS, HEALTH_WORKFLOW } from '../shared/health';
import { llmTaskQueue } from '../shared/task-queues';
import type { flowHealth } from '../workflows';
import { runFailure } from './errors';
import { ms, tableStyle } from './render';
import { livePollers, newRunId, startRun, withSession, type Session } from './session';

/** One task queue's backlog and pollers as the server describes them (DescribeTaskQueue with stats). */
export interface QueueStat {
  queue: string;
  type: 'workflow' | 'activity';
  /** Tasks waiting for a worker (approximate, as the server counts them). */
  backlog: number;
  /** How long the oldest waiting task has waited. */
  backlogAgeMs: number;
  /** Workers that polled in the last 90 s. */
  pollers: number;
  /** Tasks added and dispatched per second, recently. */
  addRate: number;
  dispatchRate: number;
}

const WORKFLOW_QUEUE = 1;
const ACTIVITY_QUEUE = 2;
/** A protobuf int64 (a Long or a number) as a number. */
const int64 = (v: unknown) => (typeof v === 'number' ? v : Number(String(v ?? 0)));

/** The run queue's workflow and activity sides, and the model calls' `-llm` queue (used when rate-limited). */
export async function queueStats(s: Pick<Session, 'client' | 'taskQueue'>): Promise<QueueStat[]> {
  const wanted: [string, QueueStat['type'], number][] = [
    [s.taskQueue, 'workflow', WORKFLOW_QUEUE],
    [s.taskQueue, 'activity', ACTIVITY_QUEUE],
    [llmTaskQueue(s.taskQueue), 'activity', ACTIVITY_QUEUE],
  ];
  return Promise.all(
    wanted.map(async ([queue, type, code]) => {
      const res = await s.client.workflowService.describeTaskQueue({
        namespace: s.client.options.namespace,
        taskQueue: { name: queue },
        taskQueueType: code,
        reportStats: true,
      });
      const age = res.stats?.approximateBacklogAge;
      return {
        queue,
        type,
        backlog: int64(res.stats?.approximateBacklogCount),
        backlogAgeMs: age ? int64(age.seconds) * 1000 + Math.round((age.nanos ?? 0) / 1e6) : 0,
        pollers: livePollers(res.pollers ?? []).length,
        addRate: res.stats?.tasksAddRate ?? 0,
        dispatchRate: res.stats?.tasksDispatchRate ?? 0,
      };
    }),
  );
}

export function renderQueues(queues: QueueStat[]): string {
  const t = new Table({
    head: ['task queue', 'tasks', 'backlog', 'oldest waiting', 'pollers alive', 'added/s', 'dispatched/s'],
    style: tableStyle(),
  });
  for (const q of queues) {
    const starving = q.backlog > 0 && q.pollers === 0;
    t.push([
      q.queue,
      q.type,
      starving ? pc.red(String(q.backlog)) : q.backlog,
      q.backlog ? ms(q.backlogAgeMs) : '',
      starving ? pc.red('0') : q.pollers,
      q.addRate.toFixed(1),
      q.dispatchRate.toFixed(1),
    ]);
  }
  return `${pc.bold('task queues')}: backlog and pollers as the server reports them\n${t.toString()}`;
}

const num = (n: number | undefined) => (n === undefined ? 'unlimited' : n.toLocaleString('en-US'));

export function renderHealth(s: FlowSnapshot, now = s.at): string {
  const budgets = new Table({
    head: ['model', 'requests/min', 'available now', 'tokens/min', 'available now', 'paused'],
    style: tableStyle(),
  });
  for (const b of s.budgets) {
    const paused = b.pausedUntil && b.pausedUntil > now ? pc.yellow(`${Math.ceil((b.pausedUntil - now) / 1000)} s more`) : 'no';
    budgets.push([
      b.model,
      num(b.requestsPerMinute),
      b.requestsPerMinute ? num(b.requestsAvailable) : '',
      num(b.tokensPerMinute),
      b.tokensPerMinute ? num(b.tokensAvailable) : '',
      paused,
    ]);
  }
  const breakers = new Table({ head: ['breaker', 'state', 'recent failures', 'last error'], style: tableStyle() });
  const colour = { closed: pc.green, open: pc.red, 'half-open': pc.yellow } as const;
  for (const b of s.breakers) {
    const state = b.state === 'open' && b.openUntil ? `open, probe in ${Math.max(0, Math.ceil((b.openUntil - now) / 1000))} s` : b.state;
    breakers.push([b.key, colour[b.state](state), b.recentFailures, b.lastError ?? '']);
  }
  const backend = !s.redis
    ? s.backend === 'redis'
      ? 'Redis (shared by every worker)'
      : 'in-process (this worker only; set REDIS_URL to share budgets)'
    : s.redis.state === 'unreachable'
      ? pc.red(
          `Redis at ${s.redis.url} is unreachable since ${new Date(s.redis.since).toLocaleTimeString('en-GB')} (${s.redis.error ?? 'no answer'}); this worker uses its own in-process budget until it is back`,
        )
      : `Redis at ${s.redis.url} (${s.redis.state === 'connected' ? 'shared by every worker' : 'connecting'})`;
  return [
    `${pc.bold('rate limiter')}: ${backend}`,
    budgets.toString(),
    `${pc.bold('circuit breakers')}: ${s.breakers.length ? '' : pc.dim('none tripped or used yet — all closed')}`,
    ...(s.breakers.length ? [breakers.toString()] : []),
  ].join('\n');
}

export function healthCommand(): Command {
  return new Command('health')
    .description('show the task queues (backlog, oldest waiting task, pollers alive), the rate limiter budgets and circuit breaker states')
    .option('--json', 'print one JSON object: budgets, breakers and task queues')
    .action((o: { json?: boolean }) =>
      withSession({ worker: 'require' }, async (s) => {
        let snapshot: FlowSnapshot | null;
        try {
          const handle = await startRun<typeof flowHealth>(s, HEALTH_WORKFLOW, {
            workflowId: newRunId('health'),
            args: [],
            kind: 'health',
            labels: HEALTH_LABELS,
            options: { workflowExecutionTimeout: '1 minute' },
          });
          snapshot = await handle.result();
        } catch (err) {
          if (err instanceof WorkflowFailedError) throw new Error(`health check failed: ${runFailure(err)}`);
          throw err;
        }
        if (!snapshot) throw new Error('the worker that answered runs without flow control');
        const queues = await queueStats(s);
        if (o.json) console.log(JSON.stringify({ ...snapshot, queues }));
        else console.log(`${renderQueues(queues)}\n${renderHealth(snapshot, Date.now())}`);
      }),
    );
}
