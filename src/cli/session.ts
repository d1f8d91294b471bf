/**
 * Every command's session with Temporal, written once: the connection and client, the check that
 * some worker polls the task queue (or a worker inside the command, `--with-worker`), run ids,
 * starting a run labelled with Braid's search attributes, looking a run up, and following a run —
 * to its end with a live display, or until it reaches a point where the command returns.
 * Ctrl-C while following detaches: the run is durable and goes on in Temporal.
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
import { connectClient, temporalTarget, type Target } from '../temporal/connection';
import { runFailure, UsageError } from './errors';
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
  }
}

/** Throws when nobody polls the task queue, so a run is not left waiting unseen. */
async function requireWorker(s: Session, embeddable = false): Promise<void> {
  const res = await s.client.workflowService.describeTaskQueue({
    namespace: s.client.options.namespace,
    taskQueue: { name: s.taskQueue },
    taskQueueType: 1,
  });
  if (!res.pollers?.length) {
    throw new Error(
      `no worker is polling task queue "${s.taskQueue}" on ${s.target.address}; start one with \`braid worker\`${embeddable ? ', or add --with-worker' : ''}`,
    );
  }
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

export interface FollowOptions {
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
export async function followRun<T>(handle: { workflowId: string; result(): Promise<T> }, o: FollowOptions): Promise<T> {
  let done = false;
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
    const result = await handle.result();
    finished = true;
    return result;
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw new Error(`run ${handle.workflowId} failed: ${runFailure(err)}`);
    throw err;
  } finally {
    done = true;
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
export async function followUntil<R>(handle: WorkflowHandle, poll: () => Promise<R | undefined>, everyMs = 250): Promise<R | undefined> {
  for (;;) {
    try {
      const value = await poll();
      if (value !== undefined) return value;
    } catch {
      // No workflow task has run yet — or the run ended before it could answer: look.
      if ((await handle.describe()).status.name !== 'RUNNING') return undefined;
    }
    await sleep(everyMs);
  }
}
