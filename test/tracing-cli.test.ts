/**
 * Traces from the `braid` CLI as a user runs it: with OTEL_EXPORTER_OTLP_ENDPOINT set, a command
 * with a worker inside it sends one connected trace — its own start span as the root — before it
 * exits, over OTLP/HTTP or OTLP/gRPC; a bad OTEL setting is a one-line usage error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { braid, expectOneLineError, server } from './cli-helpers';
import { OtlpReceiver } from './otlp-receiver';

let receiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await OtlpReceiver.start();
});

afterAll(async () => {
  await receiver?.close();
});

describe('braid with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it("sends the run as one trace, from the command's start span to the model calls and tools, before it exits", async () => {
    const env = {
      ...server(),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'braid-cli-test',
    };
    const r = await braid(['ask', '--with-worker', '--json', 'What is 26.2 miles in kilometres?'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect([...receiver.contentTypes]).toEqual(['application/json']);
    const roots = receiver.spans.filter((s) => !s.parentSpanId && s.name === 'StartWorkflow:toolAgent');
    expect(roots).toHaveLength(1);
    const spans = receiver.trace(roots[0]!.traceId);
    const ids = new Set(spans.map((s) => s.spanId));
    expect(spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId)).map((s) => s.name)).toEqual([]);
    expect(spans.filter((s) => s.name === 'RunWorkflow:toolAgent')).toHaveLength(1);
    const chats = spans.filter((s) => s.name.startsWith('chat '));
    expect(chats).toHaveLength(out.branches.filter((b: { kind: string }) => b.kind === 'llm').length);
    expect(spans.filter((s) => s.name.startsWith('execute_tool ')).map((s) => s.name)).toEqual(
      out.branches.filter((b: { kind: string }) => b.kind === 'tool').map((b: { name: string }) => `execute_tool ${b.name}`),
    );
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['braid-cli-test']));
  }, 120_000); // the command bundles its worker's workflows first

  it('sends the same trace over OTLP/gRPC with OTEL_EXPORTER_OTLP_PROTOCOL=grpc (the endpoint as given)', async () => {
    const grpcReceiver = await OtlpReceiver.startGrpc();
    try {
      const env = { ...server(), OTEL_EXPORTER_OTLP_ENDPOINT: grpcReceiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
      const r = await braid(['ask', '--with-worker', '--json', 'What is 26.2 miles in kilometres?'], env);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect([...grpcReceiver.contentTypes]).toEqual(['application/grpc']);
      const roots = grpcReceiver.spans.filter((s) => !s.parentSpanId && s.name === 'StartWorkflow:toolAgent');
      expect(roots).toHaveLength(1);
      const spans = grpcReceiver.trace(roots[0]!.traceId);
      const ids = new Set(spans.map((s) => s.spanId));
      expect(spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId)).map((s) => s.name)).toEqual([]);
      expect(spans.filter((s) => s.name.startsWith('chat '))).toHaveLength(
        out.branches.filter((b: { kind: string }) => b.kind === 'llm').length,
      );
    } finally {
      await grpcReceiver.close();
    }
  }, 120_000);

  it('refuses an OTLP protocol it does not know with one line and exit 2, before the worker starts', async () => {
    const r = await braid(['worker'], { ...server(), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' });
    expectOneLineError(r, 2, /OTEL_EXPORTER_OTLP_PROTOCOL: expected http\/protobuf, http\/json or grpc/);
  });
});
