/**
 * Every command's session with Temporal, written once: the connection and client, the check that
 * some worker polls the task queue (or a worker inside the command, `--with-worker`), run ids,
 * starting a run labelled with Braid's search attributes, looking a run up, and following a run —
 * to its end with a live display, or until it reaches a point where the command returns.
 * Ctrl-C while following detaches: the run is durable and goes on in Temporal.
 *
 * The worker check can only say that some worker polled the queue lately: the server lists a
 * poller for minutes after its worker died. So while a run's first workflow task waits unclaimed,
 * following it says so ("waiting for a worker on task queue …") instead of showing nothing.
 */
import { randomBytes } from 'node:crypto';
import {
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import pc from 'picocolors';
import { config } from '../config';
import { startBraidWorkflow, type BraidStart } from '../api/client';
import { flushTracing } from '../telemetry/tracing';
import { connectClient, temporalTarget, type Target } from '../temporal/connection';
import { oneLine, runFailure, UsageError } from './errors';
import { startEmbeddedWorker } from './worker';

export interface Session {
  client: Client;
  target: Target;
  /** The task queue runs are started on (BRAID_TASK_QUEUE). */
  taskQueue: string;
}

export interface SessionOptions {
  /**
   * 'none': the command only reads or signals runs; 'require': some worker must poll the task
   * queue, or the command fails before starting a run nobody would pick up; 'embed': run a worker
   * inside this command for its duration.
   */
  worker: 'none' | 'require' | 'embed';
  /** The command offers --with-worker, so the "no worker" error can suggest it. */
  embeddable?: boolean;
}

/** The worker a command that offers --with-worker needs. */
export const workerFor = (withWorker: boolean | undefined): SessionOptions =>
  withWorker ? { worker: 'embed' } : { worker: 'require', embeddable: true };

/** Runs `body` with a connected session and always cleans up (the embedded worker, the connection). */
export async function withSession<T>(o: SessionOptions, body: (s: Session) => Promise<T>): Promise<T> {
  const target = temporalTarget();
  const session: Session = { client: await connectClient(target), target, taskQueue: config().taskQueue };
  let embedded: Awaited<ReturnType<typeof startEmbeddedWorker>> | undefined;
  try {
    if (o.worker === 'embed') embedded = await startEmbeddedWorker(target);
    else if (o.worker === 'require') await requireWorker(session, o.embeddable);
    return await body(session);
  } finally {
    await embedded?.stop();
    await session.client.connection.close();
    await flushTracing(); // the CLI exits next: buffered spans (the run's start) would be lost
  }
}

/**
 * A live worker always has a long poll outstanding, renewed at least every ~70 s (the server answers
 * an idle poll after a minute); a poller not seen for longer than this has stopped.
 */
export const POLLER_FRESH_MS = 90_000;

/** Pollers seen within POLLER_FRESH_MS of `now`. */
export function livePollers<P extends { lastAccessTime?: { seconds?: unknown; nanos?: number | null } | null }>(
  pollers: P[],
  now = Date.now(),
): P[] {
  return pollers.filter((p) => {
    const seconds = Number(p.lastAccessTime?.seconds ?? 0);
    return now - (seconds * 1000 + (p.lastAccessTime?.nanos ?? 0) / 1e6) < POLLER_FRESH_MS;
  });
}

/** Throws when nobody polls the task queue, so a run is not left waiting unseen. */
async function requireWorker(s: Session, embeddable = false): Promise<void> {
  const res = await s.client.workflowService.describeTaskQueue({
    namespace: s.client.options.namespace,
    taskQueue: { name: s.taskQueue },
    taskQueueType: 1,
  });
  if (!livePollers(res.pollers ?? []).length) {
    const stale = res.pollers?.length ? ` (the last one was seen over ${POLLER_FRESH_MS / 1000} s ago)` : '';
    throw new Error(
      `no worker is polling task queue "${s.taskQueue}" on ${s.target.address}${stale}; start one with \`braid worker\`${embeddable ? ', or add --with-worker' : ''}`,
    );
  }
}

/** How long following a run waits for a Temporal server that went away before giving up. */
export const RECONNECT_FOR_MS = 10 * 60_000;

/** True when a call failed because the server could not be reached (gRPC UNAVAILABLE), not because of what was asked. */
export function lostConnection(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === 14) return true;
  }
  return false;
}

/**
 * Runs `call` until it answers, riding out a Temporal server that is restarting or briefly gone:
 * says once that it is reconnecting, and gives up after RECONNECT_FOR_MS with a line that says how
 * to pick the run up again. Other failures pass through.
 */
export async function reconnecting<T>(call: () => Promise<T>, workflowId: string, say: (line: string) => void): Promise<T> {
  let lostAt: number | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      const value = await call();
      if (lostAt !== undefined) say(`the Temporal server is back (run ${workflowId})`);
      return value;
    } catch (err) {
      if (!lostConnection(err)) throw err;
      lostAt ??= Date.now();
      if (attempt === 0) say(`lost the Temporal server (${oneLine(err)}); reconnecting — Ctrl-C detaches, the run goes on in Temporal`);
      if (Date.now() - lostAt > RECONNECT_FOR_MS)
        throw new Error(
          `the Temporal server has been unreachable for ${RECONNECT_FOR_MS / 60_000} min; the run goes on once it is back: braid watch ${workflowId}`,
        );
      await sleep(Math.min(5000, 500 * 2 ** attempt));
    }
  }
}

/** Waiting for a worker shorter than this is not worth a line. */
const PICKUP_QUIET_MS = 2000;

/**
 * Watches a run until a worker has picked up its first workflow task, and says so while none has:
 * once after PICKUP_QUIET_MS, then every 30 s. Returns a function that stops watching.
 */
export function watchPickup(handle: Pick<WorkflowHandle, 'describe'>, taskQueue: string, say: (line: string) => void): () => void {
  let stopped = false;
  const since = Date.now();
  let nextSay = since + PICKUP_QUIET_MS;
  void (async () => {
    while (!stopped) {
      try {
        const d = await handle.describe();
        // Started + first task scheduled, nothing more: no worker has taken the task yet.
        if (d.status.name !== 'RUNNING' || (d.historyLength ?? 0) > 2) return;
        if (Date.now() >= nextSay && !stopped) {
          const waited = Math.round((Date.now() - since) / 1000);
          say(
            `waiting for a worker on task queue "${taskQueue}": none has picked this run up for ${waited} s (start one with \`braid worker\`; the run waits in Temporal, and the wait counts in its timings)`,
          );
          nextSay = Date.now() + 30_000;
        }
      } catch {
        // the server is briefly unreachable, or the run is gone: look again
      }
      await sleep(1000);
    }
  })();
  return () => {
    stopped = true;
  };
}

/** A new workflow id: `<prefix>-<UTC yyyymmddhhmmss>-<6 hex>`. */
export function newRunId(prefix: string): string {
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${prefix}-${stamp}-${randomBytes(3).toString('hex')}`;
}

/** A run to start on the session's task queue. */
export type StartRun<T extends Workflow> = Omit<BraidStart<T>, 'taskQueue'>;

/**
 * Starts a run on the session's task queue through the public client API (src/api/client.ts),
 * labelled with Braid's search attributes — or unlabelled when the namespace has not registered them.
 */
export function startRun<T extends Workflow>(
  s: Session,
  workflowType: string,
  r: StartRun<T>,
): Promise<WorkflowHandleWithFirstExecutionRunId<T>> {
  return startBraidWorkflow<T>(s.client, workflowType, { ...r, taskQueue: s.taskQueue });
}

/** The run's description, or a one-line usage error when there is no such run. */
export async function describeRun(client: Client, workflowId: string): Promise<WorkflowExecutionDescription> {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UsageError(`no run with id ${workflowId}`);
    throw err;
  }
}

/** Tells the user which run a command follows (stderr, so stdout stays the result). */
export function announceRun(workflowId: string, webUi: string | undefined, more?: string): void {
  process.stderr.write(`${pc.dim('run')} ${workflowId}${webUi ? pc.dim(`  ${webUi}`) : ''}\n${more ? `${pc.dim(more)}\n` : ''}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sayLine = (line: string) => process.stderr.write(`${pc.yellow(line)}\n`);

export interface FollowOptions {
  /** The run's task queue: say "waiting for a worker on task queue …" while no worker has picked the run up. */
  taskQueue?: string;
  /** How to tell the user about waiting and reconnecting (default: a yellow line on stderr). */
  say?: (line: string) => void;
  /** Called every `everyMs` until the run ends; failures (no workflow task yet, a busy worker) are ignored. */
  tick?: () => Promise<void>;
  everyMs?: number;
  /** Tears down the display; `finished` is true when the run ended successfully. */
  stop?: (finished: boolean) => void;
  /** What to tell the user on Ctrl-C, after "detached; ". */
  detachHint: string;
}

/**
 * Waits for a run's result while a display polls its progress. A failed run becomes one line
 * ("run <id> failed: <innermost message> (<type>)"); Ctrl-C detaches.
 */
export async function followRun<T>(
  handle: { workflowId: string; result(): Promise<T> } & Partial<Pick<WorkflowHandle, 'describe'>>,
  o: FollowOptions,
): Promise<T> {
  let done = false;
  const say = o.say ?? sayLine;
  const stopWatching =
    o.taskQueue && handle.describe ? watchPickup(handle as Pick<WorkflowHandle, 'describe'>, o.taskQueue, say) : () => {};
  const loop = async () => {
    while (!done) {
      try {
        await o.tick!();
      } catch {
        // try again on the next tick
      }
      await sleep(o.everyMs ?? 250);
    }
  };
  const polling = o.tick ? loop() : Promise.resolve();
  const detach = () => {
    o.stop?.(false);
    process.stderr.write(`\ndetached; ${o.detachHint}\n`);
    process.exit(130);
  };
  process.once('SIGINT', detach);
  let finished = false;
  try {
    const result = await reconnecting(() => handle.result(), handle.workflowId, say);
    finished = true;
    return result;
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw new Error(`run ${handle.workflowId} failed: ${runFailure(err)}`);
    throw err;
  } finally {
    done = true;
    stopWatching();
    await polling;
    o.stop?.(finished);
    process.removeListener('SIGINT', detach);
  }
}

/**
 * Polls `poll` until it returns a value, or undefined once the run has closed — for commands that
 * return while the run goes on (publish returns when the run awaits a decision). Not
 * handle.result(): its long poll would hold the process open after the command returns.
 */
export async function followUntil<R>(
  handle: WorkflowHandle,
  poll: () => Promise<R | undefined>,
  o: { everyMs?: number } & Pick<FollowOptions, 'taskQueue' | 'say'> = {},
): Promise<R | undefined> {
  const say = o.say ?? sayLine;
  const stopWatching = o.taskQueue ? watchPickup(handle, o.taskQueue, say) : () => {};
  try {
    for (;;) {
      try {
        const value = await poll();
        if (value !== undefined) return value;
      } catch {
        // No workflow task has run yet — or the run ended before it could answer, or the server is away: look.
        if ((await reconnecting(() => handle.describe(), handle.workflowId, say)).status.name !== 'RUNNING') return undefined;
      }
      await sleep(o.everyMs ?? 250);
    }
  } finally {
    stopWatching();
  }
}
