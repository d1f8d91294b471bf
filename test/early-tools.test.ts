/**
 * The retry policy of early tool dispatch (src/workflows/early-tools.ts) on the real server: a
 * model stream broke after announcing some calls and the retried turn asks for different ones.
 * Identical calls (name and input, key order aside) reuse the started tool; the rest are
 * cancelled, and their results are never attached to the kept turn.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { toolBlockReadySignal } from '../src/shared/stream';
import type { ToolUseBlock } from '../src/shared/types';
import { keptTurnSignal, type earlyToolsProbe } from './fixtures/early-tools-workflows';
import { connect, sleep, startFixtureWorker, type Harness } from './helpers';

let h: Harness;
let worker: { stop(): Promise<void> } | undefined;
const taskQueue = `early-tools-${randomUUID()}`;
/** How each started call ended, by `key/name:id`. */
const ended = new Map<string, 'completed' | 'cancelled'>();
const started = new Set<string>();

async function probeTool(call: { key: string; id: string; name: string }): Promise<string> {
  const ctx = Context.current();
  const t = setInterval(() => ctx.heartbeat(), 100);
  const label = `${call.name}:${call.id}`;
  started.add(`${call.key}/${label}`);
  try {
    // Long enough that a cancellation reaches it under load: heartbeats are throttled to ~1.6 s (80 % of the 2 s timeout).
    await Promise.race([sleep(5000), ctx.cancelled]);
    ended.set(`${call.key}/${label}`, 'completed');
    return label;
  } catch (err) {
    if (ctx.cancellationSignal.aborted) ended.set(`${call.key}/${label}`, 'cancelled');
    throw err;
  } finally {
    clearInterval(t);
  }
}

beforeAll(async () => {
  h = await connect();
  worker = await startFixtureWorker(h, taskQueue, 'early-tools-workflows.ts', { probeTool });
});

afterAll(async () => {
  await worker?.stop();
  await h?.close();
});

const use = (id: string, name: string, input: unknown): ToolUseBlock => ({ type: 'tool_use', id, name, input });

it('reuses a started tool only for an identical call of the kept turn and cancels the others', async () => {
  const key = randomUUID();
  const handle = await h.client.workflow.start<typeof earlyToolsProbe>('earlyToolsProbe', {
    taskQueue,
    workflowId: `early-tools-${key}`,
    args: [key],
  });
  // Attempt 1 wrote two calls before its stream broke; attempt 2 repeats the first (keys reordered) and adds another.
  await handle.signal(toolBlockReadySignal, { turn: 1, attempt: 1, block: use('a1', 'search', { q: 'x', limit: 3 }) });
  await handle.signal(toolBlockReadySignal, { turn: 1, attempt: 1, block: use('b1', 'fetch', { url: 'u' }) });
  // Both are running before the retried attempt's announcements arrive.
  for (let i = 0; i < 100 && !(started.has(`${key}/search:a1`) && started.has(`${key}/fetch:b1`)); i++) await sleep(50);
  expect(started.has(`${key}/fetch:b1`)).toBe(true);
  await handle.signal(toolBlockReadySignal, { turn: 1, attempt: 2, block: use('a2', 'search', { limit: 3, q: 'x' }) });
  await handle.signal(toolBlockReadySignal, { turn: 1, attempt: 2, block: use('c2', 'fetch', { url: 'v' }) });
  // A late announcement for another turn starts nothing.
  await handle.signal(toolBlockReadySignal, { turn: 7, attempt: 1, block: use('z', 'fetch', { url: 'z' }) });
  await handle.signal(keptTurnSignal, [
    use('a2', 'search', { limit: 3, q: 'x' }),
    use('c2', 'fetch', { url: 'v' }),
    use('d2', 'fetch', { url: 'w' }),
  ]);
  const r = await handle.result();
  expect(r).toEqual([
    { answer: 'search:a1', early: true }, // the attempt-1 call, reused: it ran once
    { answer: 'fetch:c2', early: true },
    { answer: 'fetch:d2', early: false }, // never announced: started after the turn
  ]);
  // fetch b1 was asked only by the broken attempt: cancelled, its result attached nowhere.
  for (let i = 0; i < 50 && !ended.has(`${key}/fetch:b1`); i++) await sleep(100);
  expect(ended.get(`${key}/fetch:b1`)).toBe('cancelled');
  expect([...ended.keys()].filter((k) => k.startsWith(`${key}/`)).sort()).toEqual(
    [`${key}/fetch:b1`, `${key}/fetch:c2`, `${key}/fetch:d2`, `${key}/search:a1`].sort(),
  );
});
