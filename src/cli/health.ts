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
import type { flowHealth } from '../workflows';
import { runFailure } from './errors';
import { tableStyle } from './render';
import { newRunId, startRun, withSession } from './session';

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
    .description('show the rate limiter budgets and circuit breaker states')
    .option('--json', 'print one JSON object')
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
        if (o.json) console.log(JSON.stringify(snapshot));
        else console.log(renderHealth(snapshot, Date.now()));
      }),
    );
}
