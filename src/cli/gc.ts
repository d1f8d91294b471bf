/**
 * `braid gc`: deletes blobs of the local store (BRAID_BLOB_DIR) that are older than --older-than and
 * that no open run refers to (src/blobs/gc.ts says how that is decided). A dry run by default:
 * it says what it would delete; --yes deletes. The open runs are every running workflow of the
 * namespace, read from Temporal, so the command needs the server; if it cannot list them it deletes
 * nothing. A shared S3 store is cleaned by the bucket's lifecycle rule instead.
 */
import type { PayloadCodec } from '@temporalio/common';
import { Command } from 'commander';
import pc from 'picocolors';
import { planGc, refsIn, sweep } from '../blobs/gc';
import { decodeHistoryPayloads } from '../temporal/history-payloads';
import { FsBlobStore } from '../blobs/store';
import { EncryptedBlobStore } from '../encryption/blobs';
import { configuredKeyRing } from '../encryption/keys';
import { config } from '../config';
import { UsageError } from './errors';
import { duration } from './options';
import { withSession } from './session';

const MIN_AGE_MS = 3_600_000;

interface GcOptions {
  olderThan: number;
  yes?: boolean;
  json?: boolean;
}

/** The payloads anywhere in a history (inputs, results, signals, failures' details), decoded by the client's codecs. */
async function payloadTexts(history: unknown, codecs: readonly PayloadCodec[]): Promise<string[]> {
  return (await decodeHistoryPayloads(history, codecs)).map((p) => Buffer.from(p.data ?? []).toString('utf8'));
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export function gcCommand(): Command {
  return new Command('gc')
    .description(
      'delete blobs of the local blob store that are older than --older-than and not used by any open run (dry run unless --yes)',
    )
    .option('--older-than <duration>', 'only blobs last written longer ago than this (at least 1h)', duration, 7 * 86_400_000)
    .option('--yes', 'delete; without it, only say what would be deleted')
    .option('--json', 'print one JSON object')
    .action(async (o: GcOptions) => {
      const cfg = config();
      if (cfg.blobUrl)
        throw new UsageError(
          `braid gc cleans a local blob directory, and BRAID_BLOB_URL selects ${cfg.blobUrl.url}: expire old objects with the bucket's lifecycle rule (README: Blob lifecycle)`,
        );
      if (o.olderThan < MIN_AGE_MS)
        throw new UsageError('--older-than must be at least 1h: a blob written moments ago may belong to a run that is only starting');
      const roots = new Set<string>();
      let openRuns = 0;
      await withSession({ worker: 'none' }, async ({ client }) => {
        const codecs = client.options.loadedDataConverter.payloadCodecs;
        for await (const wf of client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
          openRuns++;
          const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
          for (const text of await payloadTexts(history, codecs)) for (const ref of refsIn(text)) roots.add(ref);
        }
      });
      const now = Date.now();
      // With encryption on, JSON blobs (manifests) are read through the keys to follow what they name.
      const ring = configuredKeyRing(cfg);
      const sealed = ring ? new EncryptedBlobStore(new FsBlobStore(cfg.blobDir), ring) : undefined;
      const plan = await planGc(cfg.blobDir, roots, o.olderThan, now, sealed && ((ref, stored) => sealed.open(ref, stored)));
      const bytes = plan.delete.reduce((n, b) => n + b.bytes, 0);
      const done = o.yes ? await sweep(plan, o.olderThan, now) : undefined;
      if (o.json) {
        console.log(
          JSON.stringify({
            dir: cfg.blobDir,
            olderThanMs: o.olderThan,
            openRuns,
            deleted: Boolean(o.yes),
            blobs: plan.delete.length,
            bytes,
            temporaryFiles: plan.temporary.length,
            keptReferenced: plan.keptReferenced,
            keptRecent: plan.keptRecent,
            ...(done ? { removedFiles: done.files, removedBytes: done.bytes } : {}),
          }),
        );
        return;
      }
      const what = `${plan.delete.length} blob(s), ${mb(bytes)}${plan.temporary.length ? `, and ${plan.temporary.length} temporary file(s)` : ''}`;
      console.log(
        `${cfg.blobDir}: ${o.yes ? 'deleted' : 'would delete'} ${what}; kept ${plan.keptReferenced} old blob(s) used by ${openRuns} open run(s) and ${plan.keptRecent} recent one(s)`,
      );
      if (!o.yes && plan.delete.length + plan.temporary.length) console.log(pc.dim('run again with --yes to delete them'));
    });
}
