/**
 * A worker inside a CLI command (`--with-worker`, `braid worker`) and the check that some worker
 * polls the task queue before a run is started that nobody would pick up.
 */
import type { Client } from '@temporalio/client';
import pc from 'picocolors';
import { config } from '../config';
import { connectClient, connectWorker, temporalTarget, type Target } from '../temporal/connection';

export async function workerPollers(client: Client, taskQueue: string): Promise<number> {
  const res = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: 1,
  });
  return res.pollers?.length ?? 0;
}

/** Throws when nobody polls the task queue, so a run is not left waiting unseen. */
export async function requireWorker(client: Client, target: Target): Promise<void> {
  if ((await workerPollers(client, config().taskQueue)) === 0) {
    throw new Error(
      `no worker is polling task queue "${config().taskQueue}" on ${target.address}; start one with \`braid worker\`, or add --with-worker`,
    );
  }
}

export async function startEmbeddedWorker(target: Target, announce = false) {
  // Loaded here, not at the top: the worker package (and its bundler) is slow to load and most
  // commands never need it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createBraidWorker } = require('../worker') as typeof import('../worker');
  const { DefaultLogger, Runtime } = await import('@temporalio/worker');
  // A standalone worker logs at INFO; one embedded in a command stays quiet unless something goes wrong.
  Runtime.install({ logger: new DefaultLogger(announce ? 'INFO' : 'WARN') });
  const connection = await connectWorker(target);
  const w = await createBraidWorker({ connection, namespace: target.namespace });
  const model = w.model.simulated
    ? pc.yellow(`simulated model at ${w.model.endpoint}`)
    : `Claude (${config().models.fast}, ${config().models.capable})`;
  const line = `worker on task queue "${config().taskQueue}" at ${target.address}; model: ${model}`;
  process.stderr.write(`${announce ? 'braid ' : pc.dim('started a ')}${line}\n`);
  const done = w.run().finally(() => connection.close());
  return {
    done,
    stop: async () => {
      await w.shutdown();
      await done;
    },
  };
}

/**
 * Runs a command body with a client: with `withWorker`, a worker inside this process for the
 * duration; otherwise only after checking that some worker polls the queue. Always cleans up.
 */
export async function withClient<T>(withWorker: boolean | undefined, body: (client: Client, target: Target) => Promise<T>): Promise<T> {
  const target = temporalTarget();
  const client = await connectClient(target);
  let embedded: Awaited<ReturnType<typeof startEmbeddedWorker>> | undefined;
  try {
    if (withWorker) embedded = await startEmbeddedWorker(target);
    else await requireWorker(client, target);
    return await body(client, target);
  } finally {
    await embedded?.stop();
    await client.connection.close();
  }
}
