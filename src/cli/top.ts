/**
 * `braid top`: a live view of what the fleet is doing — per task queue the backlog, the oldest
 * waiting task and the pollers alive (what `braid health` computes, from the server's task-queue
 * description), and the running Braid runs counted by kind and status (from visibility, Braid's
 * search attributes). It redraws every `--interval` until q or Ctrl-C; `--once` prints one snapshot
 * and `--json` prints it as one object, for scripts.
 *
 * Visibility is eventually consistent: a run started a moment ago may show a second later.
 */
import Table from 'cli-table3';
import { Command } from 'commander';
import pc from 'picocolors';
import { BraidKind, BraidStatus } from '../shared/search-attributes';
import { queueStats, renderQueues, type QueueStat } from './health';
import { duration } from './options';
import { ms, tableStyle } from './render';
import { withSession, type Session } from './session';

/** Running runs listed to count them by kind and status; beyond this the total still comes from a count query. */
export const TOP_LISTED = 1000;

export interface TopSnapshot {
  at: string;
  taskQueue: string;
  queues: QueueStat[];
  runs: {
    /** Running top-level runs on the task queue (a count query). */
    running: number;
    /** How many of them were listed to count by kind and status (at most TOP_LISTED). */
    listed: number;
    /** Listed runs by BraidKind, then BraidStatus (`(none)` for runs without the attributes). */
    byKind: Record<string, Record<string, number>>;
    /** How long the oldest listed run has been running. */
    oldestMs: number;
  };
}

const runningQuery = (taskQueue: string) => `TaskQueue = "${taskQueue}" AND ParentWorkflowId IS NULL AND ExecutionStatus = "Running"`;

export async function topSnapshot(s: Pick<Session, 'client' | 'taskQueue'>, now = Date.now()): Promise<TopSnapshot> {
  const query = runningQuery(s.taskQueue);
  const [queues, count] = await Promise.all([queueStats(s), s.client.workflow.count(query)]);
  const byKind: Record<string, Record<string, number>> = {};
  let listed = 0;
  let oldest = now;
  for await (const wf of s.client.workflow.list({ query, pageSize: 200 })) {
    const kind = wf.typedSearchAttributes.get(BraidKind) ?? '(none)';
    const status = wf.typedSearchAttributes.get(BraidStatus) ?? '(none)';
    (byKind[kind] ??= {})[status] = (byKind[kind]![status] ?? 0) + 1;
    oldest = Math.min(oldest, wf.startTime.getTime());
    if (++listed >= TOP_LISTED) break;
  }
  return {
    at: new Date(now).toISOString(),
    taskQueue: s.taskQueue,
    queues,
    runs: { running: count.count, listed, byKind, oldestMs: listed ? Math.max(0, now - oldest) : 0 },
  };
}

export function renderTop(t: TopSnapshot): string {
  const runs = new Table({ head: ['kind', 'status', 'running'], style: tableStyle() });
  for (const kind of Object.keys(t.runs.byKind).sort())
    for (const [status, n] of Object.entries(t.runs.byKind[kind]!).sort(([a], [b]) => a.localeCompare(b))) runs.push([kind, status, n]);
  const more = t.runs.running > t.runs.listed ? ` (${t.runs.listed} of them counted by kind)` : '';
  const oldest = t.runs.listed ? `, the oldest for ${ms(t.runs.oldestMs)}` : '';
  return [
    `${pc.bold('braid top')} ${pc.dim(`${t.at.replace('T', ' ').slice(0, 19)} UTC · task queue ${t.taskQueue}`)}`,
    renderQueues(t.queues),
    `${pc.bold('runs')}: ${t.runs.running} running${more}${oldest}`,
    ...(t.runs.listed ? [runs.toString()] : []),
  ].join('\n');
}

interface TopOptions {
  once?: boolean;
  json?: boolean;
  interval: number;
}

/** Resolves when the user presses q or Ctrl-C (a terminal in raw mode), or on SIGINT/SIGTERM. */
function untilQuit(): { done: Promise<void>; stop: () => void } {
  let quit: () => void = () => {};
  const done = new Promise<void>((resolve) => (quit = resolve));
  const onKey = (b: Buffer) => {
    const k = b.toString();
    if (k === 'q' || k === 'Q' || k === '\u0003') quit();
  };
  const tty = process.stdin.isTTY;
  if (tty) {
    process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdin.on('data', onKey);
  }
  process.once('SIGINT', quit);
  process.once('SIGTERM', quit);
  const stop = () => {
    if (tty) {
      process.stdin.off('data', onKey);
      process.stdin.setRawMode(false);
      process.stdin.pause();
    }
    process.off('SIGINT', quit);
    process.off('SIGTERM', quit);
  };
  return { done, stop };
}

export function topCommand(): Command {
  return new Command('top')
    .description(
      'live view of task queues (backlog, oldest waiting task, pollers alive) and running runs by kind and status; q or Ctrl-C quits',
    )
    .option('--once', 'print one snapshot and exit')
    .option('--json', 'print snapshots as JSON (one object per line; with --once, one object)')
    .option('--interval <duration>', 'time between refreshes (e.g. 2s, 500 ms as 500)', duration, 2000)
    .action((o: TopOptions) =>
      withSession({ worker: 'none' }, async (s) => {
        const show = (t: TopSnapshot) => {
          if (o.json) console.log(JSON.stringify(t));
          else if (o.once || !process.stdout.isTTY) console.log(renderTop(t));
          else process.stdout.write(`\x1b[2J\x1b[H${renderTop(t)}\n${pc.dim('q or Ctrl-C quits')}\n`);
        };
        if (o.once) return show(await topSnapshot(s));
        const q = untilQuit();
        let quitting = false;
        void q.done.then(() => (quitting = true));
        try {
          while (!quitting) {
            show(await topSnapshot(s));
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([q.done, new Promise((r) => (timer = setTimeout(r, Math.max(200, o.interval))))]);
            clearTimeout(timer);
          }
        } finally {
          q.stop();
        }
      }),
    );
}
