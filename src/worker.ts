/**
 * The Braid worker: wires the model client, the tool registry and the activities to a Temporal
 * task queue. `createBraidWorker` is used by the CLI, the demo, benchmarks and tests; run this file
 * (`npm run worker` or `braid worker`) for a standalone worker process. Add workers on more
 * machines, pointed at the same Temporal cluster, to scale out: Temporal spreads the tasks.
 *
 * Each Braid worker also polls a second, activity-only task queue, `<queue>-llm`, for model calls
 * of workflows that route them there (the pipeline, when that queue carries a rate limit). It
 * exists so that the server-side `maxTaskQueueActivitiesPerSecond`
 * (BRAID_LLM_QUEUE_ACTIVITIES_PER_SECOND) can cap model calls without also throttling tools; without
 * a limit, model calls stay on the main queue, where eager dispatch saves a push per call. Every
 * worker polls it either way, so a run that routes there never waits for a poller. Both queues
 * share one set of activities, and so one rate limiter and one set of circuit breakers (src/flow).
 */
import path from 'node:path';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities';
import { FsBlobStore, type BlobStore } from './blobs/store';
import { config, type BraidConfig } from './config';
import { createFlowControl, type FlowControl } from './flow';
import { createModelClient, type ModelClient } from './model-client';
import { sqlitePublishStores, type PublishStores } from './store/publish-store';
import { llmTaskQueue } from './shared/task-queues';
import { connectWorker, temporalTarget } from './temporal/connection';
import { createDefaultRegistry, type ToolRegistry } from './tools';

/** The workflows barrel, next to this file whether it runs from src/ (tsx) or dist/ (tsc). */
const WORKFLOWS_PATH = path.join(__dirname, 'workflows', `index${path.extname(__filename)}`);

/**
 * The worker settings every Braid worker starts from (benchmarks use them too, so their figures
 * are Braid's). Model calls are slow and many run at once: 200 activity slots. Pollers are fixed
 * counts: autoscaling pollers were as fast in the median but in 3 of 5 map-reduce runs left one
 * poller draining a burst of 100 reduce calls (1.5 s became 3.5 s); fixed ones never did (README,
 * Benchmarks). Most activities do not reach a poller at all: every activity slot may be reserved
 * for eager dispatch (the SDK reserves 3 per workflow task), so a map leaf that schedules 50 calls
 * in one workflow task gets all 50 back with the task's completion instead of 3 back and 47
 * through the task queue — which also cut the server's CPU per call by about a quarter.
 */
export const WORKER_DEFAULTS = {
  maxConcurrentActivityTaskExecutions: 200,
  maxEagerActivityReservationsPerWorkflowTask: 200,
  activityTaskPollerBehavior: { type: 'simple-maximum', maximum: 20 },
  workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: 10 },
} as const satisfies Partial<WorkerOptions>;

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
  });
  const taskQueue = opts.taskQueue ?? cfg.taskQueue;
  // Shared by the main worker and the activity-only model-call worker.
  const slots = opts.tuning?.maxConcurrentActivityTaskExecutions ?? WORKER_DEFAULTS.maxConcurrentActivityTaskExecutions;
  const base = {
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    activities,
    ...WORKER_DEFAULTS,
    maxEagerActivityReservationsPerWorkflowTask: slots, // follows the slots when a caller changes them
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
