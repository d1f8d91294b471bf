/**
 * `@braid-agents/braid/worker` — Braid in your own Temporal worker, as one plugin:
 *
 *   Worker.create({ connection, taskQueue, workflowsPath, plugins: [new BraidWorkerPlugin({ tools })] })
 *
 * The plugin (built on `@temporalio/plugin`'s SimplePlugin) registers Braid's activities — the
 * model call, tool calls and the patterns' own — wired to one model client, one tool registry and
 * one set of flow control (the shared rate limiter, circuit breakers, backoff) for every worker it
 * configures; it adds Braid's workflows beside yours, and a payload codec when given one.
 *
 * Why Braid's workflows are combined with yours through a generated module: Temporal bundles one
 * `workflowsPath` per worker, and a plugin can only replace it. The plugin writes a two-line module
 * (to the OS temp directory, named by its content) that re-exports Braid's workflows and then
 * yours, so your names win on a clash. With a prebuilt `workflowBundle` it changes nothing; bundle
 * with `bundleWorkflowCode({ workflowsPath, plugins: [plugin] })` to include Braid's.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import { SimplePlugin } from '@temporalio/plugin';
import type { BundleOptions, ReplayWorkerOptions, WorkerOptions } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { AnswerStreams } from '../store/answer-stream';
import { createActivities } from '../activities';
import type { SourceRegistry } from '../search/source';
import type { VersionedStore } from '../store/shared-state';
import { withSharedEncryption } from '../store/sealed-state';
import { openConfiguredBlobStore } from '../blobs/open';
import type { BlobStore } from '../blobs/store';
import { AnswerCache } from '../store/answer-cache';
import { config as processConfig, type BraidConfig } from '../config';
import { withEncryption } from '../encryption/converter';
import { configuredKeyRing, type KeyRing } from '../encryption/keys';
import { createFlowControl, type FlowControl } from '../flow';
import { modelClientFor, type ModelClient } from '../model-client';
import { sqlitePublishStores, type PublishStores } from '../store/publish-store';
import { ToolRegistry } from '../tools/registry';
import { resolveTracing, type BraidTracing, type ProcessTracing } from '../telemetry/tracing';

export { readConfig, ConfigError, type BraidConfig } from '../config';
export { modelClientFor, simulatorModel, type ModelClient } from '../model-client';
export { createFlowControl, flowSnapshot, type FlowControl, type FlowControlOptions, type FlowSnapshot } from '../flow';
export { Breakers, CircuitOpenError, type BreakerSnapshot, type BreakerState } from '../flow/breaker';
export { RedisBreakerBus, type BreakerBus, type BreakerChange } from '../flow/redis-breakers';
export { RateLimiter, BudgetWaitTooLong } from '../flow/limiter';
export { FsBlobStore, BlobNotFound, BlobStoreUnavailable, type BlobStore, type BlobRef } from '../blobs/store';
export { S3BlobStore, type S3Settings } from '../blobs/s3-store';
export { openBlobStore, type BlobSettings } from '../blobs/open';
export { KeyRing, EncryptionKeyError, parseKey, readKeyFile, type EncryptionKey } from '../encryption/keys';
export { EncryptionCodec, PayloadDecryptError, type EncryptionCodecOptions } from '../encryption/codec';
export { AnswerCache, type CachedAnswer, type CacheKeyParts } from '../store/answer-cache';
export { MemoryAnswerStreams, RedisAnswerStreams, answerStreams, type AnswerStreams, type StreamEntry } from '../store/answer-stream';
export type { AnswerChunk } from '../shared/stream';
export { sqlitePublishStores, DestinationError, type PublishStore, type PublishStores } from '../store/publish-store';
export {
  ToolRegistry,
  defineTool,
  ToolError,
  ToolInputError,
  ToolTimeoutError,
  DEFAULT_TOOL_TIMEOUT_MS,
  type ToolContext,
  type ToolDefinition,
  type ToolOutput,
  type ToolSpec,
} from '../tools/registry';
export type { ToolAnnotations } from '../shared/types';
export { connectMcpServers, mcpToolName, McpStartError, McpConnection, type McpToolSet } from '../tools/mcp';
export {
  loadMcpConfig,
  parseMcpConfig,
  McpConfigError,
  type McpConfig,
  type McpServerConfig,
  type McpStdioServer,
  type McpBraidSettings,
  type McpHttpServer,
} from '../tools/mcp-config';
export { llmTaskQueue } from '../shared/task-queues';
export { startTracing, type BraidTracing, type OtlpProtocol, type TracingOptions } from '../telemetry/tracing';
export type { AttemptPolicy } from '../flow/attempts';
export type { BackoffOptions } from '../flow/backoff';
export type { BreakerOptions } from '../flow/breaker';
export type { BudgetSnapshot, LimiterBackend, ModelLimits } from '../flow/buckets';
export type { CostInput, LimiterOptions, Waiter } from '../flow/limiter';
export type { RedisBackend, RedisBackendOptions, RedisStatus } from '../flow/redis-limiter';
export type {
  CompensationRow,
  EffectOutcome,
  IndexRow,
  OutboxKind,
  OutboxRow,
  PublishOperation,
  ReportRow,
  SqlitePublishStore,
  StoreSnapshot,
} from '../store/publish-store';
export type { ModelPrice, PriceTable } from '../shared/pricing';
export { defineSource, SourceError, SourceRegistry, type SearchSource, type SourceContext } from '../search/source';
export type { SourceHit } from '../shared/search';
export type { Versioned, VersionedStore, WriteOutcome, WriteRequest } from '../store/shared-state';
export { EncryptedVersionedStore, withSharedEncryption } from '../store/sealed-state';

/** What the worker plugin is built from; everything is optional and defaults to Braid's settings. */
export interface BraidWorkerPluginOptions {
  /** Braid's settings; default: read once from the environment (`BRAID_*`, `ANTHROPIC_API_KEY`, `REDIS_URL`; see the README). */
  config?: BraidConfig;
  /** The model endpoint; default: Claude with ANTHROPIC_API_KEY, else the simulator at BRAID_SIMULATOR_URL (one of them is required). */
  model?: ModelClient;
  /** The tools `callModel` may offer and `callTool` runs; default: none. A registry passed in is yours to `close()`. */
  tools?: ToolRegistry;
  /** The sources `braid search`'s workflow may ask (`defineSource`); default: none. A registry passed in is yours to `close()`. */
  sources?: SourceRegistry;
  /**
   * A client of the worker's Temporal connection, for actor agents to message others by address and
   * for model calls to announce tool calls early (`announceTools`); default: none (tools start after the turn).
   */
  temporal?: Client;
  /**
   * Where model calls stream the text they write for `braid ask` to show (`AnswerStreams`, e.g. Redis
   * streams); default: none — the answer is shown when it is done. Passed in, yours to `close()`.
   */
  answerStreams?: AnswerStreams;
  /**
   * The versioned store actors share state through (compare-and-swap); default: none. Passed in, yours
   * to `close()`. With encryption on, its values are sealed (`EncryptedVersionedStore`).
   */
  sharedState?: VersionedStore;
  /** Rate limiter, breakers, backoff, the model calls' attempt policy; default: from the settings (Redis-backed with REDIS_URL). */
  flow?: FlowControl;
  /**
   * Where large content lives (chunks, stored answers, documents); default: `openBlobStore(config)`
   * (BRAID_BLOB_URL or BRAID_BLOB_DIR), encrypted with `encryption`'s keys.
   */
  blobs?: BlobStore;
  /** Destinations of Braid's publish workflow; default: SQLite files opened on demand (needs the optional `better-sqlite3`). */
  publishStores?: PublishStores;
  /**
   * `braid ask --speculate`'s answer cache; default: a SQLite file at BRAID_ANSWER_CACHE, opened on
   * first use (needs the optional `better-sqlite3`).
   */
  answerCache?: AnswerCache;
  /** Register Braid's own workflows (ask, summarize, pipeline, publish, health) beside yours; default true. */
  workflows?: boolean;
  /** Codecs (encryption, compression) applied to every payload, after any the worker already has; use the same on the client. */
  payloadCodecs?: PayloadCodec[];
  /**
   * OpenTelemetry traces of every run (Temporal's interceptors and Braid's own spans); default: on when
   * the settings name an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT), off otherwise; `false`: off.
   */
  tracing?: BraidTracing | false;
  /**
   * Braid's payload encryption (AES-256-GCM, see `KeyRing`), applied after `payloadCodecs`, with
   * failures' messages encoded too; `false`: off. Default: on when the settings name a key
   * (BRAID_ENCRYPTION_KEY or BRAID_ENCRYPTION_KEYS_FILE). Give the client the same keys. The same
   * ring seals the default blob store, the default answer cache and `sharedState`'s values;
   * `answerStreams` you pass are yours to seal (`new RedisAnswerStreams(url, ring)`).
   */
  encryption?: KeyRing | false;
}

/** The workflows barrel, next to this module whether it runs from src/ (tsx) or dist/ (tsc). */
const BRAID_WORKFLOWS = path.join(__dirname, '..', 'workflows', `index${path.extname(__filename)}`);
const COMBINED_DIR = path.join(os.tmpdir(), 'braid-workflows');

/** True when the path already registers Braid's workflows (Braid's barrel or a combined module). */
const includesBraid = (workflowsPath: string) => workflowsPath === BRAID_WORKFLOWS || path.dirname(workflowsPath) === COMBINED_DIR;

/**
 * A module exporting Braid's workflows and then the user's, for a worker that bundles both; written
 * once per pair of paths (its name is a hash of its content), atomically, so concurrent workers agree.
 */
function combinedWorkflows(userPath: string): string {
  if (includesBraid(userPath)) return userPath;
  const code = `// Written by Braid's worker plugin: Braid's workflows, then yours.\nmodule.exports = { ...require(${JSON.stringify(BRAID_WORKFLOWS)}), ...require(${JSON.stringify(path.resolve(userPath))}) };\n`;
  const file = path.join(COMBINED_DIR, `${createHash('sha256').update(code).digest('hex').slice(0, 16)}.js`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(COMBINED_DIR, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, file);
  }
  return file;
}

/** The node_modules directory that holds the Temporal SDK this module uses. */
function sdkModulesDir(): string {
  let dir = path.dirname(require.resolve('@temporalio/workflow'));
  while (path.basename(dir) !== 'node_modules' && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

type WebpackHook = NonNullable<BundleOptions['webpackConfigHook']>;

/**
 * Temporal's bundler writes its entry module beside the workflows module and resolves the SDK from
 * there; for a combined module in the temp directory, webpack is told where the SDK lives.
 */
function resolvingSdk(hook: WebpackHook | undefined): WebpackHook {
  const modules = sdkModulesDir();
  return (config) => {
    const listed = config.resolve?.modules ?? ['node_modules'];
    const withSdk = { ...config, resolve: { ...config.resolve, modules: listed.includes(modules) ? listed : [...listed, modules] } };
    return hook ? hook(withSdk) : withSdk;
  };
}

/**
 * What the plugin's workers share: one model client, tool registry, flow control, blob store and
 * publish destinations, built when the first worker is configured. What the plugin built it also
 * closes, once every worker it ran has stopped; what was passed in is the caller's.
 */
class SharedParts {
  private built:
    { activities: ReturnType<typeof createActivities>; model: ModelClient; registry: ToolRegistry; flow: FlowControl } | undefined;
  private owned: (() => unknown)[] = [];
  private running = 0;

  constructor(
    private readonly options: BraidWorkerPluginOptions,
    readonly tracing: ProcessTracing | undefined,
  ) {}

  get() {
    if (this.built) return this.built;
    const o = this.options;
    const cfg = o.config ?? processConfig();
    const model = o.model ?? modelClientFor(cfg);
    if (!model) {
      throw new Error(
        'Braid worker plugin: no model endpoint; set ANTHROPIC_API_KEY (Claude) or BRAID_SIMULATOR_URL (Braid simulator), or pass `model`',
      );
    }
    const registry = o.tools ?? new ToolRegistry();
    const flow = o.flow ?? createFlowControl(cfg);
    const publishStores = o.publishStores ?? sqlitePublishStores();
    const ring = o.encryption === false ? undefined : (o.encryption ?? configuredKeyRing(cfg));
    const answerCache = o.answerCache ?? new AnswerCache(cfg.answerCache, Date.now, ring);
    const blobs = o.blobs ?? openConfiguredBlobStore(cfg, ring);
    this.owned = [
      ...(o.flow ? [] : [() => flow.close()]),
      ...(o.model ? [] : [() => model.close()]),
      ...(o.publishStores ? [] : [() => publishStores.close()]),
      ...(o.tools ? [] : [() => registry.close()]),
      ...(o.answerCache ? [] : [() => answerCache.close()]),
      ...(o.blobs ? [] : [() => blobs.close?.()]),
    ];
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
      blobs,
      sources: o.sources,
      temporal: o.temporal,
      answerStreams: o.answerStreams,
      shared: o.sharedState && withSharedEncryption(o.sharedState, ring),
      answerCache,
    });
    // Start the tools' sandbox processes and the search sources now rather than on their first call; a failure shows on that call.
    registry.warm().catch(() => undefined);
    o.sources?.warm().catch(() => undefined);
    this.built = { activities, model, registry, flow };
    return this.built;
  }

  /**
   * Wraps a worker's run: the budget store is checked before polling, and the last worker to stop
   * closes what the plugin built and sends the spans still buffered.
   */
  async run(next: () => Promise<void>): Promise<void> {
    const parts = this.get();
    this.running++;
    try {
      await parts.flow.ready(); // says once, before polling, if the shared budget store is unreachable
      await next();
    } finally {
      if (--this.running === 0) {
        const owned = this.owned.splice(0);
        for (const close of owned) await close();
        await this.tracing?.flush().catch(() => undefined);
      }
    }
  }
}

/**
 * The worker's codecs: the caller's, then Braid's encryption (with no key configured, a codec that
 * encrypts nothing but explains an encrypted payload it cannot read).
 */
function codecs(payloadCodecs: PayloadCodec[] | undefined, encryption: KeyRing | false | undefined, cfg: () => BraidConfig) {
  if (encryption === false && !payloadCodecs?.length) return undefined;
  const ring = encryption === false ? undefined : (encryption ?? configuredKeyRing(cfg()));
  return (existing: DataConverter | undefined): DataConverter => {
    const withCodecs = { ...existing, payloadCodecs: [...(existing?.payloadCodecs ?? []), ...(payloadCodecs ?? [])] };
    return encryption === false ? withCodecs : withEncryption(withCodecs, ring);
  };
}

/**
 * Braid's worker plugin. One instance serves the workers that run together in a process (they share
 * its rate limiter, breakers and model client); see the module comment for how workflows register.
 *
 * @example
 * ```ts
 * const worker = await Worker.create({
 *   connection, taskQueue: 'orders', workflowsPath: require.resolve('./workflows'),
 *   plugins: [new BraidWorkerPlugin({ tools: new ToolRegistry().register(lookupOrder) })],
 * });
 * ```
 */
export class BraidWorkerPlugin extends SimplePlugin {
  private readonly parts: SharedParts;
  private readonly addWorkflows: boolean;

  constructor(options: BraidWorkerPluginOptions = {}) {
    const parts = new SharedParts(
      options,
      resolveTracing(options.tracing, () => options.config ?? processConfig()),
    );
    super({
      name: 'braid',
      activities: (existing) => ({ ...existing, ...parts.get().activities }),
      dataConverter: codecs(options.payloadCodecs, options.encryption, () => options.config ?? processConfig()),
      runContext: (next) => parts.run(next),
    });
    this.parts = parts;
    this.addWorkflows = options.workflows ?? true;
  }

  /** The model client the plugin's activities call (built on first use). */
  get model(): ModelClient {
    return this.parts.get().model;
  }

  /** The tool registry the plugin's activities run. */
  get tools(): ToolRegistry {
    return this.parts.get().registry;
  }

  /** The rate limiter, breakers and backoff settings the plugin's activities share. */
  get flow(): FlowControl {
    return this.parts.get().flow;
  }

  /** Adds Braid's activities, codecs and (unless `workflows: false` or a prebuilt bundle) workflows to a worker's options. */
  override configureWorker(options: WorkerOptions): WorkerOptions {
    const o = this.withWorkflows(super.configureWorker(options));
    return this.parts.tracing ? this.parts.tracing.temporal.configureWorker(o) : o;
  }

  /** The same for a replay worker: Braid's workflows beside yours, so histories of both replay. */
  override configureReplayWorker(options: ReplayWorkerOptions): ReplayWorkerOptions {
    const o = this.withWorkflows(super.configureReplayWorker(options));
    return this.parts.tracing ? this.parts.tracing.temporal.configureReplayWorker(o) : o;
  }

  /** For `bundleWorkflowCode({ workflowsPath, plugins: [braid] })`: bundles Braid's workflows beside yours. */
  override configureBundler(options: BundleOptions): BundleOptions {
    const traced = this.parts.tracing ? this.parts.tracing.temporal.configureBundler(options) : options;
    const o = super.configureBundler(traced);
    if (!this.addWorkflows || includesBraid(o.workflowsPath)) return o;
    return { ...o, workflowsPath: combinedWorkflows(o.workflowsPath), webpackConfigHook: resolvingSdk(o.webpackConfigHook) };
  }

  /**
   * A plugin for a second worker on `llmTaskQueue(taskQueue)`, where Braid's pipeline sends its
   * model calls so that a server-side rate limit on that queue caps them: Braid's activities only,
   * sharing this plugin's limiter, breakers and model client.
   */
  modelCallQueue(): SimplePlugin {
    const tracing = this.parts.tracing;
    const plugin = new SimplePlugin({
      name: 'braid-model-calls',
      activities: (existing) => ({ ...existing, ...this.parts.get().activities }),
      dataConverter: this.options.dataConverter,
      runContext: (next) => this.parts.run(next),
    });
    if (!tracing) return plugin;
    const configure = plugin.configureWorker.bind(plugin);
    plugin.configureWorker = (options) => tracing.temporal.configureWorker(configure(options));
    return plugin;
  }

  private withWorkflows<O extends WorkerOptions | ReplayWorkerOptions>(o: O): O {
    if (!this.addWorkflows || o.workflowBundle !== undefined) return o;
    if (!o.workflowsPath) return { ...o, workflowsPath: BRAID_WORKFLOWS };
    if (includesBraid(o.workflowsPath)) return o;
    const bundlerOptions = { ...o.bundlerOptions, webpackConfigHook: resolvingSdk(o.bundlerOptions?.webpackConfigHook) };
    return { ...o, workflowsPath: combinedWorkflows(o.workflowsPath), bundlerOptions };
  }
}
