/**
 * `npm run bench -- actors`: agents sharing state and one agent's mailbox, measured on the real
 * workflow (a throwaway Temporal server, a throwaway redis-server as the versioned store, the
 * simulator as the model).
 *
 * Lost updates: `agents` agents each increment one shared key `each` times, all agents at once —
 * once through compare-and-swap, once through the naive read-modify-write (`write: 'blind'`). What
 * is lost is the expected total minus the final value.
 *
 * Mailbox throughput: `senders` clients send `messages` notes (no model call: the mailbox itself)
 * to one agent — by the `send` update (each waits for its reply; receipts and the signal fallback
 * past 8 held updates), then by the `tell` signal (timed until the agent has handled them all).
 */
import Anthropic from '@anthropic-ai/sdk';
import { randomUUID } from 'node:crypto';
import { envelope, sendMessage, tellMessage } from '../src/cli/actor-messages';
import { readConfig } from '../src/config';
import { ACTOR_WORKFLOW, actorStateQuery, actorWorkflowId, stopSignal, type ActorInput } from '../src/shared/actor';
import { Simulator } from '../src/simulator';
import { RedisVersionedStore } from '../src/store/shared-state';
import { ToolRegistry } from '../src/tools';
import { createBraidWorker } from '../src/worker';
import { startRedis } from '../test/fixtures/flow-redis';
import { benchTemporal } from './harness';
import { plotFile, writePlot } from './plot';

export interface ActorsBenchOptions {
  agents: number;
  each: number;
  messages: number;
  senders: number;
  json: boolean;
  /** Also draw the figures as an SVG (`--plot [file]`). */
  plot?: string | true;
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));

export async function actorsBench(o: ActorsBenchOptions): Promise<void> {
  const log = (l: string) => !o.json && process.stderr.write(`${l}\n`);
  const [temporal, sim, redis] = await Promise.all([benchTemporal(log), Simulator.start({ quiet: true }), startRedis()]);
  const store = new RedisVersionedStore(redis.url);
  const taskQueue = `bench-actors-${randomUUID().slice(0, 8)}`;
  const worker = await createBraidWorker({
    connection: temporal.native,
    cfg: readConfig({ BRAID_TASK_QUEUE: taskQueue }),
    registry: new ToolRegistry(),
    sharedState: store,
    model: {
      claude: new Anthropic({ apiKey: 'braid-simulator', baseURL: sim.url, maxRetries: 0 }),
      simulated: true,
      endpoint: sim.url,
      close: async () => {},
    },
  });
  const running = worker.run();
  const client = temporal.client;
  const started: string[] = [];
  const spawn = async (address: string) => {
    await client.workflow.start(ACTOR_WORKFLOW, {
      taskQueue,
      workflowId: actorWorkflowId(address),
      args: [{ address, spec: { role: 'bench agent' } } satisfies ActorInput],
    });
    started.push(address);
  };

  async function crowd(write: 'cas' | 'blind') {
    const key = `bench-${write}`;
    const addresses = Array.from({ length: o.agents }, (_, i) => `${write}-${i}`);
    await Promise.all(addresses.map(spawn));
    const t0 = Date.now();
    const rounds = await Promise.all(
      addresses.map(async (address) => {
        let n = 0;
        for (let i = 0; i < o.each; i++)
          n += (await sendMessage(client, address, envelope({ kind: 'shared', key, op: { type: 'increment' }, write }))).reply.shared!
            .attempts;
        return n;
      }),
    );
    const ms = Date.now() - t0;
    const final = await store.read(key);
    return { lost: o.agents * o.each - ((final.value as number | undefined) ?? 0), ms, rounds: rounds.reduce((a, b) => a + b, 0) };
  }

  try {
    log(`lost updates: ${o.agents} agents × ${o.each} increments of one key (Redis) …`);
    const cas = await crowd('cas');
    const naive = await crowd('blind');

    log(`mailbox: ${o.messages} messages from ${o.senders} senders to one agent …`);
    const notes = (tag: string) => Array.from({ length: o.messages }, (_, i) => envelope({ kind: 'note', text: `${tag} note ${i + 1}` }));
    await spawn('mailbox-send');
    const sendEnvs = notes('send');
    let next = 0;
    const paths = { update: 0, receipt: 0, signal: 0 };
    const t1 = Date.now();
    await Promise.all(
      Array.from({ length: o.senders }, async () => {
        while (next < sendEnvs.length) {
          const sent = await sendMessage(client, 'mailbox-send', sendEnvs[next++]!);
          paths[sent.path]++;
        }
      }),
    );
    const sendMs = Date.now() - t1;
    const sendState = await client.workflow.getHandle(actorWorkflowId('mailbox-send')).query(actorStateQuery);

    await spawn('mailbox-tell');
    const tellEnvs = notes('tell');
    next = 0;
    const t2 = Date.now();
    await Promise.all(
      Array.from({ length: o.senders }, async () => {
        while (next < tellEnvs.length) await tellMessage(client, 'mailbox-tell', tellEnvs[next++]!);
      }),
    );
    const tellHandle = client.workflow.getHandle(actorWorkflowId('mailbox-tell'));
    let tellState = await tellHandle.query(actorStateQuery);
    while (tellState.handled < o.messages) {
      await new Promise((r) => setTimeout(r, 20));
      tellState = await tellHandle.query(actorStateQuery);
    }
    const tellMs = Date.now() - t2;

    const result = {
      agents: o.agents,
      updates: o.agents * o.each,
      casLost: cas.lost,
      naiveLost: naive.lost,
      casMs: cas.ms,
      naiveMs: naive.ms,
      casRounds: cas.rounds,
      mailbox: {
        messages: o.messages,
        senders: o.senders,
        sendPerSec: round((o.messages / sendMs) * 1000),
        tellPerSec: round((o.messages / tellMs) * 1000),
        sendPaths: paths,
        runs: { send: sendState.runs, tell: tellState.runs },
      },
    };
    if (o.plot)
      await writePlot(plotFile('actors', o.plot), 'npm run bench -- actors', [
        {
          title: `${o.agents} agents × ${o.each} increments of one key: updates lost`,
          yTitle: 'updates lost',
          bars: [
            { group: 'compare-and-swap', series: 'lost', value: result.casLost },
            { group: 'naive read-modify-write', series: 'lost', value: result.naiveLost },
          ],
        },
        {
          title: `one agent's mailbox, ${o.messages} notes from ${o.senders} senders`,
          yTitle: 'messages/s',
          bars: [
            { group: 'send (update, waits for the reply)', series: 'throughput', value: result.mailbox.sendPerSec },
            { group: 'tell (signal)', series: 'throughput', value: result.mailbox.tellPerSec },
          ],
        },
      ]);
    if (o.json) console.log(JSON.stringify(result));
    else {
      console.log(`${o.agents} agents × ${o.each} increments = ${result.updates} updates of one key`);
      console.log(
        `  compare-and-swap: ${cas.lost} lost, ${cas.ms} ms, ${cas.rounds} rounds (${cas.rounds - result.updates} retried on conflict)`,
      );
      console.log(`  naive read-modify-write: ${naive.lost} lost (${((naive.lost / result.updates) * 100).toFixed(0)}%), ${naive.ms} ms`);
      console.log(`mailbox of one agent, ${o.messages} notes from ${o.senders} senders:`);
      console.log(
        `  send (update, waits for the reply): ${result.mailbox.sendPerSec} messages/s (${paths.update} held, ${paths.receipt} by receipt, ${paths.signal} by signal; ${sendState.runs} runs)`,
      );
      console.log(`  tell (signal): ${result.mailbox.tellPerSec} messages/s (${tellState.runs} runs)`);
    }
  } finally {
    await Promise.all(
      started.map((a) =>
        client.workflow
          .getHandle(actorWorkflowId(a))
          .signal(stopSignal)
          .catch(() => undefined),
      ),
    );
    await worker.shutdown();
    await running.catch(() => undefined);
    await store.close();
    await temporal.close();
    await Promise.all([sim.close(), redis.close()]);
  }
}
