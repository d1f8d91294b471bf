/**
 * `npm run bench -- summarize`: N chunks (default 1,000 and 10,000), every model call taking L
 * (default 1 s; `--jitter` spreads it log-normally around that median) at the simulator, which runs
 * in a process of its own as a real API does, C calls in flight (default 200). In one run per N it
 * measures Braid's makespan (client start request → result received) through the real server, the
 * same work as a plain Promise.all + p-limit loop without Temporal, and the ideal ⌈N/C⌉·L plus
 * ⌈groups/C⌉·L per reduce level (ideal.ts); then reads every history of Braid's run back from the
 * server for the largest history and the most pending. With `--blob s3://bucket/prefix` Braid also
 * runs each N with that S3-compatible blob store (AWS_* settings from the environment) in the same
 * run, and the row gains `braidS3Ms` and `s3Overhead` (its makespan over the local store's).
 */
import Anthropic from '@anthropic-ai/sdk';
import { Client } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import Table from 'cli-table3';
import { benchTemporal, latencyDist, loadAverage, cpuSnapshot, cpuUsed, startSimulatorProcess } from './harness';
import { idealMs } from './ideal';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { toBlocks, withCacheControl } from '../src/activities/llm';
import type { ChatMessage } from '../src/shared/types';
import { MAP_SYSTEM, mapContent, REDUCE_SYSTEM, reduceContent } from '../src/prompts/summarize';
import { openBlobStore } from '../src/blobs/open';
import { FsBlobStore, putJson, type BlobStore } from '../src/blobs/store';
import { tableStyle } from '../src/cli/render';
import { readConfig } from '../src/config';
import { withBlobEncryption } from '../src/encryption/blobs';
import { encryptionConverter } from '../src/encryption/converter';
import { configuredKeyRing } from '../src/encryption/keys';
import { SUMMARIZE_WORKFLOW, type Claim, type CorpusManifest, type ManifestChunk } from '../src/shared/summarize';
import { chunkDocument, findingsDocument, readReply } from '../src/summarize/citations';
import { treeStats } from '../src/summarize/tree-stats';
import { ToolRegistry } from '../src/tools';
import type { summarizeCorpus } from '../src/workflows';
import { groupRanges, reduceLevels } from '../src/workflows/summarize-plan';
import { createBraidWorker } from '../src/worker';
import { plotFile, writePlot } from './plot';

export interface SummarizeBenchOptions {
  sizes: number[];
  latencyMs: number;
  concurrency: number;
  group: number;
  jitter: number;
  json: boolean;
  /** Also run Braid with payload and blob encryption on (a key of its own), on the same server and simulator. */
  encrypt?: boolean;
  /** An S3 blob store (s3://bucket/prefix) to run Braid with as well, against the local one. */
  blob?: string;
  /** Also draw the figures as an SVG (`--plot [file]`). */
  plot?: string | true;
}

const TASK = 'Summarise what changed in each region.';

async function plainMapReduce(
  claude: Anthropic,
  model: { fast: string; capable: string },
  chunks: { chunk: ManifestChunk; text: string }[],
  c: number,
  group: number,
): Promise<number> {
  const t0 = Date.now();
  const limit = pLimit(c);
  // The same requests and the same reading of their citations as Braid's activities, minus Temporal.
  const call = async (system: string, content: ChatMessage['content'], m: string, maxTokens: number) => {
    const messages = withCacheControl(m, system, undefined, [{ role: 'user', content }]) as Anthropic.MessageParam[];
    const msg = await claude.messages.stream({ model: m, max_tokens: maxTokens, system, messages }).finalMessage();
    return toBlocks(msg.content);
  };
  let level: Claim[][] = await Promise.all(
    chunks.map(({ chunk, text }) =>
      limit(async () => {
        const content = await call(MAP_SYSTEM, mapContent(TASK, chunk.source, text), model.fast, 700);
        return readReply(content, [chunkDocument(text, chunk.source, chunk.start)]).claims;
      }),
    ),
  );
  do {
    const groups = groupRanges(level.length, group);
    const final = groups.length === 1;
    const inputs = level;
    level = await Promise.all(
      groups.map((g) =>
        limit(async () => {
          const docs = inputs
            .slice(g.start, g.end)
            .filter((c) => c.length > 0)
            .map(findingsDocument);
          if (!docs.length) return [];
          const content = reduceContent(
            TASK,
            docs.map((d) => d.text),
            final,
          );
          return readReply(await call(REDUCE_SYSTEM, content, final ? model.capable : model.fast, final ? 1500 : 900), docs).claims;
        }),
      ),
    );
  } while (level.length > 1);
  return Date.now() - t0;
}

export async function summarizeBench(o: SummarizeBenchOptions) {
  const log = (l: string) => !o.json && process.stderr.write(`${l}\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-bench-mr-'));
  const latency = latencyDist(o.latencyMs, o.jitter);
  const sim = await startSimulatorProcess({ latency: { ttftMs: latency, perTokenMs: 0 } });
  const temporal = await benchTemporal(log);
  const native = temporal.native;
  const client = temporal.client;
  const claude = new Anthropic({ apiKey: 'braid-simulator', baseURL: sim.url, maxRetries: 0, timeout: 120_000 });
  const model = { claude, simulated: true, endpoint: sim.url, close: async () => {} };
  /** A worker on a queue of its own; with a key, its payloads, failures and blobs are encrypted; `store`: another blob store. */
  const braidSide = async (name: string, env: Record<string, string>, store?: BlobStore) => {
    const cfg = readConfig({
      BRAID_TASK_QUEUE: `bench-summarize${name}`,
      BRAID_BLOB_DIR: path.join(dir, `blobs${name}`),
      BRAID_STREAM_IDLE_TIMEOUT_MS: '60000',
      ...env,
    });
    const ring = configuredKeyRing(cfg);
    const blobs = withBlobEncryption(store ?? new FsBlobStore(cfg.blobDir), ring);
    const worker = await createBraidWorker({
      connection: native,
      cfg,
      registry: new ToolRegistry(),
      blobs,
      model,
      tuning: { maxConcurrentActivityTaskExecutions: o.concurrency + 50, maxCachedWorkflows: 1000 },
    });
    const side = {
      cfg,
      blobs,
      worker,
      running: worker.run(),
      client: new Client({ connection: client.connection, dataConverter: encryptionConverter(ring) }),
    };
    sides.push(side);
    return side;
  };
  const sides: { worker: Awaited<ReturnType<typeof createBraidWorker>>; running: Promise<void>; blobs: BlobStore }[] = [];
  // The S3 side first, so its warm-up counts against it.
  const s3 = o.blob ? await braidSide('-s3', {}, openBlobStore(readConfig({ ...process.env, BRAID_BLOB_URL: o.blob }))) : undefined;
  const plain = await braidSide('', {});
  const encrypted = o.encrypt ? await braidSide('-encrypted', { BRAID_ENCRYPTION_KEY: randomBytes(32).toString('base64') }) : undefined;
  const cfg = plain.cfg;
  const blobs = plain.blobs;

  /** One summarize run of the corpus through a side: its makespan (start request → result), result and tree. */
  const cpuNow = () => cpuSnapshot(temporal.serverPid, sim.pid);
  const braidRun = async (side: typeof plain, n: number, texts: string[]) => {
    const chunkList: ManifestChunk[] = [];
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i]!;
      chunkList.push({
        id: `0:${i}`,
        source: `corpus-${n}.md`,
        start: i * 120,
        end: i * 120 + text.length,
        tokens: Math.ceil(text.length / 4),
        ref: await side.blobs.put(text),
      });
    }
    const manifest: CorpusManifest = { version: 1, chunks: chunkList, sources: [{ path: `corpus-${n}.md`, sha256: '-', chars: n * 120 }] };
    const manifestRef = await putJson(side.blobs, manifest);
    const cpu0 = cpuNow();
    const t0 = Date.now();
    const handle = await side.client.workflow.start<typeof summarizeCorpus>(SUMMARIZE_WORKFLOW, {
      taskQueue: side.cfg.taskQueue,
      workflowId: `bench-mr-${n}-${Date.now()}`,
      args: [
        { manifestRef, chunkCount: n, sourceCount: 1, task: TASK, concurrency: o.concurrency, group: o.group, tolerate: 0, badFiles: [] },
      ],
    });
    const result = await handle.result();
    const ms = Date.now() - t0;
    const cpu1 = cpuNow();
    if (!result.complete) throw new Error(`the Braid run left ${result.missing.length} chunks out`);
    const used = cpuUsed(cpu0, cpu1, ms);
    const cpu = {
      serverCpuMs: Math.round(used.serverCpuMs),
      workerCpuMs: Math.round(used.workerCpuMs),
      simulatorCpuMs: Math.round(used.simulatorCpuMs),
      cpuShare: +used.cpuShare.toFixed(2),
    };
    return { ms, result, stats: await treeStats(side.client, handle.workflowId), cpu };
  };
  const rows = [];
  try {
    for (const n of o.sizes) {
      const chunks: { chunk: ManifestChunk; text: string }[] = [];
      for (let i = 0; i < n; i++) {
        const text = `Report ${i}: region ${i % 9} grew ${i % 13}% after the ${i % 5 ? 'spring' : 'autumn'} launch; returns fell by ${i % 4} points.`;
        chunks.push({
          text,
          chunk: {
            id: `0:${i}`,
            source: `corpus-${n}.md`,
            start: i * 120,
            end: i * 120 + text.length,
            tokens: Math.ceil(text.length / 4),
            ref: await blobs.put(text),
          },
        });
      }
      const levels = reduceLevels(n, o.group);
      const ideal = idealMs(
        [n, ...levels].map((items) => ({ items, steps: 1, c: o.concurrency })),
        latency,
      );

      log(`N=${n}: Braid…`);
      const texts = chunks.map((c) => c.text);
      let onS3: { blob: string; braidS3Ms: number } | undefined;
      if (s3 && o.blob) {
        log(`N=${n}: Braid with the S3 blob store…`);
        onS3 = { blob: o.blob, braidS3Ms: (await braidRun(s3, n, texts)).ms };
      }
      const { ms: braidMs, result, stats, cpu } = await braidRun(plain, n, texts);
      let encryptedMs: number | undefined;
      if (encrypted) {
        log(`N=${n}: Braid with encryption…`);
        encryptedMs = (await braidRun(encrypted, n, texts)).ms;
      }

      log(`N=${n}: Promise.all + p-limit(${o.concurrency})…`);
      const baselineMs = await plainMapReduce(claude, cfg.models, chunks, o.concurrency, o.group);
      rows.push({
        n,
        c: o.concurrency,
        latencyMs: o.latencyMs,
        jitter: o.jitter,
        reduceLevels: levels.length,
        idealMs: ideal,
        braidMs,
        baselineMs,
        chunksPerSecond: +((n * 1000) / braidMs).toFixed(1),
        // CPU the Braid run cost the server, this process (worker and client) and the simulator, and the share of all cores.
        ...cpu,
        maxHistoryEvents: stats.maxEvents,
        maxPending: stats.maxPending,
        workflows: stats.workflows,
        maxPayloadBytes: stats.maxPayloadBytes,
        workflowTaskFailures: stats.workflowTaskFailures,
        phases: result.phases,
        ...(encryptedMs !== undefined
          ? { encryptedMs, encryptionOverheadPct: +(((encryptedMs - braidMs) / braidMs) * 100).toFixed(1) }
          : {}),
        ...(onS3 ? { ...onS3, s3Overhead: +(onS3.braidS3Ms / braidMs).toFixed(3) } : {}),
        loadAverage: loadAverage(),
      });
      log(
        `N=${n}: Braid ${braidMs} ms (${result.phases.map((p) => `${p.name} ${p.ms} ms`).join(', ')}), ${encryptedMs !== undefined ? `encrypted ${encryptedMs} ms, ` : ''}${onS3 ? `with the S3 store ${onS3.braidS3Ms} ms, ` : ''}baseline ${baselineMs} ms, ideal ${ideal} ms`,
      );
    }
  } finally {
    for (const side of sides) await side.worker.shutdown();
    for (const side of sides) await side.running;
    for (const side of sides) side.blobs.close?.();
    await temporal.close();
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (o.plot)
    await writePlot(plotFile('mapreduce', o.plot), 'npm run bench -- mapreduce', [
      {
        title: `Map-reduce: N chunks, ${o.concurrency} calls in flight, every model call ${o.latencyMs} ms`,
        yTitle: 'ms to the summary',
        bars: rows.flatMap((r) => [
          { group: `N=${r.n}`, series: 'ideal', value: r.idealMs },
          { group: `N=${r.n}`, series: 'Braid', value: r.braidMs },
          { group: `N=${r.n}`, series: 'Promise.all + p-limit', value: r.baselineMs },
        ]),
      },
    ]);
  if (o.json) {
    for (const r of rows) console.log(JSON.stringify({ scenario: 'summarize', ...r }));
    return;
  }
  const t = new Table({
    head: [
      'N',
      'ideal',
      'Braid',
      'Braid/ideal',
      'Promise.all+limit',
      'chunks/s',
      'largest history',
      'most pending',
      'workflows',
      'workflow tasks lost',
      'CPU: server / worker / simulator',
      'cores busy',
    ],
    style: tableStyle(),
  });
  for (const r of rows) {
    t.push([
      r.n,
      `${r.idealMs} ms`,
      `${r.braidMs} ms`,
      (r.braidMs / r.idealMs).toFixed(2),
      `${r.baselineMs} ms`,
      r.chunksPerSecond,
      `${r.maxHistoryEvents} events`,
      r.maxPending,
      r.workflows,
      r.workflowTaskFailures,
      `${r.serverCpuMs} / ${r.workerCpuMs} / ${r.simulatorCpuMs} ms`,
      `${Math.round(r.cpuShare * 100)} %`,
    ]);
  }
  console.log(t.toString());
  console.log(
    `L = ${o.latencyMs} ms per model call${o.jitter ? ` (median; log-normal σ ${o.jitter}, ideal = median of simulated schedules)` : ''}, C = ${o.concurrency}, groups of ${o.group}; ideal = ⌈N/C⌉·L + Σ levels ⌈groups/C⌉·L; load average up to ${Math.max(...rows.map((r) => r.loadAverage))}`,
  );
}
