/**
 * `braid actor` as a user runs it, against the real server and a worker (the simulator as its model):
 * spawn, send (waits for the reply), tell, state, ls, stop — each with --json — and every input a
 * user can get wrong (a bad address, an unknown or stopped agent, a taken address) as one line.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActorReply, ActorState } from '../src/shared/actor';
import type { Simulator } from '../src/simulator';
import { SqliteVersionedStore } from '../src/store/shared-state';
import { ToolRegistry } from '../src/tools';
import { braid, expectOneLineError } from './cli-helpers';
import { connect, startSimulator, startWorker, type Harness, type TestWorker } from './helpers';

let h: Harness;
let sim: Simulator;
let w: TestWorker;
let env: Record<string, string>;
let dir: string;
let shared: SqliteVersionedStore;

beforeAll(async () => {
  [h, sim] = await Promise.all([connect(), startSimulator()]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-actor-cli-'));
  w = await startWorker(h, new ToolRegistry(), sim, {}, { sharedState: (shared = new SqliteVersionedStore(path.join(dir, 'shared.db'))) });
  env = { TEMPORAL_ADDRESS: h.address, BRAID_TASK_QUEUE: w.taskQueue };
});
afterAll(async () => {
  await w?.shutdown();
  await shared?.close();
  await sim?.close();
  await h?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('braid actor: bad input', () => {
  const nowhere = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
  it.each([
    [['actor', 'spawn', 'a b', '--role', 'x'], /"a b" is not an agent address/],
    [['actor', 'spawn', 'ok', '--role', ' '], /the agent has no role/],
    [['actor', 'spawn', 'ok', '--role', 'lead', '--member', 'nocolon'], /expected <name>:<role>/],
    [['actor', 'spawn', 'ok', '--role', 'lead', '--member', 'a:x', '--member', 'a:y'], /team member a is named twice/],
    [['actor', 'spawn', 'ok', '--role', 'x', '--note', '/nonexistent/brief.md'], /cannot read note file \/nonexistent\/brief.md/],
    [['actor', 'send', 'ok'], /nothing to send/],
    [['actor', 'send', 'ok', '--blind', 'hi'], /--blind goes with --increment or --append/],
    [['actor', 'send', 'ok', '--increment', 'k', '--read', 'k'], /give one of --increment, --append, --read/],
    [['actor', 'state', '../x'], /is not an agent address/],
  ])('braid %j is one line and exit code 2 before connecting', async (args, pattern) => {
    expectOneLineError(await braid(args, nowhere), 2, pattern);
  });
});

describe('braid actor: a life', () => {
  it('spawn, send, tell, state, ls, stop — then the stopped agent and an unknown one are refused in one line', async () => {
    const address = `cli-${randomUUID().slice(0, 8)}`;
    const spawned = await braid(['actor', 'spawn', address, '--role', 'returns desk', '--json'], env);
    expect(spawned.code, spawned.stderr).toBe(0);
    expect(JSON.parse(spawned.stdout)).toMatchObject({ address, workflowId: `actor/${address}` });
    expectOneLineError(await braid(['actor', 'spawn', address, '--role', 'again'], env), 2, /the address .* is taken/);

    const sent = await braid(['actor', 'send', address, '--json', 'What is the refund window?'], env);
    expect(sent.code, sent.stderr).toBe(0);
    const reply = JSON.parse(sent.stdout) as ActorReply;
    expect(reply).toMatchObject({ by: address, ok: true, seq: 1 });
    expect(reply.text!.length).toBeGreaterThan(0);

    const told = await braid(['actor', 'tell', address, '--note', '--json', 'Refunds take 14 days.'], env);
    expect(told.code, told.stderr).toBe(0);
    expect(JSON.parse(told.stdout)).toMatchObject({ address, delivered: true });

    const counted = await braid(['actor', 'send', address, '--increment', 'tickets', '--by', '3', '--json'], env);
    expect(JSON.parse(counted.stdout).shared).toMatchObject({ key: 'tickets', version: expect.any(Number) });

    const st = await braid(['actor', 'state', address, '--json'], env);
    const s = JSON.parse(st.stdout) as ActorState;
    expect(s).toMatchObject({ address, role: 'returns desk', status: 'idle', handled: 3, runs: 1 });
    expect(s.memory.notes).toBe(1);
    const human = await braid(['actor', 'state', address], env);
    expect(human.stdout).toMatch(new RegExp(`${address} \\(returns desk\\) · idle · 3 handled`));

    // ls finds it through the search attribute (visibility is eventually consistent: wait for it in-process, then ask the CLI once).
    const query = `BraidKind = "actor" AND WorkflowId = 'actor/${address}'`;
    for (let i = 0; i < 100; i++) {
      let found = false;
      for await (const _ of h.client.workflow.list({ query })) found = true;
      if (found) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const ls = await braid(['actor', 'ls', '--json'], env);
    const listed = ls.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { address: string });
    expect(listed.map((r) => r.address)).toContain(address);

    const stopped = await braid(['actor', 'stop', address, '--reason', 'closing time', '--json'], env);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(JSON.parse(stopped.stdout)).toMatchObject({ status: 'stopped', handled: 3 });

    expectOneLineError(
      await braid(['actor', 'send', address, 'hello?'], env),
      2,
      new RegExp(`agent ${address} is not running \\(completed\\)`),
    );
    expectOneLineError(await braid(['actor', 'tell', address, 'hello?'], env), 2, /is not running \(completed\)/);
    expectOneLineError(await braid(['actor', 'stop', address], env), 2, /is not running \(completed\)/);
    expectOneLineError(await braid(['actor', 'send', 'nobody-home', 'hi'], env), 2, /no agent has the address nobody-home/);
    expectOneLineError(await braid(['actor', 'state', 'nobody-home'], env), 2, /no agent has the address nobody-home/);
  }, 300_000); // about 15 CLI processes, each a few seconds on a loaded machine
});

describe('braid actor: the research team', () => {
  it('a lead asks its specialists in parallel, each answers from its own briefing, the lead merges their answers', async () => {
    const lead = `research-${randomUUID().slice(0, 8)}`;
    const docs = path.join(__dirname, '..', 'data', 'docs');
    const spawned = await braid(
      [
        'actor',
        'spawn',
        lead,
        '--role',
        'research lead',
        '--member',
        'returns:returns specialist',
        '--member',
        'shipping:shipping specialist',
        '--member-note',
        `returns=${path.join(docs, 'refunds-and-returns.md')}`,
        '--member-note',
        `shipping=${path.join(docs, 'shipping.md')}`,
      ],
      env,
    );
    expect(spawned.code, spawned.stderr).toBe(0);
    const sent = await braid(
      ['actor', 'send', lead, '--json', 'How many days do customers have to return an item, and how long does standard shipping take?'],
      env,
    );
    expect(sent.code, sent.stderr).toBe(0);
    const reply = JSON.parse(sent.stdout) as ActorReply;
    const quoted = (t: string | undefined) => [...(t ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
    const flat = (file: string) => fs.readFileSync(path.join(docs, file), 'utf8').replace(/\s+/g, ' ');
    const refunds = flat('refunds-and-returns.md');
    const shipping = flat('shipping.md');
    const by = Object.fromEntries(reply.members!.map((m) => [m.name, m]));
    expect(reply.members!.map((m) => [m.address, m.ok])).toEqual([
      [`${lead}/returns`, true],
      [`${lead}/shipping`, true],
    ]);
    // Each specialist answered from its own briefing (private memory), not the other's.
    for (const q of quoted(by.returns!.text)) expect(refunds).toContain(q);
    for (const q of quoted(by.shipping!.text)) expect(shipping).toContain(q);
    expect(quoted(by.returns!.text).length).toBeGreaterThan(0);
    expect(quoted(by.shipping!.text).length).toBeGreaterThan(0);
    // The lead's answer merges both.
    expect(reply.ok).toBe(true);
    expect(quoted(by.returns!.text).some((q) => reply.text!.includes(q))).toBe(true);
    expect(quoted(by.shipping!.text).some((q) => reply.text!.includes(q))).toBe(true);

    // Stopping the lead stops its team.
    expect((await braid(['actor', 'stop', lead], env)).code).toBe(0);
    const member = JSON.parse((await braid(['actor', 'state', `${lead}/returns`, '--json'], env)).stdout) as ActorState;
    expect(member).toMatchObject({ status: 'stopped', parent: lead, handled: 1 });
  }, 180_000);
});
