/**
 * `braid top --once --json` against the real server: the task queues as `braid health` sees them
 * and the running runs counted by kind and status from Braid's search attributes.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TopSnapshot } from '../src/cli/top';
import { ASK_WORKFLOW } from '../src/shared/ask';
import { BraidKind, BraidStatus } from '../src/shared/search-attributes';
import { braid, expectOneLineError } from './cli-helpers';
import { connect, sleep, type Harness } from './helpers';

let h: Harness;
beforeAll(async () => {
  h = await connect();
});
afterAll(async () => {
  await h?.close();
});

describe('braid top', () => {
  it('--once --json: backlog and pollers per queue, and running runs by kind and status', async () => {
    // Runs started on a queue no worker polls: they stay queued, and their first tasks wait.
    const queue = `top-${randomUUID()}`;
    const start = (i: number, kind: string) =>
      h.client.workflow.start(ASK_WORKFLOW, {
        taskQueue: queue,
        workflowId: `${queue}-${i}`,
        args: [{ question: 'x' }],
        typedSearchAttributes: [
          { key: BraidKind, value: kind },
          { key: BraidStatus, value: 'queued' },
        ],
      });
    const handles = await Promise.all([start(1, 'ask'), start(2, 'ask'), start(3, 'summarize')]);
    try {
      const env = { TEMPORAL_ADDRESS: h.address, BRAID_TASK_QUEUE: queue };
      let out: TopSnapshot | undefined;
      // Visibility and backlog stats are eventually consistent: ask until both have caught up.
      for (let i = 0; i < 40; i++) {
        const r = await braid(['top', '--once', '--json'], env);
        expect(r.code, r.stderr).toBe(0);
        out = JSON.parse(r.stdout) as TopSnapshot;
        if (out.runs.running === 3 && out.runs.listed === 3 && out.queues[0]!.backlog >= 3) break;
        await sleep(500);
      }
      expect(out!.taskQueue).toBe(queue);
      expect(out!.runs).toMatchObject({ running: 3, listed: 3, byKind: { ask: { queued: 2 }, summarize: { queued: 1 } } });
      expect(out!.runs.oldestMs).toBeGreaterThanOrEqual(0);
      const wf = out!.queues.find((q) => q.type === 'workflow')!;
      expect(wf).toMatchObject({ queue, backlog: 3, pollers: 0 });
      expect(wf.backlogAgeMs).toBeGreaterThan(0);

      const human = await braid(['top', '--once'], env);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toMatch(/runs: 3 running/);
      expect(human.stdout).toMatch(/ask\s*│\s*queued\s*│\s*2/);
    } finally {
      await Promise.all(handles.map((hd) => hd.terminate('test done').catch(() => undefined)));
    }
  });

  it('rejects a bad --interval with one line and exit 2', async () => {
    expectOneLineError(await braid(['top', '--interval', 'soon'], { TEMPORAL_ADDRESS: h.address }), 2, /--interval/);
  });
});
