/**
 * The Braid worker: wires the model client, the tool registry and the activities to a Temporal
 * task queue. `createBraidWorker` is used by the CLI, the demo, benchmarks and tests; run this file
 * (`npm run worker` or `braid worker`) for a standalone worker process. Add workers on more
 * machines, pointed at the same Temporal cluster, to scale out: Temporal spreads the tasks.
 *
 * Each Braid worker also polls a second, activity-only task queue, `<queue>-llm`, for model calls
 * of workflows that route them there (the pipeline). It exists so that the server-side
 * `maxTaskQueueActivitiesPerSecond` (BRAID_LLM_QUEUE_ACTIVITIES_PER_SECOND) can cap model calls
 * without also throttling tools. Both queues share one set of activities, and so one rate limiter
 * and one set of circuit breakers (src/flow).
 */
import path from 'node:path';
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities';
import { FsBlobStore, type BlobStore } from './blobs/store';
import { config, type BraidConfig } from './config';
import { createFlowControl, type FlowControl } from './flow';
import { createModelClient, type ModelClient } from './model-client';
import { sqlitePublishStores, type PublishStores } from './store/publish-store';
import { versionedStore, type VersionedStore } from './store/shared-state';
import { llmTaskQueue } from './shared/task-queues';
import { connectWorker, temporalTarget } from './temporal/connection';
import { createDefaultRegistry, type ToolRegistry } from './tools';

/** The workflows barrel, next to this file whether it runs from src/ (tsx) or dist/ (tsc). */
const WORKFLOWS_PATH = path.join(__dirname, 'workflows', `index${path.extname(__filename)}`);

export interface BraidWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  cfg?: BraidConfig;
  /** Default: the four example tools; a registry passed in is the caller's to close(). */
  registry?: ToolRegistry;
  model?: ModelClient;
  /** Rate limiter, breakers, backoff; default: built from cfg (Redis-backed when REDIS_URL is set). */
  flow?: FlowControl;
  /** Publication destinations for `braid publish`; default: SQLite files, opened on demand. */
  publishStores?: PublishStores;
  /** Where agents share state (`braid actor`); default: Redis at REDIS_URL, else SQLite at BRAID_SHARED_DB, opened on first use. */
  sharedState?: VersionedStore;
  /** Where chunk texts and intermediate results live; default: FsBlobStore at BRAID_BLOB_DIR. */
  blobs?: BlobStore;
  /** A prebuilt workflow bundle (tests bundle once per suite); default bundles `./workflows`. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Extra worker options (concurrency limits, identity…). */
  tuning?: Partial<
    Pick<WorkerOptions, 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'identity' | 'maxCachedWorkflows'>
  >;
}

export interface BraidWorker {
  worker: Worker;
  flow: FlowControl;
  model: ModelClient;
  registry: ToolRegistry;
  /** Run until shutdown() is called or the process is signalled. */
  run(): Promise<void>;
  shutdown(): Promise<void>;
}

export async function createBraidWorker(opts: BraidWorkerOptions): Promise<BraidWorker> {
  const cfg = opts.cfg ?? config();
  const registry = opts.registry ?? createDefaultRegistry({ filesDir: cfg.filesDir });
  const model = opts.model ?? (await createModelClient(cfg));
  const publishStores = opts.publishStores ?? sqlitePublishStores();
  const flow = opts.flow ?? createFlowControl(cfg);
  await flow.ready(); // says once, before polling, if the shared budget store is unreachable
  const shared = opts.sharedState ?? versionedStore({ redisUrl: cfg.flow.redisUrl, sqliteFile: cfg.sharedDb });
  const activities = createActivities({
    claude: model.claude,
    models: cfg.models,
    maxTokens: cfg.maxTokens,
    simulated: model.simulated,
    registry,
    requestTimeoutMs: cfg.llmRequestTimeoutMs,
    streamIdleTimeoutMs: cfg.streamIdleTimeoutMs,
    flow,
    publishStores,
    blobs: opts.blobs ?? new FsBlobStore(cfg.blobDir),
    // Agents deliver messages to other agents by address (signal-with-start) through the worker's connection.
    temporal: new Client({ connection: opts.connection, namespace: opts.namespace ?? 'default' }),
    shared,
  });
  const taskQueue = opts.taskQueue ?? cfg.taskQueue;
  // Shared by the main worker and the activity-only model-call worker.
  const base = {
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    activities,
    maxConcurrentActivityTaskExecutions: 200,
    // Model calls are slow and many run at once: let the pollers scale with the backlog instead of
    // the default fixed 10, which caps dispatch at roughly 100 activities/s on a busy host.
    activityTaskPollerBehavior: { type: 'autoscaling', maximum: 100 },
    workflowTaskPollerBehavior: { type: 'autoscaling', maximum: 50 },
    ...opts.tuning,
  } satisfies Partial<WorkerOptions>;
  const worker = await Worker.create({
    ...base,
    taskQueue,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
  });
  // Start the tools' sandbox processes now rather than on their first call; a failure shows on that call.
  registry.warm().catch(() => undefined);
  // Created by run(), so a caller that only drives `worker` (e.g. runUntil) holds no second worker.
  let llmWorker: Worker | undefined;
  let stopping = false;
  const stopAll = () => {
    stopping = true;
    for (const w of [worker, llmWorker]) if (w?.getState() === 'RUNNING') w.shutdown();
  };
  const ownsModel = opts.model === undefined;
  let running: Promise<void> | undefined;
  return {
    worker,
    flow,
    model,
    registry,
    run() {
      running ??= (async () => {
        const mainRun = worker.run().finally(stopAll);
        try {
          llmWorker = await Worker.create({
            ...base,
            taskQueue: llmTaskQueue(taskQueue),
            ...(cfg.flow.llmQueueActivitiesPerSecond ? { maxTaskQueueActivitiesPerSecond: cfg.flow.llmQueueActivitiesPerSecond } : {}),
          });
        } catch (err) {
          stopAll();
          await mainRun.catch(() => {});
          throw err;
        }
        const both = [mainRun, llmWorker.run().finally(stopAll)];
        if (stopping) stopAll(); // shutdown() was called while the LLM worker was being created
        try {
          await Promise.all(both);
        } finally {
          await Promise.allSettled(both);
        }
      })().finally(async () => {
        if (!opts.flow) await flow.close();
        if (ownsModel) await model.close();
        if (!opts.publishStores) publishStores.close();
        if (!opts.registry) await registry.close(); // stops the tools' sandbox processes
        if (!opts.sharedState) await shared.close();
      });
      return running;
    },
    async shutdown() {
      stopAll();
      await running;
    },
  };
}

async function main(): Promise<void> {
  Runtime.install({});
  const cfg = config();
  const target = temporalTarget();
  const connection = await connectWorker(target);
  const w = await createBraidWorker({ connection, namespace: target.namespace, cfg });
  const model = w.model.simulated
    ? `simulated model at ${w.model.endpoint} (set ANTHROPIC_API_KEY for Claude)`
    : `Claude (${cfg.models.fast}, ${cfg.models.capable})`;
  console.log(
    `braid worker: task queue "${cfg.taskQueue}" on ${target.address} (${target.namespace}); model: ${model}; tools: ${w.registry.names().join(', ')}`,
  );
  await w.run();
  await connection.close();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`braid worker: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
