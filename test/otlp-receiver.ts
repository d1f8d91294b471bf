/**
 * An in-process OTLP trace receiver for tests: it accepts `POST /v1/traces` in both OTLP/HTTP
 * encodings — protobuf, decoded with the OTLP message definitions @opentelemetry/otlp-transformer
 * ships, and JSON — or, started with `startGrpc`, OTLP/gRPC's Export calls, and keeps every span, flattened.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';

/** A received span: ids as hex, attributes as plain values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  status: number;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  service: unknown;
}

interface OtlpValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: OtlpValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  status?: { code?: number };
  attributes?: OtlpKeyValue[];
  events?: { name: string; attributes?: OtlpKeyValue[] }[];
}
interface OtlpRequest {
  resourceSpans?: { resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

const valueOf = (v: OtlpValue | undefined): unknown => {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(valueOf);
  if (v.kvlistValue) return attributesOf(v.kvlistValue.values);
  return undefined;
};
const attributesOf = (kvs: OtlpKeyValue[] | undefined): Record<string, unknown> =>
  Object.fromEntries((kvs ?? []).map((kv) => [kv.key, valueOf(kv.value)]));

/* eslint-disable @typescript-eslint/no-require-imports -- the generated protobufjs module has no typed entry point */
const traceRequest = () =>
  (
    require('@opentelemetry/otlp-transformer/build/src/generated/root') as {
      opentelemetry: {
        proto: {
          collector: {
            trace: {
              v1: {
                ExportTraceServiceRequest: {
                  decode(b: Uint8Array): unknown;
                  toObject(m: unknown, o: object): OtlpRequest;
                };
              };
            };
          };
        };
      };
    }
  ).opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
/* eslint-enable @typescript-eslint/no-require-imports */

function decode(body: Buffer, contentType: string): OtlpRequest {
  if (contentType.includes('json')) return JSON.parse(body.toString('utf8')) as OtlpRequest;
  const T = traceRequest();
  return T.toObject(T.decode(body), { longs: String, bytes: String, defaults: false });
}

/** Protobuf bytes fields arrive base64-encoded (toObject's `bytes: String`), JSON ones as hex. */
const hex = (id: string | undefined, protobuf: boolean): string | undefined =>
  id === undefined || id === '' ? undefined : protobuf ? Buffer.from(id, 'base64').toString('hex') : id;

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly contentTypes = new Set<string>();

  private constructor(
    private readonly server: { close(done: () => void): void },
    readonly url: string,
  ) {}

  /**
   * The same receiver over OTLP/gRPC: the collector's TraceService/Export method on a plain-text
   * gRPC server (@grpc/grpc-js, the library Temporal's client uses), its messages decoded with the
   * same OTLP definitions. `url` is the address an exporter is given (`http://127.0.0.1:<port>`).
   */
  static async startGrpc(): Promise<OtlpReceiver> {
    const T = traceRequest();
    const server = new grpc.Server();
    const box: { receiver?: OtlpReceiver } = {};
    const service: grpc.ServiceDefinition = {
      Export: {
        path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => T.toObject(T.decode(b), { longs: String, bytes: String, defaults: false }),
        // ExportTraceServiceResponse with no partial_success: an empty message.
        responseSerialize: () => Buffer.alloc(0),
        responseDeserialize: (b: Buffer) => b,
      },
    };
    server.addService(service, {
      Export: (call: grpc.ServerUnaryCall<OtlpRequest, unknown>, done: grpc.sendUnaryData<unknown>) => {
        box.receiver!.add(call.request, true);
        box.receiver!.contentTypes.add('application/grpc');
        done(null, {});
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    box.receiver = new OtlpReceiver({ close: (done) => server.tryShutdown(() => done()) }, `http://127.0.0.1:${port}`);
    return box.receiver;
  }

  static async start(): Promise<OtlpReceiver> {
    const box: { receiver?: OtlpReceiver } = {};
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/v1/traces') {
          res.writeHead(404).end();
          return;
        }
        const type = req.headers['content-type'] ?? '';
        try {
          box.receiver!.add(decode(Buffer.concat(chunks), type), !type.includes('json'));
          box.receiver!.contentTypes.add(type);
          res
            .writeHead(200, { 'content-type': type.includes('json') ? 'application/json' : 'application/x-protobuf' })
            .end(type.includes('json') ? '{}' : '');
        } catch (err) {
          res.writeHead(400).end(String(err));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    box.receiver = new OtlpReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return box.receiver;
  }

  private add(request: OtlpRequest, protobuf: boolean): void {
    for (const rs of request.resourceSpans ?? []) {
      const service = attributesOf(rs.resource?.attributes)['service.name'];
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? [])
          this.spans.push({
            traceId: hex(s.traceId, protobuf)!,
            spanId: hex(s.spanId, protobuf)!,
            parentSpanId: hex(s.parentSpanId, protobuf),
            name: s.name,
            kind: s.kind ?? 0,
            status: s.status?.code ?? 0,
            attributes: attributesOf(s.attributes),
            events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attributesOf(e.attributes) })),
            service,
          });
    }
  }

  /** The spans of one trace. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
