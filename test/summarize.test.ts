/**
 * Document map-reduce on the real Temporal server with the simulator as the model: results,
 * tolerated and intolerable failures, the count assertions, Temporal's limits on a 2,000-chunk
 * run (read back from the server), blob references instead of payloads, same-input-same-run,
 * continue-as-new and cancellation.
 */
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSummarizeActivities } from '../src/activities/summarize';
import { FsBlobStore, getJson, putJson } from '../src/blobs/store';
import { createLlmActivities } from '../src/activities/llm';
import {
  SUMMARIZE_WORKFLOW,
  summarizeProgressQuery,
  type CorpusManifest,
  type PartialResult,
  type SummarizeInput,
} from '../src/shared/summarize';
import type { Simulator } from '../src/simulator';
import { mergeSources, sentenceSpans } from '../src/summarize/citations';
import { buildCorpus } from '../src/summarize/corpus';
import { treeStats } from '../src/summarize/tree-stats';
import { ToolRegistry } from '../src/tools';
import type { summarizeCorpus } from '../src/workflows';
import { connect, simulatedModel, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

let h: Harness;
let sim: Simulator;
let worker: TestWorker;
let blobs: FsBlobStore;
const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-blobs-'));

beforeAll(async () => {
  h = await connect();
  sim = await startSimulator({ latency: { ttftMs: 5, perTokenMs: 0 } });
  blobs = new FsBlobStore(blobDir);
  // 200 calls in flight on two cores: give streams a realistic idle timeout, not the harness's 1.5 s.
  worker = await startWorker(h, new ToolRegistry(), sim, { BRAID_BLOB_DIR: blobDir, BRAID_STREAM_IDLE_TIMEOUT_MS: '20000' });
});

afterAll(async () => {
  await worker?.shutdown();
  await sim?.close();
  await h?.close();
  fs.rmSync(blobDir, { recursive: true, force: true });
});

/** The chunks each synthetic corpus was made of, by tag: what its citations may point at. */
const written = new Map<string, { source: string; start: number; text: string }[]>();

/** A synthetic corpus of n chunks over `files` sources, written straight to the blob store. */
async function corpus(
  n: number,
  tag: string,
  files = 3,
  poison: number[] = [],
): Promise<Pick<SummarizeInput, 'manifestRef' | 'chunkCount' | 'sourceCount'>> {
  const chunks: CorpusManifest['chunks'] = [];
  written.set(tag, []);
  for (let i = 0; i < n; i++) {
    const text = `Section ${i} of ${tag}. Revenue grew in region ${i % 7}; the team shipped feature ${i}.${poison.includes(i) ? ' POISON-' + tag : ''}`;
    const source = `doc-${i % files}.md`;
    const start = Math.floor(i / files) * 200;
    written.get(tag)!.push({ source, start, text });
    chunks.push({
      id: `${i % files}:${Math.floor(i / files)}`,
      source,
      start,
      end: start + text.length,
      tokens: Math.ceil(text.length / 4),
      ref: await blobs.put(text),
    });
  }
  const manifest: CorpusManifest = {
    version: 1,
    chunks,
    sources: Array.from({ length: files }, (_, i) => ({ path: `doc-${i}.md`, sha256: 'x', chars: 1 })),
  };
  return { manifestRef: await putJson(blobs, manifest), chunkCount: n, sourceCount: files };
}

const start = (input: SummarizeInput, id = `mr-${Math.random().toString(36).slice(2)}`) =>
  h.client.workflow.start<typeof summarizeCorpus>(SUMMARIZE_WORKFLOW, { taskQueue: worker.taskQueue, workflowId: id, args: [input] });

const base = { task: 'Summarise the growth story.', concurrency: 16, group: 10, tolerate: 0, badFiles: [] };

describe('map-reduce', () => {
  it('maps every chunk, reduces in levels of 10, and cites whole sentences behind the claims it kept', async () => {
    const c = await corpus(25, 'small');
    const handle = await start({ ...base, ...c });
    const r = await handle.result();
    expect(r.complete).toBe(true);
    expect(r.missing).toEqual([]);
    expect(r.chunks).toBe(25);
    expect(r.reduceLevels).toBe(2); // 25 → 3 groups → 1
    expect(r.phases.map((p) => p.name)).toEqual(['map', 'reduce level 1', 'final reduce (level 2)']);
    // Every claim is in the answer with its number, and rests on whole sentences of a chunk it was drawn from.
    expect(r.claims.length).toBeGreaterThan(0);
    const chunks = written.get('small')!;
    r.claims.forEach((claim, i) => {
      expect(r.answer).toContain(`${claim.text} [${i + 1}]`);
      for (const { source, ranges } of claim.sources)
        for (const [a, b] of ranges) {
          const chunk = chunks.find((x) => x.source === source && x.start <= a && b <= x.start + x.text.length)!;
          expect(chunk).toBeDefined();
          const quoted = chunk.text.slice(a - chunk.start, b - chunk.start);
          expect(claim.text).toContain(quoted);
          expect(sentenceSpans(chunk.text).map(([x, y]) => chunk.text.slice(x, y))).toContain(quoted);
        }
    });
    expect(r.citations).toEqual(mergeSources(r.claims.flatMap((x) => x.sources)));
    expect(r.relevantChunks).toBe(25); // a plain "summarise" finds something in every chunk
    expect(r.citationChecks.rejected).toBe(0);
    expect(r.citationChecks.returned).toBe(r.citationChecks.aligned);
    expect(r.usage.outputTokens).toBeGreaterThan(0);
    // Leaves reported progress to the root as they went, in batches.
    const signals = (await handle.fetchHistory()).events!.filter((e) => e.workflowExecutionSignaledEventAttributes);
    expect(signals.length).toBeGreaterThan(1);
    expect(signals.length).toBeLessThan(25 + 3);
    const p = await handle.query(summarizeProgressQuery);
    expect(p).toMatchObject({ phase: 'done', chunks: { total: 25, done: 25, failed: 0 } });
  });

  it('completes a single-chunk corpus with one final reduce', async () => {
    const r = await (await start({ ...base, ...(await corpus(1, 'one')) })).result();
    expect(r.reduceLevels).toBe(1);
    expect(r.complete).toBe(true);
  });

  describe('citations', () => {
    // A bundled corpus where only some documents address the task, and the sentences that do are listed.
    const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'citations-relevant.json'), 'utf8')) as {
      task: string;
      relevant: Record<string, string[]>;
    };
    const copies: string[] = [];
    afterAll(() => copies.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
    /** The corpus copied under directories whose names must never show up in an answer. */
    async function fixtureCorpus() {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-cite-'));
      copies.push(root);
      const dir = path.join(root, 'quokka-archive', 'vault');
      fs.cpSync(path.join(__dirname, 'fixtures', 'citations-corpus'), dir, { recursive: true });
      const c = await buildCorpus([dir], blobs, { maxTokens: 100 });
      return { dir, input: { manifestRef: c.manifestRef, chunkCount: c.chunkCount, sourceCount: c.sourceCount } };
    }
    const knownRanges = (file: string, text: string): [number, number][] =>
      (fixture.relevant[path.basename(file)] ?? []).map((sentence) => {
        const at = text.indexOf(sentence);
        expect(at, sentence).toBeGreaterThanOrEqual(0);
        return [at, at + sentence.length];
      });

    it('cites the relevant sentences of the documents the task addresses, nothing of the others, and no file path', async () => {
      const { dir, input } = await fixtureCorpus();
      const r = await (await start({ ...base, ...input, task: fixture.task, group: 3 })).result();
      expect(r.complete).toBe(true);
      expect(r.citations.map((c) => path.basename(c.source)).sort()).toEqual(Object.keys(fixture.relevant).sort());
      for (const { source, ranges } of r.citations) {
        const text = fs.readFileSync(source, 'utf8');
        const known = knownRanges(source, text);
        for (const [a, b] of ranges) {
          // A cited range is a run of known relevant sentences: it starts and ends on one, and every
          // character in it that is not whitespace belongs to one.
          expect(known.map(([x]) => x)).toContain(a);
          expect(known.map(([, y]) => y)).toContain(b);
          for (let i = a; i < b; i++) if (/\S/.test(text[i]!)) expect(known.some(([x, y]) => x <= i && i < y)).toBe(true);
        }
      }
      // Each claim quotes what it cites (the simulator is extractive), and the answer numbers them.
      r.claims.forEach((claim, i) => {
        expect(r.answer).toContain(`[${i + 1}]`);
        for (const { source, ranges } of claim.sources)
          for (const [a, b] of ranges) expect(claim.text).toContain(fs.readFileSync(source, 'utf8').slice(a, b));
      });
      expect(`${r.answer} ${r.claims.map((c) => c.text).join(' ')}`).not.toMatch(/quokka|vault|braid-cite|tmp|\.md\b|\.txt\b/);
      // The map found exactly the chunks that hold a relevant sentence.
      const manifest = await getJson<CorpusManifest>(blobs, input.manifestRef);
      const relevantChunks = manifest.chunks.filter((c) => {
        const text = fs.readFileSync(c.source, 'utf8');
        return knownRanges(c.source, text).some(([a, b]) => c.start <= a && b <= c.end);
      });
      expect(r.relevantChunks).toBe(relevantChunks.length);
      expect(r.relevantChunks).toBeLessThan(r.chunks);
      expect(r.citationChecks).toMatchObject({ rejected: 0, widened: 0, uncited: 0 });
      expect(r.citationChecks.returned).toBeGreaterThan(0);
      expect(dir).toContain('quokka-archive');
    });

    it('says so when nothing addresses the task: no citations, and no reduce calls for chunks with nothing to say', async () => {
      const { input } = await fixtureCorpus();
      sim.clearLedger();
      const r = await (await start({ ...base, ...input, task: 'What does the corpus say about volcanic eruptions?', group: 3 })).result();
      expect(r.citations).toEqual([]);
      expect(r.claims).toEqual([]);
      expect(r.relevantChunks).toBe(0);
      expect(r.answer).toMatch(/^Nothing in the corpus bears on the task/);
      expect(sim.ledger().filter((e) => e.status === 200)).toHaveLength(input.chunkCount);
    });
  });

  describe('tolerated failures', () => {
    it('within --tolerate: completes, marked incomplete, naming the missing chunk and why', async () => {
      sim.configure({ faults: [{ kind: 'status', status: 400, match: { contains: 'POISON-tol' } }] });
      const c = await corpus(20, 'tol', 2, [7]);
      const r = await (await start({ ...base, ...c, tolerate: 10 })).result();
      sim.configure({ faults: [] });
      expect(r.complete).toBe(false);
      expect(r.missing).toHaveLength(1);
      expect(r.missing[0]).toMatchObject({ chunkId: '1:3', source: 'doc-1.md' });
      expect(r.missing[0]!.reason).toMatch(/LlmBadRequest/);
      expect(r.citations.flatMap((s) => s.ranges).length).toBeGreaterThan(0);
    });

    it('beyond --tolerate: fails, listing the missing chunks', async () => {
      sim.configure({ faults: [{ kind: 'status', status: 400, match: { contains: 'POISON-intol' } }] });
      const c = await corpus(20, 'intol', 2, [3, 4]);
      const err = await (await start({ ...base, ...c, tolerate: 5 })).result().catch((e: unknown) => e);
      sim.configure({ faults: [] });
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
      expect(cause.type).toBe('TooManyFailures');
      expect(cause.message).toMatch(/2 of 20 chunks failed \(10\.0%, tolerated 5%\)/);
      expect(cause.message).toContain('1:1');
      expect(cause.message).toContain('0:2');
    });
  });

  it('reads results written before Braid checked citations as resting on their whole chunks, so running jobs finish', async () => {
    const env = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR', () => {}) });
    const llm = createLlmActivities({
      claude: simulatedModel(sim).claude,
      models: { fast: 'claude-haiku-4-5', capable: 'claude-sonnet-4-6' },
      maxTokens: 1000,
      simulated: true,
      registry: new ToolRegistry(),
      requestTimeoutMs: 10_000,
      streamIdleTimeoutMs: 5000,
    });
    const acts = createSummarizeActivities({ blobs, llmTurn: (req) => env().run(llm.llmTurn, req) });
    const before = (summary: string, source: string, end: number) =>
      putJson(blobs, {
        kind: 'map',
        level: 0,
        summary,
        points: [],
        chunks: 1,
        chunkIds: [source],
        sources: [{ source, ranges: [[0, end]] }],
      });
    const refs = [
      await before('Returns are accepted within 30 days of delivery.', 'returns.md', 400),
      await before('Not relevant to the task: this part covers the canteen.', 'canteen.md', 300),
    ];
    const levelRef = await putJson(blobs, { refs });
    const task = 'What does the handbook say about returns?';
    const out = (await env().run(acts.reduceGroup, { levelRef, start: 0, count: 2, level: 1, final: true, task, expectChunks: 2 })) as {
      ref: string;
    };
    const r = await getJson<PartialResult>(blobs, out.ref);
    expect(r.claims).toEqual([
      { text: 'Returns are accepted within 30 days of delivery.', sources: [{ source: 'returns.md', ranges: [[0, 400]] }] },
    ]);
    expect(r.relevantChunks).toBe(1);
    expect(r.summary).toBe('Returns are accepted within 30 days of delivery. [1]');
  });

  describe('count assertions', () => {
    const env = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR', () => {}) });
    const acts = () => createSummarizeActivities({ blobs, llmTurn: () => Promise.reject(new Error('no model call expected')) });

    it('a reduce group refuses fewer results than its plan expects', async () => {
      const levelRef = await putJson(blobs, { refs: ['sha256:' + 'a'.repeat(64)] });
      const err = await env()
        .run(acts().reduceGroup, { levelRef, start: 0, count: 3, level: 1, final: false, task: 't' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect((err as ApplicationFailure).type).toBe('IncompleteInput');
      expect((err as ApplicationFailure).nonRetryable).toBe(true);
    });

    it('the final reduce refuses results that cover fewer chunks than succeeded', async () => {
      const part = await putJson(blobs, { kind: 'reduce', level: 1, summary: 's', points: [], chunks: 9, chunkIds: [], sources: [] });
      const levelRef = await putJson(blobs, { refs: [part] });
      const err = await env()
        .run(acts().reduceGroup, { levelRef, start: 0, count: 1, level: 2, final: true, task: 't', expectChunks: 10 })
        .catch((e: unknown) => e);
      expect((err as ApplicationFailure).message).toMatch(/covers 9 chunk results, expected 10/);
    });

    it('assembling a phase refuses a gap in the results', async () => {
      const p = await putJson(blobs, {
        start: 0,
        end: 2,
        entries: [
          { ok: true, ref: 'x' },
          { ok: true, ref: 'y' },
        ],
      });
      const err = await env()
        .run(acts().assembleLevel, { parts: [{ start: 0, end: 2, ref: p }], count: 3 })
        .catch((e: unknown) => e);
      expect((err as ApplicationFailure).message).toMatch(/returned 2 of 3 results/);
    });
  });

  it('keeps a 2,000-chunk run inside Temporal limits, with only blob references in payloads', async () => {
    const c = await corpus(2000, 'big', 5);
    const handle = await start({ ...base, ...c, concurrency: 200 });
    const r = await handle.result();
    expect(r.complete).toBe(true);
    expect(r.reduceLevels).toBe(4); // 2000 results → 200 → 20 → 2 → 1
    const stats = await treeStats(h.client, handle.workflowId, { keepText: true });
    console.log(
      `2,000 chunks: ${stats.workflows} workflows, largest history ${stats.maxEvents} events, most pending ${stats.maxPending}, largest payload ${stats.maxPayloadBytes} bytes`,
    );
    expect(stats.workflows).toBeGreaterThan(8);
    expect(stats.maxEvents).toBeLessThanOrEqual(10_240);
    // At most 50 in flight per workflow (reduce level 1's 200 groups ran in one workflow before),
    // so a burst of results stays within a cluster's default of 100 buffered events.
    expect(stats.maxPending).toBeLessThanOrEqual(50);
    expect(stats.maxPending).toBeGreaterThan(1);
    expect(stats.maxPayloadBytes).toBeLessThan(256 * 1024);
    // Chunk texts never enter history: the only chunk words there are the sentences the final answer quotes.
    let rest = stats.text;
    for (const said of [r.answer, ...r.claims.map((c) => c.text)]) rest = rest.split(JSON.stringify(said).slice(1, -1)).join('');
    expect(r.answer).toContain('Revenue grew in region');
    expect(rest).not.toContain('Revenue grew in region');
    expect(stats.text).toContain('sha256:');
  }, 180_000);

  it('rejects tree options that cannot converge as InvalidInput, before starting any child', async () => {
    const c = await corpus(12, 'tree');
    for (const [tree, message] of [
      [{ leafSize: 2, fanout: 1 }, 'tree.fanout must be a whole number ≥ 2'],
      [{ maxPending: 0 }, 'tree.maxPending must be a whole number ≥ 1'],
      [{ leafSize: 2.5 }, 'tree.leafSize must be a whole number ≥ 1'],
    ] as const) {
      const handle = await start({ ...base, ...c, tree });
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
      expect(cause.type).toBe('InvalidInput');
      expect(cause.message).toBe(message);
      const child = await h.client.workflow
        .getHandle(`${handle.workflowId}/map-0`)
        .describe()
        .catch((e: unknown) => e);
      expect(child).toBeInstanceOf(WorkflowNotFoundError);
    }
  });

  it('continues as new between phases when history grows long, and still completes', async () => {
    const handle = await start({ ...base, ...(await corpus(30, 'can')), continueAsNewAfterEvents: 1 });
    const r = await handle.result();
    expect(r.complete).toBe(true);
    expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
  });

  it('cancels cleanly, children included', async () => {
    sim.configure({ latency: { ttftMs: 3000, perTokenMs: 0 } });
    const handle = await start({ ...base, ...(await corpus(40, 'cancel')) });
    await new Promise((r) => setTimeout(r, 1500));
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    sim.configure({ latency: { ttftMs: 5, perTokenMs: 0 } });
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    const child = await h.client.workflow.getHandle(`${handle.workflowId}/map-0`).describe();
    expect(['CANCELLED', 'TERMINATED']).toContain(child.status.name);
  });
});
