/**
 * OpenTelemetry traces of Braid runs: one trace per run, from the client's start through the
 * workflow, every activity and child workflow, down to the model's HTTP request.
 *
 * Temporal's interceptors (`@temporalio/interceptors-opentelemetry`, through its OpenTelemetryPlugin)
 * make the client, workflow, activity and child-workflow spans and carry the trace context in
 * Temporal's headers; workflow spans are made inside the deterministic sandbox and leave it through
 * a sink. Braid adds its own spans (src/telemetry/spans.ts: model call, limiter wait, tool call,
 * breaker changes), and the Anthropic SDK its span of the HTTP request (metadata only, see
 * model-client.ts), passing the context on in a `traceparent` header.
 *
 * Temporal's workflow spans arrive with the whole WorkflowInfo as attributes, memo and last result
 * included; `infoFiltered` keeps the ids and counters and drops the rest, so no payload leaves that way.
 *
 * Off unless an OTLP endpoint is configured (config.ts: the standard OTEL_* variables). Off costs
 * nothing: the SDK packages are not even loaded, no interceptor is added, and Braid's own spans go
 * to the OpenTelemetry API's no-op tracer.
 *
 * One per process: the SDK registers itself as the process's tracer provider, W3C propagator and
 * async-hooks context manager, which activity spans and Braid's spans need to find their parents.
 */
import type { Attributes } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import type { BraidConfig } from '../config';

/** How spans travel to an OTLP endpoint: OTLP/HTTP with protobuf or JSON bodies, or OTLP/gRPC. */
export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';

/**
 * The packages tracing loads, only when it is started: optional peers of the library (a user who
 * never traces does not install them), at the ranges `packages/braid/package.json` declares. The
 * exporter is the one for the protocol; a `spanProcessor` of your own needs none.
 */
export const TRACING_PACKAGES: Readonly<Record<string, string>> = {
  '@opentelemetry/resources': '^1.30.1',
  '@opentelemetry/sdk-trace-base': '^1.30.1',
  '@opentelemetry/sdk-trace-node': '^1.30.1',
  '@temporalio/interceptors-opentelemetry': '^1.24.0',
};
/** The exporter package of each protocol (optional peers too). */
export const EXPORTER_PACKAGES: Readonly<Record<OtlpProtocol, [name: string, range: string]>> = {
  'http/protobuf': ['@opentelemetry/exporter-trace-otlp-proto', '^0.57.2'],
  'http/json': ['@opentelemetry/exporter-trace-otlp-http', '^0.57.2'],
  grpc: ['@opentelemetry/exporter-trace-otlp-grpc', '^0.57.2'],
};

/** Fails with one line naming what to install when a package tracing needs is missing. */
function assertInstalled(protocol: OtlpProtocol | undefined): void {
  const needed = Object.entries(TRACING_PACKAGES);
  if (protocol) needed.push(EXPORTER_PACKAGES[protocol]);
  const missing = needed.filter(([name]) => {
    try {
      require.resolve(name);
      return false;
    } catch {
      return true;
    }
  });
  if (!missing.length) return;
  const names = missing.map(([name]) => name);
  throw new Error(
    `tracing needs ${names.join(', ')} (optional peer${names.length > 1 ? 's' : ''} of @braid-agents/braid): npm install ${missing
      .map(([name, range]) => `'${name}@${range}'`)
      .join(' ')}`,
  );
}

/** Where a process's spans go. */
export interface TracingOptions {
  /**
   * The OTLP traces endpoint and its protocol: over HTTP the traces URL (`…/v1/traces`), over gRPC the
   * collector's address (`http://host:4317`, plain text; `https://` for TLS). Headers and timeouts
   * follow OTEL_EXPORTER_OTLP_*.
   */
  otlp?: { url: string; protocol: OtlpProtocol };
  /** Spans go here instead (your own exporter pipeline); the processor is shut down with the tracing. */
  spanProcessor?: SpanProcessor;
  /** The `service.name` resource attribute; default OTEL_SERVICE_NAME, else `braid`. */
  serviceName?: string;
}

/** The process's OpenTelemetry tracing, as Braid's worker and client plugins use it. */
export interface BraidTracing {
  /** Sends the spans that have ended and are still buffered (a short-lived process calls it before it exits). */
  flush(): Promise<void>;
  /** Flushes and stops exporting. */
  shutdown(): Promise<void>;
}

/** The implementation behind BraidTracing: also the Temporal plugin that adds the interceptors and the workflow span sink. */
export class ProcessTracing implements BraidTracing {
  constructor(
    readonly temporal: OpenTelemetryPlugin,
    private readonly processor: SpanProcessor,
    private readonly stop: () => Promise<void>,
  ) {}

  flush(): Promise<void> {
    return this.processor.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.stop();
  }
}

let current: ProcessTracing | undefined;

/** What a workflow span keeps of the WorkflowInfo Temporal's sink adds to it: ids, type, queue, counters. */
const INFO_KEPT = new Set([
  'workflowId',
  'runId',
  'workflowType',
  'taskQueue',
  'namespace',
  'attempt',
  'firstExecutionRunId',
  'originalExecutionRunId',
  'continuedFromExecutionRunId',
  'historyLength',
  'historySize',
  'continueAsNewSuggested',
  'currentBuildId',
]);
/** Attributes the interceptors set themselves (temporalWorkflowId, run_id, update_id, …). */
const OWN = /^(temporal|run_id$|update_id$|nexus)/;

/** Passes workflow spans on with only the WorkflowInfo fields in INFO_KEPT, and only primitive values. */
export function infoFiltered(next: SpanProcessor): SpanProcessor {
  const filter = (attributes: Attributes): Attributes =>
    Object.fromEntries(
      Object.entries(attributes).filter(
        ([k, v]) => (INFO_KEPT.has(k) || OWN.test(k)) && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'),
      ),
    );
  return {
    onStart: (span, ctx) => next.onStart(span, ctx),
    onEnd: (span: ReadableSpan) => {
      const attributes = filter(span.attributes);
      next.onEnd(new Proxy(span, { get: (t, k) => (k === 'attributes' ? attributes : Reflect.get(t, k)) }));
    },
    forceFlush: () => next.forceFlush(),
    shutdown: () => next.shutdown(),
  };
}

/* eslint-disable @typescript-eslint/no-require-imports -- loaded only when tracing is on */
/**
 * Starts OpenTelemetry tracing for this process (once: later calls return the first one) and
 * registers it as the process's tracer provider.
 */
export function startTracing(o: TracingOptions): BraidTracing {
  if (current) return current;
  if (!o.spanProcessor && !o.otlp) throw new Error('startTracing: give `otlp` (an OTLP endpoint) or a `spanProcessor`');
  assertInstalled(o.spanProcessor ? undefined : o.otlp!.protocol);
  const { Resource, envDetectorSync } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node');
  const { OpenTelemetryPlugin } =
    require('@temporalio/interceptors-opentelemetry') as typeof import('@temporalio/interceptors-opentelemetry');

  let processor = o.spanProcessor;
  if (!processor) {
    // The three exporters share one constructor shape (url, headers, timeout from OTEL_EXPORTER_OTLP_*).
    const { OTLPTraceExporter } = require(
      EXPORTER_PACKAGES[o.otlp!.protocol][0],
    ) as typeof import('@opentelemetry/exporter-trace-otlp-http');
    processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: o.otlp!.url }));
  }
  const resource = Resource.default()
    .merge(new Resource({ 'service.name': o.serviceName ?? 'braid' }))
    .merge(o.serviceName ? Resource.empty() : envDetectorSync.detect());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  const temporal = new OpenTelemetryPlugin({
    resource,
    spanProcessor: infoFiltered(processor),
    tracer: provider.getTracer('@temporalio/interceptors-opentelemetry'),
  });
  current = new ProcessTracing(temporal, processor, () => provider.shutdown());
  return current;
}
/* eslint-enable @typescript-eslint/no-require-imports */

/** The tracing the settings ask for (started on first use), or undefined when no OTLP endpoint is set. */
export function tracingFor(cfg: Pick<BraidConfig, 'traces'>): ProcessTracing | undefined {
  if (!cfg.traces) return undefined;
  startTracing({ otlp: cfg.traces });
  return current;
}

/** What a plugin's `tracing` option resolves to: the given tracing, none (`false`), or the settings'. */
export function resolveTracing(
  given: BraidTracing | false | undefined,
  cfg: () => Pick<BraidConfig, 'traces'>,
): ProcessTracing | undefined {
  if (given === false) return undefined;
  if (given === undefined) return tracingFor(cfg());
  if (!(given instanceof ProcessTracing)) throw new Error('`tracing` must come from startTracing()');
  return given;
}

/** Flushes the process's spans, if tracing was started; for short-lived processes (the CLI) before they exit. */
export async function flushTracing(): Promise<void> {
  await current?.flush().catch(() => undefined);
}
