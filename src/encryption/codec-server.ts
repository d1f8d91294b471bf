/**
 * The codec server the Temporal Web UI (and the `temporal` CLI) decode payloads through: POST
 * `/decode` and `/encode` with `{"payloads": [...]}` in protobuf JSON (metadata values and data in
 * base64), answered in the same form — the protocol Temporal's tools speak.
 *
 * It holds the keys, so it is careful about who asks. It binds to loopback unless told otherwise.
 * A browser names the page that sends a request (`Origin`): only the configured UI origins are
 * answered, and only they get CORS headers, so a page elsewhere can neither read a decoded payload
 * nor have the browser send the request after its preflight. With a token, every request must
 * carry `Authorization: Bearer <token>` — the `temporal` CLI sends it with `--codec-auth`, an auth
 * proxy in front of the UI can add it. Anything else (other paths, methods, bodies that are not
 * JSON payloads, bodies over the size limit) is refused.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';

/** What `startCodecServer` serves, where, and to whom. */
export interface CodecServerOptions {
  /** The codec requests are answered with (Braid's: `new EncryptionCodec(ring)`). */
  codec: PayloadCodec;
  /** 0: any free port. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The Web UI origins (`http://localhost:8233`) whose pages may call it. */
  uiOrigins: string[];
  /** A bearer token every request must carry. */
  token?: string;
  /** Largest request body accepted; default 32 MB. */
  maxBodyBytes?: number;
  /** Told about every refused request (the CLI prints it). */
  onRefused?: (line: string) => void;
}

/** A running codec server. */
export interface CodecServer {
  /** `http://<host>:<port>`: the endpoint to give the Web UI or `--codec-endpoint`. */
  url: string;
  port: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** An origin as browsers send it: scheme, host and port, nothing else; undefined when the text is not one. */
export function normalizeOrigin(text: string): string | undefined {
  try {
    const u = new URL(text);
    if (!/^https?:$/.test(u.protocol) || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash || u.username) return undefined;
    return u.origin;
  } catch {
    return undefined;
  }
}

class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const fromJson = (p: JsonPayload): Payload => {
  if (typeof p !== 'object' || p === null) throw new Refused(400, 'a payload is not an object');
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) {
    if (typeof v !== 'string') throw new Refused(400, `metadata "${k}" is not base64 text`);
    metadata[k] = Buffer.from(v, 'base64');
  }
  if (p.data !== undefined && typeof p.data !== 'string') throw new Refused(400, 'a payload\'s "data" is not base64 text');
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
};

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Serves `/encode` and `/decode` for the Temporal Web UI and the `temporal` CLI (see the module comment for who is answered). */
export function startCodecServer(o: CodecServerOptions): Promise<CodecServer> {
  const origins = new Set(o.uiOrigins.map((x) => normalizeOrigin(x) ?? x));
  const maxBody = o.maxBodyBytes ?? 32 * 1024 * 1024;
  const expected = o.token ? digest(`Bearer ${o.token}`) : undefined;

  const read = (req: http.IncomingMessage) =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBody) {
          reject(new Refused(413, `request body over ${maxBody} bytes`));
          req.destroy();
        } else chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://codec').pathname.replace(/\/+$/, '');
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!origins.has(origin)) throw new Refused(403, `origin ${origin} is not the Web UI's (--ui-origin)`);
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    res.setHeader('Vary', 'Origin');
    if (path !== '/encode' && path !== '/decode') throw new Refused(404, `no such endpoint: ${path || '/'} (only /encode and /decode)`);
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      res.setHeader('Access-Control-Max-Age', '600');
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'POST') throw new Refused(405, `${req.method} is not allowed (POST only)`);
    if (expected) {
      const given = digest(req.headers.authorization ?? '');
      if (!timingSafeEqual(given, expected)) throw new Refused(401, 'missing or wrong token (Authorization: Bearer …)');
    }
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new Refused(415, 'the body must be application/json');
    let body: { payloads?: JsonPayload[] };
    try {
      body = JSON.parse((await read(req)).toString('utf8')) as { payloads?: JsonPayload[] };
    } catch (err) {
      if (err instanceof Refused) throw err;
      throw new Refused(400, 'the body is not JSON');
    }
    if (!Array.isArray(body?.payloads)) throw new Refused(400, 'expected {"payloads": [...]}');
    const payloads = body.payloads.map(fromJson);
    let out: Payload[];
    try {
      out = path === '/decode' ? await o.codec.decode(payloads) : await o.codec.encode(payloads);
    } catch (err) {
      throw new Refused(400, err instanceof Error ? err.message : String(err));
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ payloads: out.map(toJson) }));
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof Refused ? err.status : 500;
      const message = err instanceof Error ? err.message : String(err);
      o.onRefused?.(`${req.method} ${req.url} refused (${status}): ${message}`);
      if (!res.headersSent) res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: message }));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const host = (o.host ?? '127.0.0.1').includes(':') ? `[${o.host}]` : (o.host ?? '127.0.0.1');
      resolve({
        url: `http://${host}:${port}`,
        port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
