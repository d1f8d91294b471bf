/**
 * Answers streamed to the user (issue #12 §2): the model activity writes the text it streams to
 * Redis streams, outside the workflow's history; a reader on another connection (another host, as
 * far as it can tell) sees it while the run goes on, can resume from any point, and a retried
 * attempt is told apart from the broken one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASK_WORKFLOW, type AgentResult } from '../src/shared/ask';
import type { AnswerChunk } from '../src/shared/stream';
import type { Simulator } from '../src/simulator';
import { RedisAnswerStreams } from '../src/store/answer-stream';
import { StreamPrinter } from '../src/cli/stream';
import { ToolRegistry } from '../src/tools';
import type { toolAgent } from '../src/workflows';
import { startRedis, type RedisServer } from './fixtures/flow-redis';
import { connect, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

let redis: RedisServer;
let h: Harness;
let sim: Simulator;
let worker: TestWorker;
let writer: RedisAnswerStreams;

beforeAll(async () => {
  [redis, h, sim] = await Promise.all([startRedis(), connect(), startSimulator({ latency: { ttftMs: 20, perTokenMs: 15 } })]);
  writer = new RedisAnswerStreams(redis.url);
  worker = await startWorker(h, new ToolRegistry(), sim, {}, { answerStreams: writer });
});

afterAll(async () => {
  await worker?.shutdown();
  await writer?.close();
  await sim?.close();
  await h?.close();
  await redis?.close();
});

/** Reads a run's stream until its `end` chunk for `branch`, noting the time of the first text. */
async function readUntilEnd(reader: RedisAnswerStreams, workflowId: string, branch: string) {
  const chunks: AnswerChunk[] = [];
  let cursor = '0';
  let firstTextAt: number | undefined;
  for (let i = 0; i < 200; i++) {
    for (const e of await reader.read(workflowId, cursor, 200)) {
      cursor = e.cursor;
      chunks.push(e.chunk);
      if (e.chunk.kind === 'text') firstTextAt ??= Date.now();
    }
    if (chunks.some((c) => c.kind === 'end' && c.branch === branch)) break;
  }
  return { chunks, firstTextAt };
}

const textOf = (chunks: AnswerChunk[], branch: string, attempt: number) =>
  chunks
    .filter((c) => c.branch === branch && c.attempt === attempt && c.kind === 'text')
    .map((c) => (c.kind === 'text' ? c.text : ''))
    .join('');

describe('answer streams', () => {
  it('streams the answer through Redis while the run goes on; a reader can resume from any point', async () => {
    const workflowId = `stream-${Math.random().toString(36).slice(2)}`;
    const handle = await h.client.workflow.start<typeof toolAgent>(ASK_WORKFLOW, {
      taskQueue: worker.taskQueue,
      workflowId,
      args: [{ question: 'Explain how tides work.\n#sim answer_tokens=150' }],
    });
    const reader = new RedisAnswerStreams(redis.url);
    try {
      const seen = await readUntilEnd(reader, workflowId, 'turn-1');
      const r: AgentResult = await handle.result();
      const closedAt = (await handle.describe()).closeTime!.getTime();
      // Text arrived before the run was over, and the streamed text is the answer.
      expect(seen.firstTextAt).toBeLessThan(closedAt);
      expect(seen.chunks[0]).toMatchObject({ branch: 'turn-1', attempt: 1, kind: 'start' });
      expect(textOf(seen.chunks, 'turn-1', 1)).toBe(r.answer);
      // Resuming after the 10th entry gives exactly the rest.
      const all = await reader.read(workflowId, '0', 10);
      const rest = await reader.read(workflowId, all[9]!.cursor, 10);
      expect(rest.map((e) => e.chunk)).toEqual(all.slice(10).map((e) => e.chunk));
      // None of it went into the run's history except the answer in the result: no signal, no marker carries chunks.
      const events = (await handle.fetchHistory()).events ?? [];
      expect(
        events.filter((e) => e.workflowExecutionSignaledEventAttributes || e.markerRecordedEventAttributes?.markerName === 'stream'),
      ).toEqual([]);
    } finally {
      await reader.close();
    }
  });

  it('marks a retried attempt so a reader drops what the broken one wrote', async () => {
    const marker = `marker-stream-reset-${Math.random().toString(36).slice(2)}`;
    sim.configure({ faults: [{ kind: 'reset', times: 1, match: { contains: marker } }] });
    const workflowId = `stream-retry-${Math.random().toString(36).slice(2)}`;
    const reader = new RedisAnswerStreams(redis.url);
    try {
      const handle = await h.client.workflow.start<typeof toolAgent>(ASK_WORKFLOW, {
        taskQueue: worker.taskQueue,
        workflowId,
        args: [{ question: `Explain how tides work (${marker}).\n#sim answer_tokens=120` }],
      });
      const r: AgentResult = await handle.result();
      const { chunks } = await readUntilEnd(reader, workflowId, 'turn-1');
      const broken = textOf(chunks, 'turn-1', 1);
      expect(broken.length).toBeGreaterThan(0);
      expect(broken.length).toBeLessThan(r.answer.length);
      expect(chunks.some((c) => c.attempt === 1 && c.kind === 'end')).toBe(false);
      expect(textOf(chunks, 'turn-1', 2)).toBe(r.answer);
      // The CLI's printer shows the retry and then the kept attempt's text.
      const lines: string[] = [];
      const printer = new StreamPrinter((l) => lines.push(l));
      for (const c of chunks) printer.take(c);
      printer.flush();
      expect(lines.some((l) => l.includes('attempt 2 writes this again'))).toBe(true);
      expect(lines.join('\n').endsWith(r.answer)).toBe(true);
    } finally {
      sim.configure({ faults: [] });
      await reader.close();
    }
  });
});

describe('the CLI stream printer', () => {
  it('labels lines by branch once several branches write, and drops a late chunk of an abandoned attempt', () => {
    const lines: string[] = [];
    const p = new StreamPrinter((l) => lines.push(l));
    p.take({ branch: 'turn-1', attempt: 1, kind: 'start' });
    p.take({ branch: 'turn-1', attempt: 1, kind: 'text', text: 'one\ntw' });
    p.take({ branch: 'turn-1', attempt: 1, kind: 'text', text: 'o' });
    p.take({ branch: 'turn-1', attempt: 1, kind: 'end' });
    p.take({ branch: 'member-b', attempt: 2, kind: 'start' });
    p.take({ branch: 'member-b', attempt: 1, kind: 'text', text: 'stale\n' });
    p.take({ branch: 'member-b', attempt: 2, kind: 'text', text: 'fresh\n' });
    expect(lines.map((l) => l.replace(/\x1b\[\d+m/g, ''))).toEqual(['one', 'two', '[member-b] fresh']);
  });
});
