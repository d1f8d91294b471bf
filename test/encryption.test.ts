/**
 * Payload encryption (issue #14 §1): the codec on its own, then against a real dev server that keeps
 * its data in a file of this test's: a sentinel sent in a question and in a tool's error never
 * reaches that file (while the same check finds an unencrypted run's sentinel), failures are stored
 * as "Encoded failure", a client or worker with another key fails with one line naming the key,
 * a key ring decrypts with the old key and encrypts with the new one, and runs written before
 * encryption still read.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { bundleWorkflowCode, DefaultLogger, NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FsBlobStore } from '../src/blobs/store';
import { EncryptedBlobStore } from '../src/encryption/blobs';
import { EncryptionCodec, PayloadDecryptError, ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../src/encryption/codec';
import { encodingFailureConverterPath, encryptionConverter } from '../src/encryption/converter';
import { EncryptionKeyError, KeyRing, keyRingFrom, readKeyFile } from '../src/encryption/keys';
import { ASK_WORKFLOW, type AgentInput, type AgentResult } from '../src/shared/ask';
import type { Simulator } from '../src/simulator';
import { startEphemeralServer, type EphemeralServer } from '../src/temporal/dev-server';
import { defineTool, ToolRegistry } from '../src/tools';
import { fetchRun } from '../src/report/fetch';
import { analyzeRun, type RunReport } from '../src/report/analyze';
import { braid, type Run } from './cli-helpers';
import { quietRuntime, startSimulator, startWorker, type TestWorker } from './helpers';

const newKey = () => randomBytes(32).toString('base64');
const A = newKey();
const B = newKey();
const ringA = KeyRing.fromBase64([A]);
const ringB = KeyRing.fromBase64([B]);
const ringBA = KeyRing.fromBase64([B, A]);
const json = (v: unknown): Payload => defaultPayloadConverter.toPayload(v);
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');

const filesUnder = (d: string): string[] =>
  fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(d, e.name)) : [path.join(d, e.name)]));

describe('the codec', () => {
  it('round-trips a payload, with a fresh nonce each time and the key id in the metadata', async () => {
    const codec = new EncryptionCodec(ringA);
    const p = json({ question: 'what is 2 + 2?' });
    const [x, y] = await codec.encode([p, p]);
    expect(text(x!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(x!.metadata![KEY_ID_METADATA])).toBe(ringA.newest.id);
    expect(Buffer.from(x!.data!).equals(Buffer.from(y!.data!))).toBe(false);
    expect(Buffer.from(x!.data!).toString('latin1')).not.toContain('2 + 2');
    const [back] = await codec.decode([x!]);
    expect(defaultPayloadConverter.fromPayload(back!)).toEqual({ question: 'what is 2 + 2?' });
  });

  it('compresses large payloads before encrypting them, and only those', async () => {
    const codec = new EncryptionCodec(ringA);
    const big = json('tide pools '.repeat(2000));
    const [small, large] = await codec.encode([json('short'), big]);
    expect(small!.metadata!['braid-compression']).toBeUndefined();
    expect(text(large!.metadata!['braid-compression'])).toBe('deflate');
    expect(large!.data!.length).toBeLessThan(big.data!.length / 10);
    expect(defaultPayloadConverter.fromPayload((await codec.decode([large!]))[0]!)).toBe('tide pools '.repeat(2000));
    const plain = new EncryptionCodec(ringA, { compressAboveBytes: false });
    expect((await plain.encode([big]))[0]!.metadata!['braid-compression']).toBeUndefined();
  });

  it('refuses another key, altered bytes, altered metadata, and a process without a key, each with one line', async () => {
    const [enc] = await new EncryptionCodec(ringA).encode([json('secret')]);
    await expect(new EncryptionCodec(ringB).decode([enc!])).rejects.toThrow(
      new RegExp(`encrypted with key ${ringA.newest.id}, which this process's key ring \\(${ringB.newest.id}\\) does not hold`),
    );
    const flipped = Buffer.from(enc!.data!);
    flipped[20]! ^= 1;
    await expect(new EncryptionCodec(ringA).decode([{ ...enc!, data: flipped }])).rejects.toThrow(/fails authentication/);
    const claimsCompressed = { ...enc!, metadata: { ...enc!.metadata, 'braid-compression': Buffer.from('deflate') } };
    await expect(new EncryptionCodec(ringA).decode([claimsCompressed])).rejects.toThrow(/fails authentication/);
    await expect(new EncryptionCodec(undefined).decode([enc!])).rejects.toThrow(/this process has no key: set BRAID_ENCRYPTION_KEY/);
    for (const err of await Promise.all([new EncryptionCodec(ringB).decode([enc!]).catch((e: Error) => e)])) {
      expect(err).toBeInstanceOf(PayloadDecryptError);
      expect((err as Error).message.split('\n')).toHaveLength(1);
    }
  });

  it('passes payloads written before encryption through, and encrypts nothing without a key', async () => {
    const p = json({ answer: 4 });
    expect(await new EncryptionCodec(ringA).decode([p])).toEqual([p]);
    expect(await new EncryptionCodec(undefined).encode([p])).toEqual([p]);
  });

  it('reads keys from the environment or a key-ring file, newest first, and says what is wrong with a bad one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-keys-'));
    try {
      const file = path.join(dir, 'keys');
      fs.writeFileSync(file, `# newest first\n${B}\n\n${A}\n`);
      const ring = readKeyFile(file);
      expect(ring.keys.map((k) => k.id)).toEqual([ringB.newest.id, ringA.newest.id]);
      expect(keyRingFrom({ key: A })!.newest.id).toBe(ringA.newest.id);
      expect(keyRingFrom({})).toBeUndefined();
      expect(() => keyRingFrom({ key: 'c2hvcnQ=' })).toThrow(/BRAID_ENCRYPTION_KEY is not a key: expected base64 of 32 random bytes/);
      expect(() => keyRingFrom({ key: A, keysFile: file })).toThrow(EncryptionKeyError);
      fs.writeFileSync(file, `${A}\nnot-a-key\n`);
      expect(() => readKeyFile(file)).toThrow(new RegExp(`${file} line 2 is not a key`));
      expect(() => readKeyFile(path.join(dir, 'missing'))).toThrow(/cannot read the key file .* no such file/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the encrypted blob store', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-enc-blobs-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const filesUnder = (d: string): string[] =>
    fs
      .readdirSync(d, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(d, e.name)) : [path.join(d, e.name)]));

  it('stores ciphertext under a keyed address: same content and key, same address; nobody can hash a guess to it', async () => {
    const doc = `The quarterly report of ${randomUUID()}`;
    const inner = new FsBlobStore(path.join(dir, 'a'));
    const store = new EncryptedBlobStore(inner, ringA);
    const ref = await store.put(doc);
    expect(await store.put(doc)).toBe(ref);
    expect(ref).not.toBe(`sha256:${createHash('sha256').update(doc).digest('hex')}`);
    expect(await new EncryptedBlobStore(new FsBlobStore(path.join(dir, 'b')), ringB).put(doc)).not.toBe(ref);
    expect((await store.get(ref)).toString()).toBe(doc);
    // Read back by a fresh process's store (no memory cache), and nothing on disk holds the text.
    expect((await new EncryptedBlobStore(new FsBlobStore(path.join(dir, 'a')), ringA).get(ref)).toString()).toBe(doc);
    for (const f of filesUnder(path.join(dir, 'a'))) expect(fs.readFileSync(f).toString('latin1')).not.toContain('quarterly');
  });

  it('reads blobs written before encryption and under an older key of the ring; another key fails with one line', async () => {
    const inner = new FsBlobStore(path.join(dir, 'c'));
    const plainRef = await inner.put('written before encryption');
    const oldRef = await new EncryptedBlobStore(inner, ringA).put('written under key A');
    const rotated = new EncryptedBlobStore(new FsBlobStore(path.join(dir, 'c')), ringBA);
    expect((await rotated.get(plainRef)).toString()).toBe('written before encryption');
    expect((await rotated.get(oldRef)).toString()).toBe('written under key A');
    await expect(new EncryptedBlobStore(new FsBlobStore(path.join(dir, 'c')), ringB).get(oldRef)).rejects.toThrow(
      new RegExp(`blob ${oldRef} is encrypted with key ${ringA.newest.id}, which this process's key ring does not hold`),
    );
  });
});

describe('against a dev server that keeps its data in a file', () => {
  const SENTINEL = `zebra-${randomUUID()}`;
  const CONTROL = `okapi-${randomUUID()}`;
  let dir: string;
  let server: EphemeralServer;
  let native: NativeConnection;
  let connection: Connection;
  let sim: Simulator;
  const workers: TestWorker[] = [];
  let encryptedA: TestWorker;
  let plain: TestWorker;
  let rotated: TestWorker;
  const clientOf = (ring: KeyRing | undefined) => new Client({ connection, dataConverter: encryptionConverter(ring) });

  // A tool whose error carries the sentinel (the control's, on the plain worker): failures' messages must be encrypted too.
  const registry = (secret: string) =>
    new ToolRegistry().register(
      defineTool({
        name: 'vault',
        description: 'Opens the vault.',
        input: z.object({}).passthrough(),
        handler: () => Promise.reject(new Error(`the vault refused ${secret}`)),
      }),
    );

  beforeAll(async () => {
    quietRuntime();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-encryption-'));
    server = await startEphemeralServer({}, { dbFile: path.join(dir, 'temporal.db') });
    native = await NativeConnection.connect({ address: server.address });
    connection = await Connection.connect({ address: server.address });
    sim = await startSimulator();
    // Encrypting workers bundle the failure converter that encodes failures' messages.
    const bundle = await bundleWorkflowCode({
      workflowsPath: path.join(__dirname, '..', 'src', 'workflows', 'index.ts'),
      failureConverterPath: encodingFailureConverterPath(),
      logger: new DefaultLogger('ERROR'),
    });
    const start = (env: Record<string, string>, secret = SENTINEL) =>
      startWorker({ native }, registry(secret), sim, env, { workflowBundle: bundle });
    encryptedA = await start({ BRAID_ENCRYPTION_KEY: A, BRAID_BLOB_DIR: path.join(dir, 'blobs') });
    plain = await start({}, CONTROL);
    const keys = path.join(dir, 'keys');
    fs.writeFileSync(keys, `${B}\n${A}\n`);
    rotated = await start({ BRAID_ENCRYPTION_KEYS_FILE: keys });
    workers.push(encryptedA, plain, rotated);
  }, 180_000);

  afterAll(async () => {
    for (const w of workers) await w.shutdown();
    await sim?.close();
    await connection?.close();
    await native?.close();
    await server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const ask = (client: Client, w: TestWorker, question: string) =>
    client.workflow.start(ASK_WORKFLOW, {
      taskQueue: w.taskQueue,
      workflowId: `enc-${randomUUID()}`,
      args: [{ question } satisfies AgentInput],
    });

  /** Every byte the server has written: the database, its write-ahead log and shared memory. */
  const serverBytes = () =>
    Buffer.concat(
      fs
        .readdirSync(dir)
        .filter((f) => f.startsWith('temporal.db'))
        .map((f) => fs.readFileSync(path.join(dir, f))),
    ).toString('latin1');

  let encryptedRun: string;
  let plainRun: string;

  it('keeps a question, its answer and a tool error out of the server database; the failure is stored as "Encoded failure"', async () => {
    const client = clientOf(ringA);
    const handle = await ask(client, encryptedA, `Open the vault for ${SENTINEL}.\n#sim tools=vault`);
    const result = (await handle.result()) as AgentResult;
    encryptedRun = handle.workflowId;
    expect(result.answer.length).toBeGreaterThan(0);
    // The same run unencrypted: the check below would see its sentinel.
    const control = await ask(clientOf(undefined), plain, `Open the vault for ${CONTROL}.\n#sim tools=vault`);
    await control.result();
    plainRun = control.workflowId;

    const events = (await client.workflow.getHandle(encryptedRun).fetchHistory()).events ?? [];
    const failures = events.flatMap((e) =>
      e.activityTaskFailedEventAttributes?.failure ? [e.activityTaskFailedEventAttributes.failure] : [],
    );
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) {
      expect(f.message).toBe('Encoded failure');
      const [attrs] = await new EncryptionCodec(ringA).decode([f.encodedAttributes!]);
      expect(defaultPayloadConverter.fromPayload<{ message: string }>(attrs!).message).toContain(SENTINEL);
    }
    // The run's input as the server holds it is ciphertext naming key A.
    const input = events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    expect(text(input.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(input.metadata![KEY_ID_METADATA])).toBe(ringA.newest.id);

    const stored = serverBytes();
    expect(stored).toContain(CONTROL);
    expect(stored).not.toContain(SENTINEL);
  });

  it('braid report reads an encrypted run through the keys: the tool error and the model call it priced', async () => {
    const report = (ring: KeyRing | undefined) =>
      fetchRun(clientOf(ring), encryptedRun).then((run) => analyzeRun(run, { now: Date.now() }));
    const tool = (r: RunReport) => r.spans.find((sp) => sp.error?.includes('vault'));
    // Through the keys: the failure's own message (encoded in history) and the model's usage from its result.
    const decoded = await report(ringA);
    expect(tool(decoded)?.error).toContain(SENTINEL);
    expect(decoded.spans.some((sp) => (sp.usage?.outputTokens ?? 0) > 0)).toBe(true);
    // Without them: one line naming the key the run was written with, not a report of ciphertext.
    await expect(report(undefined)).rejects.toThrow(new RegExp(ringA.newest.id));
  });

  it('a client with another key fails with one line naming the key; so does the CLI', async () => {
    const err = await clientOf(ringB)
      .workflow.getHandle(encryptedRun)
      .result()
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(PayloadDecryptError);
    expect((err as Error).message).toMatch(new RegExp(`encrypted with key ${ringA.newest.id}.* does not hold`));
    // `braid watch` names the run it follows, then fails with the error line.
    const oneError = (r: Run, pattern: RegExp) => {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([`run ${encryptedRun}`, expect.stringMatching(/^braid: /)]);
      expect(r.stderr).toMatch(pattern);
    };
    oneError(
      await braid(['watch', encryptedRun], { TEMPORAL_ADDRESS: server.address, BRAID_ENCRYPTION_KEY: B }),
      new RegExp(`encrypted with key ${ringA.newest.id}`),
    );
    oneError(
      await braid(['watch', encryptedRun], { TEMPORAL_ADDRESS: server.address }),
      /this process has no key: set BRAID_ENCRYPTION_KEY/,
    );
  });

  it('a worker with another key fails the workflow task with one line naming the key, and the run waits', async () => {
    const handle = await ask(clientOf(ringB), encryptedA, 'What is 2 + 2?');
    let failure: { message?: string | null; encodedAttributes?: Payload | null } | undefined;
    for (let i = 0; i < 100 && !failure; i++) {
      const events = (await handle.fetchHistory()).events ?? [];
      failure = events.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes?.failure ?? undefined;
      if (!failure) await new Promise((r) => setTimeout(r, 200));
    }
    expect(failure).toBeDefined();
    // The worker encrypts its own failure report with its key (A).
    const [attrs] = await new EncryptionCodec(ringA).decode([failure!.encodedAttributes!]);
    const message = defaultPayloadConverter.fromPayload<{ message: string }>(attrs!).message;
    expect(message).toMatch(
      new RegExp(`encrypted with key ${ringB.newest.id}, which this process's key ring \\(${ringA.newest.id}\\) does not hold`),
    );
    expect(message.split('\n')).toHaveLength(1);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await handle.terminate('test done');
  });

  it('braid summarize keeps its documents and results encrypted in the blob store', async () => {
    const doc = path.join(dir, 'report.md');
    fs.writeFileSync(doc, `# Report\n\nThe project ${SENTINEL} ships in March. It needs two more engineers.\n`.repeat(40));
    const env = {
      TEMPORAL_ADDRESS: server.address,
      BRAID_TASK_QUEUE: encryptedA.taskQueue,
      BRAID_BLOB_DIR: path.join(dir, 'blobs'),
      BRAID_ENCRYPTION_KEY: A,
    };
    const r = await braid(['summarize', doc, '--task', 'When does it ship?', '--chunk-tokens', '200', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const files = filesUnder(path.join(dir, 'blobs'));
    expect(files.length).toBeGreaterThan(2);
    for (const f of files) expect(fs.readFileSync(f).toString('latin1')).not.toContain(SENTINEL);
    expect(serverBytes()).not.toContain(SENTINEL);
  });

  it('after rotation the old key still decrypts and new payloads use the newest key', async () => {
    const client = clientOf(ringBA);
    expect(((await client.workflow.getHandle(encryptedRun).result()) as AgentResult).answer.length).toBeGreaterThan(0);
    const handle = await ask(client, rotated, 'What is 3 + 3?');
    await handle.result();
    const events = (await handle.fetchHistory()).events ?? [];
    const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes)!.workflowExecutionCompletedEventAttributes!;
    expect(text(completed.result!.payloads![0]!.metadata![KEY_ID_METADATA])).toBe(ringB.newest.id);
    // A client that only knows the old key can no longer read it.
    await expect(clientOf(ringA).workflow.getHandle(handle.workflowId).result()).rejects.toThrow(/does not hold/);
  });

  it('a run written before encryption was turned on still reads', async () => {
    const result = (await clientOf(ringBA).workflow.getHandle(plainRun).result()) as AgentResult;
    expect(result.answer.length).toBeGreaterThan(0);
  });
});
