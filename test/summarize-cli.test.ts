/**
 * `braid summarize`, `watch` and `cancel` as a user runs them: the bundled handbook end to end,
 * same input → same run, a mix of good and bad files, and one-line errors for bad input.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { FsBlobStore } from '../src/blobs/store';
import { buildCorpus, shortPaths, summarizeWorkflowId } from '../src/summarize/corpus';
import { Simulator } from '../src/simulator';
import { braid, expectOneLineError, server } from './cli-helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-sum-'));
const blobs = { BRAID_BLOB_DIR: path.join(tmp, 'blobs') };
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const TASK = 'What must a customer know about returns, shipping and support? Cite the handbook.';
/** How a quoted sentence reads: list marker, Markdown emphasis and extra whitespace dropped. */
const norm = (s: string) =>
  s
    .replace(/\*\*|`/g, '')
    .replace(/\s+/g, ' ')
    .replace(/^- /, '')
    .trim();

describe('labels', () => {
  it('name files without the directories they all share', () => {
    expect(shortPaths(['/h/u/docs/a.md', '/h/u/docs/sub/b.md'])).toEqual(['a.md', 'sub/b.md']);
    expect(shortPaths(['/h/u/docs/a.md'])).toEqual(['a.md']);
    expect(shortPaths(['a.md', 'b/c.md'])).toEqual(['a.md', 'b/c.md']);
    expect(shortPaths([])).toEqual([]);
  });
});

describe('braid summarize', () => {
  it('summarises the bundled handbook, then returns the same run for the same input unless --fresh', async () => {
    const env = { ...server(), ...blobs };
    const first = await braid(['summarize', 'data/docs', '--task', TASK, '--with-worker', '--json'], env);
    expect(first.code).toBe(0);
    const r = JSON.parse(first.stdout);
    expect(r.complete).toBe(true);
    expect(r.chunks).toBeGreaterThan(8);
    // Only the handbook pages the task is about are cited, and each claim quotes the ranges it cites.
    const cited = r.citations.map((c: { source: string }) => c.source);
    expect(cited.every((s: string) => s.startsWith('data/docs/'))).toBe(true);
    expect(cited).toContain('data/docs/refunds-and-returns.md');
    expect(cited).toContain('data/docs/shipping.md');
    for (const page of ['remote-work.md', 'security-policy.md', 'data-retention.md']) expect(cited).not.toContain(`data/docs/${page}`);
    const claims = r.claims as { text: string; sources: { source: string; ranges: [number, number][] }[] }[];
    expect(claims.length).toBeGreaterThan(2);
    for (const c of claims)
      for (const { source, ranges } of c.sources)
        for (const [a, b] of ranges) expect(norm(c.text)).toContain(norm(fs.readFileSync(source, 'utf8').slice(a, b)));
    expect(r.relevantChunks).toBeLessThan(r.chunks);
    expect(r.answer).not.toMatch(/data\/docs|\.md\b/);
    expect(r.reduceLevels).toBeGreaterThanOrEqual(1);
    expect(r.simulated).toBe(true);

    const again = await braid(['summarize', 'data/docs', '--task', TASK, '--with-worker', '--json'], env);
    expect(again.code).toBe(0);
    const r2 = JSON.parse(again.stdout);
    expect(r2.workflowId).toBe(r.workflowId);
    expect(r2.resultRef).toBe(r.resultRef);

    const fresh = await braid(['summarize', 'data/docs', '--task', TASK, '--with-worker', '--fresh'], env);
    expect(fresh.code).toBe(0);
    expect(fresh.stderr).not.toMatch(/ran before/);
    expect(fresh.stdout).toMatch(/Answer/);
    expect(fresh.stdout).toMatch(/\[1\] data\/docs\/[\w-]+\.md:\d+-\d+/);
    expect(fresh.stdout).toMatch(
      /Citations checked by Braid: \d+ returned, \d+ on sentence bounds, 0 widened to whole sentences, 0 rejected/,
    );
    const described = await braid(['runs', '--json'], env);
    const runs = described.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((w: { workflowId: string }) => w.workflowId === r.workflowId);
    expect(runs.length).toBe(2); // the first run and the --fresh one, nothing for the repeat
  }, 120_000);

  it('runs the good files of a mix and lists the bad ones with their reasons', async () => {
    const dir = path.join(tmp, 'mix');
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, 'good.md'),
      '# Notes\n\nThe warehouse moves to Leeds in March. Returns go to the new address from April.\n',
    );
    fs.writeFileSync(path.join(dir, 'blob.txt'), Buffer.from([0x68, 0x69, 0x00, 0x01, 0x02]));
    fs.writeFileSync(path.join(dir, 'empty.txt'), '');
    fs.writeFileSync(path.join(dir, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    const r = await braid(['summarize', dir, path.join(tmp, 'nope.md'), '--task', 'Summarise', '--with-worker', '--json'], {
      ...server(),
      ...blobs,
    });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.citations.map((c: { source: string }) => path.basename(c.source))).toEqual(['good.md']);
    const reasons = Object.fromEntries(out.badFiles.map((b: { path: string; reason: string }) => [path.basename(b.path), b.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['blob.txt', 'empty.txt', 'latin1.txt', 'nope.md']);
    expect(reasons['blob.txt']).toMatch(/binary/);
    expect(reasons['empty.txt']).toMatch(/empty/);
    expect(reasons['latin1.txt']).toMatch(/UTF-8/);
    expect(reasons['nope.md']).toMatch(/not found/);
  }, 60_000);

  it('refuses a corpus with nothing readable, naming each file', async () => {
    const r = await braid(['summarize', path.join(tmp, 'missing-1.txt'), path.join(tmp, 'missing-2.pdf'), '--task', 'x', '--with-worker'], {
      ...server(),
      ...blobs,
    });
    expectOneLineError(r, 2, /nothing to summarize \(.*missing-1\.txt: not found; .*missing-2\.pdf: not found\)/);
  }, 60_000);

  it('names BRAID_BLOB_DIR when the blob store cannot be written, before anything starts', async () => {
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'not a directory');
    const r = await braid(['summarize', 'data/docs/shipping.md', '--task', 'x'], { ...server(), BRAID_BLOB_DIR: path.join(file, 'blobs') });
    expectOneLineError(
      r,
      2,
      /cannot write to the blob store at .*a-file\/blobs \(BRAID_BLOB_DIR\): part of the path is not a directory \(ENOTDIR\)/,
    );
  });

  it.each([
    [['summarize', 'data/docs'], /required option '--task <instruction>'/],
    [['summarize', 'data/docs', '--task', 'x', '--tolerate', '150'], /--tolerate.*percentage from 0 to 100/],
    [['summarize', 'data/docs', '--task', 'x', '--group', '1'], /--group.*whole number from 2 to 100/],
    [['summarize', 'data/docs', '--task', 'x', '--concurrency', '0'], /--concurrency.*whole number from 1 to 10000/],
    [['summarize', 'data/docs', '--task', 'x', '--budget', 'ten'], /--budget.*"ten" is not an amount of US dollars/],
    [['summarize', 'data/docs', '--task', 'x', '--budget', '0'], /--budget.*budget must be from \$0.000001 to \$1,000,000/],
    [['summarize', 'data/docs', '--task', 'x', '--budget', '-1'], /--budget/],
    [['summarize', 'data/docs', '--task', 'x', '--budget', '1', '--on-budget', 'maybe'], /--on-budget.*expected keep .* or cancel/],
    [['watch', 'summarize-does-not-exist'], /no run with id summarize-does-not-exist/],
    [['cancel', 'summarize-does-not-exist'], /no run with id summarize-does-not-exist/],
  ])('rejects %j with one line and exit 2', async (args, pattern) => {
    expectOneLineError(await braid(args, { ...server(), ...blobs }), 2, pattern);
  });

  it('ends a job whose budget is reached with its result, "budget reached" and exit code 3', async () => {
    // Less than one map call's worst case: no call starts, nothing is spent.
    const r = await braid(['summarize', 'data/docs/shipping.md', '--task', TASK, '--budget', '0.0001', '--with-worker', '--json'], {
      ...server(),
      ...blobs,
    });
    expect(r.code, r.stderr).toBe(3);
    const out = JSON.parse(r.stdout);
    expect(out.status).toBe('budget-reached');
    expect(out.budget).toMatchObject({ usd: 0.0001, spentUsd: 0, reached: true, skippedCalls: out.chunks });
    expect(out.cost.totalUsd).toBe(0);
    expect(out.missing).toHaveLength(out.chunks);
  });

  it('gives the same job the same id, but not the id a run with unchecked whole-chunk citations had', () => {
    const ref = `sha256:${'a'.repeat(64)}`;
    const before = `summarize-${createHash('sha256').update([ref, 'Task', 10, 0].join('\n')).digest('hex').slice(0, 20)}`;
    expect(summarizeWorkflowId(ref, 'Task', 10, 0)).not.toBe(before);
    expect(summarizeWorkflowId(ref, ' Task ', 10, 0)).toBe(summarizeWorkflowId(ref, 'Task', 10, 0));
    expect(summarizeWorkflowId(ref, 'Task', 10, 0)).not.toBe(summarizeWorkflowId(ref, 'Task', 11, 0));
    expect(summarizeWorkflowId(ref, 'Task', 10, 0, 0.5)).not.toBe(summarizeWorkflowId(ref, 'Task', 10, 0));
  });

  it('watch attaches to a running job and cancel stops it cleanly', async () => {
    // A slow model, shared by a worker process started in the background.
    const sim = await Simulator.start({ quiet: true, latency: { ttftMs: 1500, perTokenMs: 0 } });
    const env = { ...server(), ...blobs, BRAID_SIMULATOR_URL: sim.url };
    const task = 'Slow job to cancel';
    const corpus = await buildCorpus(['data/docs'], new FsBlobStore(blobs.BRAID_BLOB_DIR), {});
    const id = summarizeWorkflowId(corpus.manifestRef, task, 10, 0);
    const job = braid(['summarize', 'data/docs', '--task', task, '--with-worker', '--concurrency', '2'], env);
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const handle = new Client({ connection }).workflow.getHandle(id);
      for (let i = 0; i < 100; i++) {
        const status = await handle.describe().then(
          (d) => d.status.name,
          () => 'NONE',
        );
        if (status === 'RUNNING') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const watching = braid(['watch', id, '--json'], env);
      const cancel = await braid(['cancel', id], env);
      expect(cancel.code).toBe(0);
      expect(cancel.stdout.trim()).toBe(`${id}: cancelled`);
      const [w, j] = await Promise.all([watching, job]);
      expect(w.code).toBe(1);
      expect(w.stderr).toMatch(/failed: .*cancel/i);
      expect(j.code).toBe(1);
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      expectOneLineError(await braid(['cancel', id], env), 1, /is not running \(CANCELLED\)/);
    } finally {
      await connection.close();
      await sim.close();
    }
  }, 120_000);
});
