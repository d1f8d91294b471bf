/**
 * `braid codec-server` (issue #14 §2): plain HTTP (the protocol, CORS only for the UI's origin, the
 * token, everything else refused), the `temporal` CLI decoding a run through it with its token, and
 * the Web UI of a dev server started the way `braid server start` starts it with encryption on
 * (`--ui-codec-endpoint`), opened in headless Chromium: through the codec server a run's input and
 * result read as JSON; with the codec server stopped, or serving another origin, they do not.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { bundleWorkflowCode, DefaultLogger, NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EncryptionCodec } from '../src/encryption/codec';
import { startCodecServer, type CodecServer } from '../src/encryption/codec-server';
import { encodingFailureConverterPath, encryptionConverter } from '../src/encryption/converter';
import { KeyRing } from '../src/encryption/keys';
import { ASK_WORKFLOW, type AgentInput, type AgentResult } from '../src/shared/ask';
import type { Simulator } from '../src/simulator';
import { freePort, startDevServer, stopDevServer, type DevServerOptions } from '../src/temporal/dev-server';
import { createDefaultRegistry } from '../src/tools';
import { hasChromium, launchChromium, CHROMIUM } from './chromium';
import { braid, expectOneLineError } from './cli-helpers';
import { quietRuntime, startSimulator, startWorker, type TestWorker } from './helpers';

const ROOT = path.join(__dirname, '..');
const SHOTS = process.env.BRAID_SCREENSHOTS_DIR ?? path.join(ROOT, 'screenshots', 'web-ui');
const KEY = randomBytes(32).toString('base64');
const ring = KeyRing.fromBase64([KEY]);
const codec = new EncryptionCodec(ring);
const TOKEN = randomBytes(24).toString('hex');
const SENTINEL = `narwhal-${randomUUID().slice(0, 8)}`;
const run = promisify(execFile);
/** How the Web UI shows a payload it could not decode: its metadata, `encoding` in base64 ("binary/encrypted"). */
const CIPHERTEXT = Buffer.from('binary/encrypted').toString('base64');

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** A payload in the codec protocol's JSON form. */
const jsonPayload = async (value: unknown) => {
  const [p] = await codec.encode([defaultPayloadConverter.toPayload(value)]);
  return {
    metadata: Object.fromEntries(Object.entries(p!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(p!.data!).toString('base64'),
  };
};

describe('the codec server over HTTP', () => {
  const UI = 'http://localhost:18233';
  let open: CodecServer;
  let guarded: CodecServer;
  const refused: string[] = [];

  beforeAll(async () => {
    open = await startCodecServer({ codec, port: 0, uiOrigins: [UI], onRefused: (l) => refused.push(l) });
    guarded = await startCodecServer({ codec, port: 0, uiOrigins: [UI], token: TOKEN });
  });
  afterAll(async () => {
    await open?.close();
    await guarded?.close();
  });

  it('decodes and encodes payloads in the protocol the Web UI speaks, with CORS for the UI origin only', async () => {
    const res = await post(
      `${open.url}/decode`,
      { payloads: [await jsonPayload({ q: SENTINEL })] },
      { Origin: UI, 'X-Namespace': 'default' },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI);
    const { payloads } = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    expect(Buffer.from(payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(payloads[0]!.data, 'base64').toString())).toEqual({ q: SENTINEL });

    const enc = await post(`${open.url}/encode`, { payloads });
    const encoded = ((await enc.json()) as { payloads: { metadata: Record<string, string> }[] }).payloads[0]!;
    expect(Buffer.from(encoded.metadata.encoding!, 'base64').toString()).toBe('binary/encrypted');

    const preflight = await fetch(`${open.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: UI, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-namespace' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/i);
  });

  it('refuses another origin, other paths and methods, and bodies that are not payloads', async () => {
    const evil = await post(`${open.url}/decode`, { payloads: [await jsonPayload('x')] }, { Origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const evilPreflight = await fetch(`${open.url}/decode`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example' } });
    expect(evilPreflight.status).toBe(403);
    expect((await fetch(`${open.url}/keys`)).status).toBe(404);
    expect((await fetch(`${open.url}/decode`)).status).toBe(405);
    expect((await fetch(`${open.url}/decode`, { method: 'POST', body: '{}' })).status).toBe(415);
    expect((await post(`${open.url}/decode`, { nothing: true })).status).toBe(400);
    const other = await new EncryptionCodec(KeyRing.fromBase64([randomBytes(32).toString('base64')])).encode([
      defaultPayloadConverter.toPayload('x'),
    ]);
    const wrongKey = await post(`${open.url}/decode`, {
      payloads: [
        {
          metadata: {
            encoding: Buffer.from('binary/encrypted').toString('base64'),
            'encryption-key-id': Buffer.from(other[0]!.metadata!['encryption-key-id']!).toString('base64'),
          },
          data: Buffer.from(other[0]!.data!).toString('base64'),
        },
      ],
    });
    expect(wrongKey.status).toBe(400);
    expect(((await wrongKey.json()) as { error: string }).error).toMatch(/does not hold/);
    expect(refused.some((l) => l.includes('evil.example'))).toBe(true);
  });

  it('with a token, refuses a request without it or with a wrong one', async () => {
    const body = { payloads: [await jsonPayload(SENTINEL)] };
    expect((await post(`${guarded.url}/decode`, body)).status).toBe(401);
    expect((await post(`${guarded.url}/decode`, body, { Authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    expect((await post(`${guarded.url}/decode`, body, { Authorization: TOKEN })).status).toBe(401);
    const ok = await post(`${guarded.url}/decode`, body, { Authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
  });
});

describe('braid codec-server and braid server start', () => {
  it('refuse to serve without a key, for something that is not an origin, or off loopback without a token (exit 2)', async () => {
    expectOneLineError(await braid(['codec-server']), 2, /no encryption key is configured: set BRAID_ENCRYPTION_KEY/);
    const keyed = { BRAID_ENCRYPTION_KEY: KEY };
    expectOneLineError(await braid(['codec-server', '--ui-origin', 'localhost:8233/ui'], keyed), 2, /is not an origin/);
    expectOneLineError(await braid(['codec-server', '--host', '0.0.0.0'], keyed), 2, /not loopback: .* give a --token/);
    expectOneLineError(await braid(['codec-server'], { BRAID_ENCRYPTION_KEY: 'c2hvcnQ=' }), 2, /BRAID_ENCRYPTION_KEY is not a key/);
  });

  it('`braid server start` with a key gives the Web UI the codec endpoint', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-codec-start-'));
    const env = {
      BRAID_DATA_DIR: dir,
      BRAID_ENCRYPTION_KEY: KEY,
      BRAID_TEMPORAL_PORT: String(await freePort()),
      BRAID_TEMPORAL_UI_PORT: String(await freePort()),
      BRAID_CODEC_PORT: String(await freePort()),
    };
    try {
      const started = await braid(['server', 'start'], env);
      expect(started.code, started.stderr).toBe(0);
      expect(started.stdout).toContain(`the Web UI decodes them through http://127.0.0.1:${env.BRAID_CODEC_PORT}`);
      const pid = fs.readFileSync(path.join(dir, 'temporal', 'server.pid'), 'utf8').trim();
      const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(args[args.indexOf('--ui-codec-endpoint') + 1]).toBe(`http://127.0.0.1:${env.BRAID_CODEC_PORT}`);
    } finally {
      await braid(['server', 'stop'], env);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a run seen through the codec server', () => {
  let dir: string;
  let server: DevServerOptions;
  let native: NativeConnection;
  let connection: Connection;
  let client: Client;
  let sim: Simulator;
  let worker: TestWorker;
  let codecPort: number;
  let workflowId: string;
  let address: string;

  beforeAll(async () => {
    quietRuntime();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-codec-'));
    codecPort = await freePort();
    // What `braid server start` does with a key configured: the UI's codec endpoint is the codec server.
    server = { dataDir: dir, port: await freePort(), uiPort: await freePort(), codecEndpoint: `http://127.0.0.1:${codecPort}` };
    await startDevServer(server);
    address = `127.0.0.1:${server.port}`;
    native = await NativeConnection.connect({ address });
    connection = await Connection.connect({ address });
    client = new Client({ connection, dataConverter: encryptionConverter(ring) });
    sim = await startSimulator();
    const bundle = await bundleWorkflowCode({
      workflowsPath: path.join(ROOT, 'src', 'workflows', 'index.ts'),
      failureConverterPath: encodingFailureConverterPath(),
      logger: new DefaultLogger('ERROR'),
    });
    worker = await startWorker({ native }, createDefaultRegistry(), sim, { BRAID_ENCRYPTION_KEY: KEY }, { workflowBundle: bundle });
    workflowId = `codec-${randomUUID()}`;
    const handle = await client.workflow.start(ASK_WORKFLOW, {
      taskQueue: worker.taskQueue,
      workflowId,
      args: [{ question: `Which animal is ${SENTINEL}?` } satisfies AgentInput],
    });
    expect(((await handle.result()) as AgentResult).answer.length).toBeGreaterThan(0);
  }, 240_000);

  afterAll(async () => {
    await worker?.shutdown();
    await sim?.close();
    await connection?.close();
    await native?.close();
    if (server) await stopDevServer(server);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the temporal CLI decodes the run with the token, and not without it', async () => {
    const codecServer = await startCodecServer({ codec, port: 0, uiOrigins: [], token: TOKEN });
    try {
      const show = (extra: string[]) =>
        run(inject('temporalCli'), [
          'workflow',
          'show',
          '--address',
          address,
          '-w',
          workflowId,
          '-o',
          'json',
          '--codec-endpoint',
          codecServer.url,
          ...extra,
        ]);
      // The CLI prints payloads as protobuf JSON: the decoded ones are json/plain, their data base64.
      const plainText = (out: string) =>
        [...out.matchAll(/"data": "([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('latin1')).join('\n');
      const { stdout } = await show(['--codec-auth', `Bearer ${TOKEN}`]);
      expect(plainText(stdout)).toContain(SENTINEL);
      // Without the token the codec server answers 401 to every request, and the CLI gives up.
      const without = await show([]).then(
        (r) => ({ failed: false, out: r.stdout }),
        (err: { stdout?: string; stderr?: string }) => ({ failed: true, out: `${err.stdout}${err.stderr}` }),
      );
      expect(without.failed).toBe(true);
      expect(plainText(without.out)).not.toContain(SENTINEL);
    } finally {
      await codecServer.close();
    }
  });

  it.skipIf(!hasChromium)(
    'the Web UI shows the input as JSON through the codec server; ciphertext without it or for another origin',
    async () => {
      const ui = `http://localhost:${server.uiPort}`;
      const page = `${ui}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`;
      const browser = await launchChromium({ width: 1400, height: 1000 });
      fs.mkdirSync(SHOTS, { recursive: true });
      /** The page's text once the run's input card has rendered. */
      const look = async (shot: string) => {
        const tab = await browser.newPage();
        try {
          await tab.goto(page, { waitUntil: 'networkidle' });
          // The run's page has rendered its input and result cards (decoded or not).
          const rendered = /\nInput\n[\s\S]*\nResult\n/;
          for (let i = 0; i < 60 && !rendered.test(await tab.locator('body').innerText()); i++) await tab.waitForTimeout(500);
          await tab.waitForTimeout(1500);
          await tab.screenshot({ path: path.join(SHOTS, shot), fullPage: true });
          return await tab.locator('body').innerText();
        } finally {
          await tab.close();
        }
      };
      try {
        const served = await startCodecServer({ codec, port: codecPort, uiOrigins: [ui] });
        let seen: string;
        try {
          seen = await look('codec-server-decoded.png');
        } finally {
          await served.close();
        }
        expect(seen).toContain(`"question": "Which animal is ${SENTINEL}?"`);
        expect(seen).not.toContain(CIPHERTEXT);

        const stopped = await look('codec-server-stopped.png');
        expect(stopped).not.toContain(SENTINEL);
        expect(stopped).toContain(CIPHERTEXT);

        const elsewhere = await startCodecServer({ codec, port: codecPort, uiOrigins: ['https://ui.example.com'] });
        try {
          const refusedByBrowser = await look('codec-server-other-origin.png');
          expect(refusedByBrowser).not.toContain(SENTINEL);
          expect(refusedByBrowser).toContain(CIPHERTEXT);
        } finally {
          await elsewhere.close();
        }
      } finally {
        await browser.close();
      }
    },
  );
  if (!hasChromium) it.skip(`Web UI checks need Chromium at ${CHROMIUM}`, () => {});
});
