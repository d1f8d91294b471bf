/**
 * `npm run bench -- rate-limit`: N model calls (default 1,000), at most C at once (32), against a
 * simulator that allows R requests/s (20). The simulator's bucket holds a whole minute, so it is
 * drained first: the run starts where a busy fleet would be, with the provider's budget spent.
 * Braid's limiter is given the provider's figure (R·60 requests/min, no headroom) and learns the
 * rest from the `anthropic-ratelimit-*` headers and 429s. Prints T_ideal = N / R, the measured
 * makespan, the 429s the simulator sent and how many model calls needed a retry. `--compare` also
 * runs the same load with no budget configured: only the shared pause after a 429 and jittered
 * retries hold the fleet back.
 */
import Anthropic from '@anthropic-ai/sdk';
import Table from 'cli-table3';
import pLimit from 'p-limit';
import { benchTemporal } from './harness';
import { plotFile, writePlot } from './plot';
import { readConfig } from '../src/config';
import { tableStyle } from '../src/cli/render';
import { ASK_WORKFLOW, type AgentInput, type AgentResult } from '../src/shared/ask';
import { Simulator } from '../src/simulator';
import { ToolRegistry } from '../src/tools';
import { createBraidWorker } from '../src/worker';

export interface RateLimitBenchOptions {
  calls: number;
  concurrency: number;
  rps: number;
  modelMs: number;
  compare: boolean;
  json: boolean;
  /** Also draw the figures as an SVG (`--plot [file]`). */
  plot?: string | true;
}

/** Spends the simulator's request bucket until it answers 429. */
async function drain(sim: Simulator): Promise<void> {
  const claude = new Anthropic({ apiKey: 'braid-simulator', baseURL: sim.url, maxRetries: 0 });
  sim.configure({ latency: { ttftMs: 0, perTokenMs: 0 } });
  let limited = false;
  const lane = async () => {
    while (!limited) {
      await claude.messages
        .create({ model: 'claude-haiku-4-5', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] })
        .catch((e: { status?: number }) => {
          if (e.status === 429) limited = true;
        });
    }
  };
  await Promise.all(Array.from({ length: 32 }, lane));
}

export async function rateLimitBench(o: RateLimitBenchOptions): Promise<void> {
  const log = (l: string) => !o.json && process.stderr.write(`${l}\n`);
  const temporal = await benchTemporal(log, 'ERROR');
  const native = temporal.native;
  const client = temporal.client;
  const variants = o.compare ? (['braid limiter', 'no budget (shared 429 pause + jitter only)'] as const) : (['braid limiter'] as const);
  const rows: {
    variant: string;
    calls: number;
    concurrency: number;
    rps: number;
    idealMs: number;
    makespanMs: number;
    http429: number;
    callsRetried: number;
    maxAttempts: number;
  }[] = [];
  try {
    for (const variant of variants) {
      const sim = await Simulator.start({ quiet: true, rateLimits: { requestsPerMinute: o.rps * 60 } });
      await drain(sim);
      sim.configure({ latency: { ttftMs: o.modelMs, perTokenMs: 0 } });
      sim.clearLedger();
      const taskQueue = `bench-rate-${variant === 'braid limiter' ? 'on' : 'off'}`;
      const env: Record<string, string> = { BRAID_TASK_QUEUE: taskQueue, BRAID_LIMIT_MAX_WAIT_MS: '60000' };
      if (variant === 'braid limiter') env.BRAID_LLM_REQUESTS_PER_MINUTE = String(o.rps * 60);
      const claude = new Anthropic({ apiKey: 'braid-simulator', baseURL: sim.url, maxRetries: 0 });
      const worker = await createBraidWorker({
        connection: native,
        cfg: readConfig(env),
        registry: new ToolRegistry(),
        model: { claude, simulated: true, endpoint: sim.url, close: async () => {} },
      });
      const running = worker.run();
      log(`${variant}: ${o.calls} calls, ${o.concurrency} at once, simulator limit ${o.rps} requests/s (bucket drained)…`);
      const t0 = Date.now();
      try {
        const limit = pLimit(o.concurrency);
        const results = await Promise.all(
          Array.from({ length: o.calls }, (_, i) =>
            limit(() => {
              const input: AgentInput = { question: `Call ${i}: say hello.`, maxTurns: 1, role: 'fast' };
              return client.workflow.execute<(i: AgentInput) => Promise<AgentResult>>(ASK_WORKFLOW, {
                taskQueue,
                workflowId: `rate-${taskQueue}-${i}-${t0}`,
                args: [input],
              });
            }),
          ),
        );
        const makespanMs = Date.now() - t0;
        const attempts = results.map((r) => r.branches.find((b) => b.kind === 'llm')?.attempts ?? 1);
        rows.push({
          variant,
          calls: o.calls,
          concurrency: o.concurrency,
          rps: o.rps,
          idealMs: Math.round((o.calls / o.rps) * 1000),
          makespanMs,
          http429: sim.ledger().filter((e) => e.status === 429).length,
          callsRetried: attempts.filter((a) => a > 1).length,
          maxAttempts: Math.max(...attempts),
        });
        if (o.json) console.log(JSON.stringify(rows.at(-1)));
      } finally {
        await worker.shutdown();
        await running;
        await sim.close();
      }
    }
  } finally {
    await temporal.close();
  }
  if (o.plot)
    await writePlot(plotFile('rate-limit', o.plot), 'npm run bench -- rate-limit', [
      {
        title: `${o.calls} calls, ${o.concurrency} at once, against ${o.rps} requests/s: makespan`,
        yTitle: 'ms',
        bars: rows.flatMap((r) => [
          { group: r.variant, series: 'ideal N/R', value: r.idealMs },
          { group: r.variant, series: 'makespan', value: r.makespanMs },
        ]),
      },
      {
        title: '429s at the simulator and calls retried',
        yTitle: 'count',
        bars: rows.flatMap((r) => [
          { group: r.variant, series: '429s', value: r.http429 },
          { group: r.variant, series: 'calls retried', value: r.callsRetried },
        ]),
      },
    ]);
  if (o.json) return;
  const t = new Table({
    head: [
      'variant',
      'calls',
      'C',
      'limit',
      'T_ideal = N/R',
      'makespan',
      'vs ideal',
      '429s at the simulator',
      'calls retried',
      'max attempts',
    ],
    style: tableStyle(),
  });
  for (const r of rows)
    t.push([
      r.variant,
      r.calls,
      r.concurrency,
      `${r.rps}/s`,
      `${r.idealMs} ms`,
      `${r.makespanMs} ms`,
      `${(r.makespanMs / r.idealMs).toFixed(3)}×`,
      r.http429,
      r.callsRetried,
      r.maxAttempts,
    ]);
  console.log(t.toString());
}
