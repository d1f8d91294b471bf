/**
 * The Braid worker of the CLI: the public worker plugin (src/api/worker.ts) with the example tools
 * and, without a model endpoint configured, a simulator started in this process. `createBraidWorker`
 * is used by the CLI, the demo, benchmarks and tests; run this file
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
import { Client } from '@temporalio/client';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type LogLevel,
  type LogMetadata,
  type RuntimeOptions,
  type WorkerOptions,
} from '@temporalio/worker';
import { BraidWorkerPlugin } from './api/worker';
import type { BlobStore } from './blobs/store';
import { config, type BraidConfig } from './config';
import { configuredKeyRing } from './encryption/keys';
import type { FlowControl } from './flow';
import { modelClientFor, simulatorModel, type ModelClient } from './model-client';
import type { PublishStores } from './store/publish-store';
import { versionedStore, type VersionedStore } from './store/shared-state';
import { answerStreams, type AnswerStreams } from './store/answer-stream';
import { llmTaskQueue } from './shared/task-queues';
import { Simulator } from './simulator';
import { tracingFor, type BraidTracing } from './telemetry/tracing';
import { BraidClientPlugin } from './api/client';
import { connectWorker, temporalTarget } from './temporal/connection';
import { createDefaultRegistry, type ToolRegistry } from './tools';
import { connectMcpServers, type McpToolSet } from './tools/mcp';
import { loadMcpConfig } from './tools/mcp-config';
import { createDefaultSources, type SourceRegistry } from './search';

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
/**
 * The SDK runtime's telemetry for BRAID_METRICS_PORT: its Prometheus exporter serves Temporal's
 * worker metrics and Braid's own (recorded through the same runtime's metric meter, see
 * src/flow/metrics.ts and src/workflows/metrics.ts) as one endpoint, http://<host>:<port>/metrics.
 * No port: no endpoint, and metrics cost nothing.
 */
export function metricsTelemetry(port: number | undefined): RuntimeOptions['telemetryOptions'] {
  if (port === undefined) return undefined;
  return {
    metrics: {
      prometheus: {
        bindAddress: `0.0.0.0:${port}`,
        histogramBucketOverrides: {
          braid_model_call_cost_usd: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
          braid_fanout_width: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 10_000],
          braid_branch_duration: [10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000],
          braid_limiter_wait: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 20_000],
        },
      },
    },
  };
}

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
  /**
   * MCP servers' tools to add to the registry; default: those of the servers in BRAID_MCP_CONFIG
   * (started here, stopped with the worker). A set passed in is the caller's to close().
   */
  mcp?: McpToolSet;
  /** `braid search`'s sources; default: handbook, database, tickets and web. Passed in, the caller's to close(). */
  sources?: SourceRegistry;
  /** Default: Claude with ANTHROPIC_API_KEY, the simulator at BRAID_SIMULATOR_URL, else a simulator started in this process. */
  model?: ModelClient;
  /** Rate limiter, breakers, backoff; default: built from cfg (Redis-backed when REDIS_URL is set). */
  flow?: FlowControl;
  /** Publication destinations for `braid publish`; default: SQLite files, opened on demand. */
  publishStores?: PublishStores;
  /** Where agents share state (`braid actor`); default: Redis at REDIS_URL, else SQLite at BRAID_SHARED_DB, opened on first use. */
  sharedState?: VersionedStore;
  /** Where model calls stream their text for the CLI; default: Redis streams at REDIS_URL, else this process's memory. Yours to close. */
  answerStreams?: AnswerStreams;
  /** Where chunk texts and intermediate results live; default: FsBlobStore at BRAID_BLOB_DIR. */
  blobs?: BlobStore;
  /** OpenTelemetry traces; default: on when cfg names an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT); `false`: off. */
  tracing?: BraidTracing | false;
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

/** The CLI's model: the one the settings name, or — with neither a key nor a simulator URL — a simulator started in this process. */
async function cliModel(cfg: BraidConfig): Promise<ModelClient> {
  const named = modelClientFor(cfg);
  if (named) return named;
  const simulator = await Simulator.start({ quiet: true });
  return { ...simulatorModel(simulator.url, cfg.llmRequestTimeoutMs), close: () => simulator.close() };
}

/**
 * A Braid worker pair built with the public worker plugin (src/api/worker.ts) — the CLI has no other
 * way in: the main worker with Braid's workflows and activities, and the activity-only worker on the
 * model-call queue, sharing one plugin and so one limiter, breakers and model client.
 */
export async function createBraidWorker(opts: BraidWorkerOptions): Promise<BraidWorker> {
  const cfg = opts.cfg ?? config();
  const registry = opts.registry ?? createDefaultRegistry({ filesDir: cfg.filesDir });
  // Started before anything else, so a server that will not start stops the worker with its one-line error.
  const mcp = opts.mcp ?? (cfg.mcpConfig ? await connectMcpServers(loadMcpConfig(cfg.mcpConfig)) : undefined);
  const ownsMcp = !opts.mcp && mcp !== undefined;
  try {
    if (mcp) registry.register(...mcp.tools);
  } catch (err) {
    if (ownsMcp) await mcp.close();
    throw err;
  }
  const model = opts.model ?? (await cliModel(cfg));
  // Without a search API of its own, a simulated worker's `web` source searches the simulated web.
  const webUrl = cfg.searchWebUrl ?? (model.simulated ? `${model.endpoint.replace(/\/+$/, '')}/_sim/tools/web_search` : undefined);
  const sources = opts.sources ?? createDefaultSources({ webUrl });
  const shared = opts.sharedState ?? versionedStore({ redisUrl: cfg.flow.redisUrl, sqliteFile: cfg.sharedDb });
  // Answer text as it is written: Redis streams with REDIS_URL (any CLI), else this process's memory (a CLI hosting this worker).
  const streams = opts.answerStreams ?? answerStreams(cfg.flow.redisUrl, configuredKeyRing(cfg));
  const tracing = opts.tracing ?? tracingFor(cfg) ?? false;
  const plugin = new BraidWorkerPlugin({
    config: cfg,
    model,
    tools: registry,
    sources,
    flow: opts.flow,
    publishStores: opts.publishStores,
    blobs: opts.blobs,
    // Agents deliver messages to other agents by address (signal-with-start) through the worker's connection.
    // It encrypts what it sends as the worker does, and traces like it.
    temporal: new Client({
      connection: opts.connection,
      namespace: opts.namespace ?? 'default',
      plugins: [new BraidClientPlugin({ tracing, encryption: configuredKeyRing(cfg) })],
    }),
    sharedState: shared,
    answerStreams: streams,
    tracing,
  });
  const taskQueue = opts.taskQueue ?? cfg.taskQueue;
  // Shared by the main worker and the activity-only model-call worker.
  const slots = opts.tuning?.maxConcurrentActivityTaskExecutions ?? WORKER_DEFAULTS.maxConcurrentActivityTaskExecutions;
  const base = {
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    ...WORKER_DEFAULTS,
    maxEagerActivityReservationsPerWorkflowTask: slots, // follows the slots when a caller changes them
    ...opts.tuning,
  } satisfies Partial<WorkerOptions>;
  const worker = await Worker.create({
    ...base,
    taskQueue,
    plugins: [plugin],
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : {}),
  });
  // Created by run(), so a caller that only drives `worker` (e.g. runUntil) holds no second worker.
  let llmWorker: Worker | undefined;
  let stopping = false;
  const stopAll = () => {
    stopping = true;
    for (const w of [worker, llmWorker]) if (w?.getState() === 'RUNNING') w.shutdown();
  };
  let running: Promise<void> | undefined;
  return {
    worker,
    flow: plugin.flow,
    model,
    registry,
    run() {
      running ??= (async () => {
        const mainRun = worker.run().finally(stopAll);
        try {
          llmWorker = await Worker.create({
            ...base,
            taskQueue: llmTaskQueue(taskQueue),
            plugins: [plugin.modelCallQueue()],
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
        // The plugin closes what it built (flow, publish stores); the model and registry made here are closed here.
        if (!opts.model) await model.close();
        if (!opts.registry) await registry.close(); // stops the tools' sandbox processes
        if (ownsMcp) await mcp.close(); // stops the stdio MCP servers
        if (!opts.sources) await sources.close();
        if (!opts.sharedState) await shared.close();
        if (!opts.answerStreams && streams.kind === 'redis') await streams.close();
      });
      return running;
    },
    async shutdown() {
      stopAll();
      await running;
    },
  };
}

/**
 * The SDK's logger, less the one warning every Braid worker would print at start: the model-call
 * worker on `<queue>-llm` runs activities only, by design, and the SDK warns that it polls no
 * workflow tasks. Everything else is logged as the SDK's DefaultLogger logs it.
 */
export class BraidWorkerLogger extends DefaultLogger {
  override log(level: LogLevel, message: string, meta?: LogMetadata): void {
    const queue = meta?.taskQueue;
    if (message.startsWith('No workflows registered') && typeof queue === 'string' && queue.endsWith(llmTaskQueue(''))) return;
    super.log(level, message, meta);
  }
}

async function main(): Promise<void> {
  const cfg = config();
  Runtime.install({ logger: new BraidWorkerLogger('INFO'), telemetryOptions: metricsTelemetry(cfg.metricsPort) });
  const target = temporalTarget();
  const connection = await connectWorker(target);
  const w = await createBraidWorker({ connection, namespace: target.namespace, cfg });
  const model = w.model.simulated
    ? `simulated model at ${w.model.endpoint} (set ANTHROPIC_API_KEY for Claude)`
    : `${cfg.anthropicBaseUrl ? `the Messages API at ${w.model.endpoint}` : 'Claude'} (${cfg.models.fast}, ${cfg.models.capable})`;
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
