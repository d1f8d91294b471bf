/**
 * The Braid worker: wires the model client, the tool registry and the activities to a Temporal
 * task queue. `createBraidWorker` is used by the CLI, the demo, benchmarks and tests; run this file
 * (`npm run worker` or `braid worker`) for a standalone worker process. Add workers on more
 * machines, pointed at the same Temporal cluster, to scale out: Temporal spreads the tasks.
 */
import path from 'node:path';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities';
import { config, type BraidConfig } from './config';
import { createModelClient, type ModelClient } from './model-client';
import { connectWorker, temporalTarget } from './temporal/connection';
import { createDefaultRegistry, type ToolRegistry } from './tools';

/** The workflows barrel, next to this file whether it runs from src/ (tsx) or dist/ (tsc). */
const WORKFLOWS_PATH = path.join(__dirname, 'workflows', `index${path.extname(__filename)}`);

export interface BraidWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  cfg?: BraidConfig;
  registry?: ToolRegistry;
  model?: ModelClient;
  /** A prebuilt workflow bundle (tests bundle once per suite); default bundles `./workflows`. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Extra worker options (concurrency limits, identity…). */
  tuning?: Partial<Pick<WorkerOptions, 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'identity' | 'maxCachedWorkflows'>>;
}

export interface BraidWorker {
  worker: Worker;
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
  const activities = createActivities({
    claude: model.claude,
    models: cfg.models,
    maxTokens: cfg.maxTokens,
    simulated: model.simulated,
    registry,
    requestTimeoutMs: cfg.llmRequestTimeoutMs,
    streamIdleTimeoutMs: cfg.streamIdleTimeoutMs,
  });
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? cfg.taskQueue,
    activities,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    maxConcurrentActivityTaskExecutions: 200,
    ...opts.tuning,
  });
  const ownsModel = opts.model === undefined;
  let running: Promise<void> | undefined;
  return {
    worker,
    model,
    registry,
    run() {
      running ??= worker.run().finally(async () => {
        if (ownsModel) await model.close();
      });
      return running;
    },
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
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
  const model = w.model.simulated ? `simulated model at ${w.model.endpoint} (set ANTHROPIC_API_KEY for Claude)` : `Claude (${cfg.models.fast}, ${cfg.models.capable})`;
  console.log(`braid worker: task queue "${cfg.taskQueue}" on ${target.address} (${target.namespace}); model: ${model}; tools: ${w.registry.names().join(', ')}`);
  await w.run();
  await connection.close();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`braid worker: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
