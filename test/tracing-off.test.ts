/**
 * Tracing's settings, and tracing off at no cost: without an OTLP endpoint the plugins add no
 * interceptor, no sink and no workflow module, and the OpenTelemetry SDK is not even loaded.
 */
import { describe, expect, it } from 'vitest';
import { BraidClientPlugin } from '../src/api/client';
import { BraidWorkerPlugin } from '../src/api/worker';
import { ConfigError, readConfig } from '../src/config';
import { startTracing } from '../src/telemetry/tracing';

describe('tracing settings', () => {
  it('reads the standard OTEL variables: the endpoint, the protocol, and the ways to turn tracing off', () => {
    expect(readConfig({}).traces).toBeUndefined();
    expect(readConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).traces).toEqual({
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
    });
    expect(
      readConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/otlp/v1/traces',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      }).traces,
    ).toEqual({ url: 'http://tempo:4318/otlp/v1/traces', protocol: 'http/json' });
    expect(readConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }).traces).toBeUndefined();
    expect(readConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }).traces).toBeUndefined();
    // gRPC: the endpoint as given (no /v1/traces); an unknown protocol is refused.
    expect(
      readConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317/', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }).traces,
    ).toEqual({
      url: 'http://collector:4317',
      protocol: 'grpc',
    });
    expect(() => readConfig({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'thrift' })).toThrow(ConfigError);
    expect(() => readConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});

describe('tracing off', () => {
  it('adds nothing to workers or clients and loads no OpenTelemetry SDK', () => {
    const cfg = readConfig({ BRAID_SIMULATOR_URL: 'http://127.0.0.1:9' });
    const worker = new BraidWorkerPlugin({ config: cfg }).configureWorker({ taskQueue: 'q', workflowsPath: __filename });
    expect(worker.interceptors).toBeUndefined();
    expect(worker.sinks).toBeUndefined();
    const client = new BraidClientPlugin({ tracing: false }).configureClient({});
    expect(client.interceptors).toBeUndefined();
    const loaded = Object.keys(require.cache).filter((m) =>
      /@opentelemetry[\\/](sdk-trace|exporter|resources)|interceptors-opentelemetry/.test(m),
    );
    expect(loaded).toEqual([]);
  });

  it('adds the interceptors, the workflow span sink and the workflow module when on', async () => {
    // Loaded here, after the test above looked at what was loaded.
    const sdk = '@opentelemetry/sdk-trace-base';
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { InMemorySpanExporter, SimpleSpanProcessor } = require(sdk) as typeof import('@opentelemetry/sdk-trace-base');
    const tracing = startTracing({ spanProcessor: new SimpleSpanProcessor(new InMemorySpanExporter()) });
    expect(Object.keys(require.cache).filter((m) => /@opentelemetry[\\/]sdk-trace-node/.test(m)).length).toBeGreaterThan(0); // what the check above looks for
    const cfg = readConfig({ BRAID_SIMULATOR_URL: 'http://127.0.0.1:9' });
    const worker = new BraidWorkerPlugin({ config: cfg, tracing }).configureWorker({ taskQueue: 'q', workflowsPath: __filename });
    expect(worker.interceptors?.activity).toHaveLength(1);
    expect(worker.interceptors?.workflowModules?.some((m) => /interceptors-opentelemetry/.test(m))).toBe(true);
    expect(Object.keys(worker.sinks ?? {})).toEqual(['exporter']);
    expect(new BraidClientPlugin({ tracing }).configureClient({}).interceptors?.workflow).toHaveLength(1);
    await tracing.shutdown();
  });
});
