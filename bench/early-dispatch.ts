/**
 * `npm run bench -- early-dispatch`: one `braid ask` turn of four tool calls that the model writes
 * block by block, about `--block-ms` per tool_use block (the simulator paces its stream per token),
 * answered with and without early tool dispatch in one run. The tools' latencies differ (default:
 * the first written is the slowest), which is where starting each one at its `content_block_stop`
 * pays: without early dispatch every tool waits for the whole turn.
 *
 * The pacing is calibrated first: one early-dispatch run at a known time per token, whose
 * announcements (history signal times) give the time per block, from which the time per token for
 * `--block-ms` follows. Reported (`--json`): `earlyMs` and `lateMs`, each run's time to answer
 * (workflow start to close in history, median over `--runs`), and `idealMs`, what an early run
 * would take with zero dispatch cost: the early run's time to its first model call, plus the
 * latest of (block i complete + tool i latency), plus its final model call — from the same history.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import Anthropic from '@anthropic-ai/sdk';
import type { WorkflowHandle } from '@temporalio/client';
import { readConfig } from '../src/config';
import { ASK_WORKFLOW, type AgentInput } from '../src/shared/ask';
import { defineTool, ToolRegistry } from '../src/tools';
import type { toolAgent } from '../src/workflows';
import { createBraidWorker } from '../src/worker';
import { benchTemporal, loadAverage, median, startSimulatorProcess } from './harness';
import { plotFile, writePlot } from './plot';

export interface EarlyDispatchBenchOptions {
  runs: number;
  blockMs: number;
  toolsMs: number[];
  json: boolean;
  /** Also draw the figures as an SVG (`--plot [file]`). */
  plot?: string | true;
}

const CALIBRATION_MS_PER_TOKEN = 40;
const TTFT_MS = 100;

/** What one run's history says: time to answer, and the parts the ideal is made of. */
interface Timeline {
  totalMs: number;
  firstCallAtMs: number;
  blockDoneMs: number[];
  lastCallMs: number;
}

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number =>
  Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

async function timeline(handle: WorkflowHandle): Promise<Timeline> {
  const events = (await handle.fetchHistory()).events ?? [];
  const start = ms(events[0]!.eventTime);
  const end = ms(events.at(-1)!.eventTime);
  const llm: { scheduled: number; completed?: number }[] = [];
  const byId = new Map<number, (typeof llm)[number]>();
  const signals: number[] = [];
  for (const e of events) {
    const at = ms(e.eventTime);
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'llmTurn') {
      const call = { scheduled: at };
      llm.push(call);
      byId.set(Number(e.eventId), call);
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const call = byId.get(Number(done.scheduledEventId));
      if (call) call.completed = at;
    }
    if (e.workflowExecutionSignaledEventAttributes?.signalName === 'braid.toolBlockReady') signals.push(at);
  }
  const first = llm[0]!;
  const last = llm.at(-1)!;
  return {
    totalMs: end - start,
    firstCallAtMs: first.scheduled - start,
    blockDoneMs: signals.map((s) => s - first.scheduled),
    lastCallMs: (last.completed ?? end) - last.scheduled,
  };
}

export async function earlyDispatchBench(o: EarlyDispatchBenchOptions): Promise<void> {
  const log = (l: string) => !o.json && process.stderr.write(`${l}\n`);
  const names = o.toolsMs.map((_, i) => `lookup_${i + 1}`);
  const registry = new ToolRegistry().register(
    ...o.toolsMs.map((latency, i) =>
      defineTool({
        name: names[i]!,
        description: `Looks something up (${latency} ms).`,
        // A query the model writes out in full, so most of the turn's tokens are in its tool_use blocks.
        input: z.object({ query: z.string().describe('what to look up, in full') }),
        handler: async (_input, ctx) => {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, latency);
            ctx.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
          });
          return { found: names[i], waitedMs: latency };
        },
      }),
    ),
  );
  const sim = await startSimulatorProcess({ latency: { ttftMs: TTFT_MS, perTokenMs: CALIBRATION_MS_PER_TOKEN } });
  const pace = (perTokenMs: number) =>
    fetch(`${sim.url}/_sim/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latency: { ttftMs: TTFT_MS, perTokenMs } }),
    }).then((r) => {
      if (!r.ok) throw new Error(`the simulator refused the pacing: HTTP ${r.status}`);
    });
  const temporal = await benchTemporal(log);
  const cfg = readConfig({ BRAID_TASK_QUEUE: `bench-early-${randomUUID()}` });
  const claude = new Anthropic({ apiKey: 'braid-simulator', baseURL: sim.url, maxRetries: 0, timeout: 120_000 });
  const worker = await createBraidWorker({
    connection: temporal.native,
    cfg,
    registry,
    model: { claude, simulated: true, endpoint: sim.url, close: async () => {} },
  });
  const running = worker.run();
  const ask = async (earlyDispatch: boolean, n: number): Promise<Timeline> => {
    const input: AgentInput = {
      // A different question each run, so no run is answered from anything an earlier one left.
      question: `Look up every published record about the seasonal sales figures of the northern warehouse district during the winter quarter including returns and exchanges (run ${n})\n#sim answer_tokens=20\n#sim tools=${names.join(',')}`,
      tools: names,
      earlyDispatch,
    };
    const handle = await temporal.client.workflow.start<typeof toolAgent>(ASK_WORKFLOW, {
      taskQueue: cfg.taskQueue,
      workflowId: `bench-early-${earlyDispatch ? 'early' : 'late'}-${randomUUID()}`,
      args: [input],
    });
    await handle.result();
    return timeline(handle);
  };
  const early: Timeline[] = [];
  const late: Timeline[] = [];
  let perTokenMs = CALIBRATION_MS_PER_TOKEN;
  const load = [loadAverage()];
  try {
    const cal = await ask(true, 0);
    const gaps = cal.blockDoneMs.slice(1).map((t, i) => t - cal.blockDoneMs[i]!);
    if (gaps.length === 0) throw new Error('calibration: the model announced fewer than two tool calls');
    perTokenMs = +((CALIBRATION_MS_PER_TOKEN * o.blockMs) / median(gaps)).toFixed(2);
    await pace(perTokenMs);
    log(`simulator ${sim.url}: ${perTokenMs} ms per token (≈ ${o.blockMs} ms per tool_use block); tools ${o.toolsMs.join(', ')} ms`);
    for (let r = 1; r <= o.runs; r++) {
      late.push(await ask(false, r));
      early.push(await ask(true, r));
      log(`run ${r}: late ${late.at(-1)!.totalMs} ms, early ${early.at(-1)!.totalMs} ms`);
    }
    load.push(loadAverage());
  } finally {
    await worker.shutdown();
    await running;
    await temporal.close();
    await sim.close();
  }
  const ideal = early.map(
    (t) => t.firstCallAtMs + Math.max(...o.toolsMs.map((l, i) => (t.blockDoneMs[i] ?? t.blockDoneMs.at(-1)!) + l)) + t.lastCallMs,
  );
  const blocks = early.flatMap((t) => t.blockDoneMs.slice(1).map((b, i) => b - t.blockDoneMs[i]!));
  const out = {
    scenario: 'early-dispatch',
    runs: o.runs,
    toolsMs: o.toolsMs,
    perTokenMs,
    blockMs: Math.round(median(blocks)),
    earlyMs: Math.round(median(early.map((t) => t.totalMs))),
    lateMs: Math.round(median(late.map((t) => t.totalMs))),
    idealMs: Math.round(median(ideal)),
    loadAverage: Math.max(...load),
  };
  if (o.plot)
    await writePlot(plotFile('early-dispatch', o.plot), 'npm run bench -- early-dispatch', [
      {
        title: `one ask turn of ${o.toolsMs.length} tool calls, each block written in ≈ ${out.blockMs} ms: makespan, median of ${o.runs}`,
        yTitle: 'ms',
        bars: [
          { group: 'tools after the turn', series: 'makespan', value: out.lateMs },
          { group: 'tools at each block', series: 'makespan', value: out.earlyMs },
          { group: 'ideal', series: 'makespan', value: out.idealMs },
        ],
      },
    ]);
  if (o.json) return void console.log(JSON.stringify(out));
  console.log(
    `${o.toolsMs.length} tool calls, each block written in ≈ ${out.blockMs} ms: early dispatch ${out.earlyMs} ms, after the turn ${out.lateMs} ms, ideal ${out.idealMs} ms (median of ${o.runs}; load average up to ${out.loadAverage})`,
  );
}
