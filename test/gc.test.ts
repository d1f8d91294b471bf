/**
 * `braid gc` on a local blob directory, against the real server: old blobs no open run reaches are
 * deleted (with --yes; a dry run only counts them), blobs an open run's history names — and the
 * chunks its manifest names in turn — are kept, recent blobs and files that are not blobs are
 * left alone, and leftovers of interrupted writes go. Bad input is a one-line error, exit 2.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planGc, refsIn } from '../src/blobs/gc';
import { FsBlobStore, putJson, type BlobRef } from '../src/blobs/store';
import { EncryptedBlobStore } from '../src/encryption/blobs';
import { KeyRing } from '../src/encryption/keys';
import { SUMMARIZE_WORKFLOW } from '../src/shared/summarize';
import type { summarizeCorpus } from '../src/workflows';
import { braid, expectOneLineError, server } from './cli-helpers';
import { connect, type Harness } from './helpers';

const DAY = 86_400_000;
let h: Harness;
let dir: string;
let store: FsBlobStore;
beforeAll(async () => {
  h = await connect();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-gc-'));
  store = new FsBlobStore(dir);
});
afterAll(async () => {
  await h?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const fileOf = (ref: string) => path.join(dir, ref.slice(7, 9), ref.slice(9));
const age = (ref: string, ms: number) => {
  const t = new Date(Date.now() - ms);
  fs.utimesSync(fileOf(ref), t, t);
};
const exists = (ref: string) => fs.existsSync(fileOf(ref));

describe('braid gc', () => {
  it('deletes old blobs no open run reaches, keeps what an open run names (and its manifest names), only with --yes', async () => {
    const chunks: BlobRef[] = [];
    for (let i = 0; i < 3; i++) chunks.push(await store.put(`chunk ${i} of the open run ${randomUUID()}`));
    const manifest = await putJson(store, { version: 1, chunks: chunks.map((ref, i) => ({ id: `0:${i}`, ref })) });
    const orphan = await store.put(`an old answer nobody needs ${randomUUID()}`);
    const fresh = await store.put(`written an hour ago ${randomUUID()}`);
    for (const ref of [...chunks, manifest, orphan]) age(ref, 10 * DAY);
    age(fresh, 3_600_000);
    const tmp = `${fileOf(orphan)}.123.abcd.tmp`;
    fs.writeFileSync(tmp, 'half a blob');
    fs.utimesSync(tmp, new Date(Date.now() - 2 * DAY), new Date(Date.now() - 2 * DAY));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a blob');

    // An open run whose input names the manifest: no worker polls its queue, so it stays open.
    const env = { ...server(), BRAID_BLOB_DIR: dir };
    const handle = await h.client.workflow.start<typeof summarizeCorpus>(SUMMARIZE_WORKFLOW, {
      taskQueue: env.BRAID_TASK_QUEUE,
      workflowId: `gc-${randomUUID()}`,
      args: [{ manifestRef: manifest, chunkCount: 3, sourceCount: 1, task: 'x', concurrency: 1, group: 2, tolerate: 0, badFiles: [] }],
    });
    try {
      const dry = await braid(['gc', '--older-than', '7d', '--json'], env);
      expect(dry.code, dry.stderr).toBe(0);
      const plan = JSON.parse(dry.stdout);
      expect(plan).toMatchObject({ deleted: false, blobs: 1, temporaryFiles: 1, keptReferenced: 4, keptRecent: 1 });
      expect(plan.openRuns).toBeGreaterThanOrEqual(1);
      expect([...chunks, manifest, orphan, fresh].every(exists)).toBe(true);

      const text = await braid(['gc', '--older-than', '7d'], env);
      expect(text.stdout).toMatch(
        /would delete 1 blob\(s\), 0\.0 MB, and 1 temporary file\(s\); kept 4 old blob\(s\) used by \d+ open run\(s\) and 1 recent one\(s\)/,
      );
      expect(text.stdout).toMatch(/run again with --yes/);

      const real = await braid(['gc', '--older-than', '7d', '--yes', '--json'], env);
      expect(real.code, real.stderr).toBe(0);
      expect(JSON.parse(real.stdout)).toMatchObject({ deleted: true, removedFiles: 2 });
      expect(exists(orphan)).toBe(false);
      expect(fs.existsSync(tmp)).toBe(false);
      expect([...chunks, manifest, fresh].every(exists)).toBe(true);
      expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('not a blob');
    } finally {
      await handle.terminate('test over');
    }
    // Once the run has closed, its old blobs are garbage too.
    const after = await braid(['gc', '--older-than', '7d', '--yes', '--json'], { ...server(), BRAID_BLOB_DIR: dir });
    expect(JSON.parse(after.stdout)).toMatchObject({ removedFiles: 4 });
    expect([...chunks, manifest].some(exists)).toBe(false);
    expect(exists(fresh)).toBe(true);
  }, 120_000);

  it('renews a blob’s age when the same bytes are written again', async () => {
    const ref = await store.put('written twice');
    age(ref, 10 * DAY);
    await new FsBlobStore(dir).put('written twice');
    expect((await planGc(dir, [], 7 * DAY)).delete.map((b) => b.ref)).not.toContain(ref);
  });

  it('follows references inside encrypted JSON blobs with the keys, and stops on a blob it cannot read', async () => {
    const ring = KeyRing.fromBase64([randomBytes(32).toString('base64')]);
    const sealed = new EncryptedBlobStore(new FsBlobStore(dir), ring);
    const chunk = await sealed.put(`encrypted chunk ${randomUUID()}`);
    const manifest = await putJson(sealed, { chunks: [{ ref: chunk }] });
    for (const ref of [chunk, manifest]) age(ref, 10 * DAY);
    const reveal = (ref: string, stored: Buffer) => sealed.open(ref, stored);
    // Without the keys the manifest is ciphertext: its chunk would be deleted.
    expect((await planGc(dir, [manifest], 7 * DAY)).delete.map((b) => b.ref)).toContain(chunk);
    expect((await planGc(dir, [manifest], 7 * DAY, Date.now(), reveal)).delete.map((b) => b.ref)).not.toContain(chunk);
    const other = new EncryptedBlobStore(new FsBlobStore(dir), KeyRing.fromBase64([randomBytes(32).toString('base64')]));
    await expect(planGc(dir, [manifest], 7 * DAY, Date.now(), (ref, stored) => other.open(ref, stored))).rejects.toThrow(
      /key ring does not hold/,
    );
  });

  it('finds references in any text, each one', () => {
    const a = `sha256:${'a'.repeat(64)}`;
    const b = `sha256:${'b'.repeat(64)}`;
    expect(refsIn(`{"ref":"${a}","x":["${b}"],"y":"sha256:short"}`)).toEqual([a, b]);
  });

  it('refuses an S3 store and an age under an hour, in one line with exit 2', async () => {
    expectOneLineError(
      await braid(['gc'], { ...server(), BRAID_BLOB_URL: 's3://team-blobs/prod' }),
      2,
      /braid gc cleans a local blob directory, and BRAID_BLOB_URL selects s3:\/\/team-blobs\/prod: expire old objects with the bucket's lifecycle rule/,
    );
    expectOneLineError(
      await braid(['gc', '--older-than', '10m'], { ...server(), BRAID_BLOB_DIR: dir }),
      2,
      /--older-than must be at least 1h/,
    );
    expectOneLineError(
      await braid(['gc', '--older-than', 'soon'], { ...server(), BRAID_BLOB_DIR: dir }),
      2,
      /expected a duration such as 90s/,
    );
  });
});
