/**
 * The side effects of `braid publish`: the publication steps, their compensations, the reminder.
 *
 * Every effect is keyed by an idempotency key the activity derives from its own identity — the
 * workflow run and the activity id, which the workflow sets to the step's name — so the key is the
 * same on every attempt and on re-execution after a worker crash, and different for every step of
 * every run. The store applies a key at most once (see store/publish-store.ts). Compensations
 * receive the key of the effect they undo and carry their own key for their own effect.
 *
 * A report too long to travel inline arrives as a reference (`reportStored`); the steps read it from
 * the blob store.
 */
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { blobFailure, type BlobTexts } from '../blobs/content';
import type { StoredText } from '../shared/blobs';
import { idempotencyKey, PublishFailure, reportText, type EffectRecord } from '../shared/publish';
import { DestinationError, sqlitePublishStores, type EffectOutcome, type PublishStore, type PublishStores } from '../store/publish-store';

export interface PublishDeps {
  publishStores?: PublishStores;
  /** Where a stored report is read from. */
  texts?: BlobTexts;
}

export interface PublicationRequest {
  destination: string;
  title: string;
  /** The report; only its preview when its body is stored. */
  report: string;
  /** The report's body (the model's text under the title), when stored. */
  reportStored?: StoredText;
}

export interface CompensationRequest {
  destination: string;
  /** The idempotency key of the effect to undo. */
  target: string;
}

function currentKey(): { key: string; workflowId: string; attempt: number } {
  const info = Context.current().info;
  if (!info.workflowExecution)
    throw ApplicationFailure.nonRetryable('publish activities run only inside a workflow', PublishFailure.InvalidInput);
  const { workflowId, runId } = info.workflowExecution;
  return { key: idempotencyKey(workflowId, runId, info.activityId), workflowId, attempt: info.attempt };
}

export function createPublishActivities(deps: PublishDeps) {
  const stores = deps.publishStores ?? sqlitePublishStores();

  function open(destination: string, retryable = true): PublishStore {
    if (typeof destination !== 'string' || !path.isAbsolute(destination)) {
      throw ApplicationFailure.nonRetryable(
        `destination must be an absolute path to a SQLite file, got ${JSON.stringify(destination)}`,
        PublishFailure.InvalidInput,
      );
    }
    try {
      return stores.open(destination);
    } catch (err) {
      const message =
        err instanceof DestinationError ? err.message : `destination ${destination} is unreachable: ${(err as Error).message}`;
      throw ApplicationFailure.create({ message, type: PublishFailure.DestinationUnreachable, nonRetryable: !retryable });
    }
  }

  /** The whole report of a request, read from the blob store when its body is stored. */
  async function wholeReport(req: PublicationRequest): Promise<string> {
    if (!req.reportStored) return req.report;
    if (!deps.texts) throw ApplicationFailure.nonRetryable('this worker has no blob store to read the stored report from', 'BlobNotFound');
    try {
      return reportText(req.title, await deps.texts.text(req.reportStored));
    } catch (err) {
      throw blobFailure(err);
    }
  }

  async function effect(
    step: string,
    apply: (store: PublishStore, key: string, workflowId: string) => EffectOutcome | Promise<EffectOutcome>,
    destination: string,
  ): Promise<EffectRecord> {
    const store = open(destination);
    const { key, workflowId, attempt } = currentKey();
    Context.current().heartbeat();
    const { applied } = await apply(store, key, workflowId);
    Context.current().log.info('publish effect', { step, key, applied, attempt });
    return { step, key, applied, attempt };
  }

  return {
    /** Opens (creating if needed) the destination before any work is done, so a bad one fails the run at once. */
    async checkDestination(destination: string): Promise<{ destination: string }> {
      open(destination, false);
      return { destination };
    },

    async storeReport(req: PublicationRequest): Promise<EffectRecord> {
      const body = await wholeReport(req);
      return effect('store-report', (s, key, workflowId) => s.storeReport(key, { workflowId, title: req.title, body }), req.destination);
    },

    async postNotification(req: PublicationRequest & { reportKey: string }): Promise<EffectRecord> {
      const report = await wholeReport(req);
      return effect(
        'post-notification',
        (s, key, workflowId) =>
          s.postMessage(key, {
            workflowId,
            kind: 'published',
            subject: `Published: ${req.title}`,
            body: report.slice(0, 500),
            refKey: req.reportKey,
          }),
        req.destination,
      );
    },

    async indexReport(req: PublicationRequest & { reportKey: string }): Promise<EffectRecord> {
      const body = await wholeReport(req);
      return effect(
        'index-report',
        (s, key, workflowId) => s.indexReport(key, { workflowId, reportKey: req.reportKey, title: req.title, body }),
        req.destination,
      );
    },

    async retractReport(req: CompensationRequest): Promise<EffectRecord> {
      return effect('retract-report', (s, key) => s.retractReport(key, req.target), req.destination);
    },

    async retractNotification(req: CompensationRequest): Promise<EffectRecord> {
      return effect('retract-notification', (s, key, workflowId) => s.retractNotification(key, req.target, workflowId), req.destination);
    },

    async unindexReport(req: CompensationRequest): Promise<EffectRecord> {
      return effect('unindex-report', (s, key) => s.unindexReport(key, req.target), req.destination);
    },

    /** The first deadline passed without a decision: tell the reviewers through the outbox, once. */
    async remindReviewers(req: {
      destination: string;
      title: string;
      reviewers: string[];
      /** ISO-8601 (epoch ms from runs started before deadlines were ISO). */
      decideBy: string | number;
      defaultDecision: string;
    }): Promise<EffectRecord> {
      const who = req.reviewers.length ? req.reviewers.join(', ') : 'any reviewer';
      return effect(
        'remind-reviewers',
        (s, key, workflowId) =>
          s.postMessage(key, {
            workflowId,
            kind: 'reminder',
            subject: `Decision needed: ${req.title}`,
            body: `${who}: run ${workflowId} awaits approval; without a decision by ${new Date(req.decideBy).toISOString()} it will be ${req.defaultDecision === 'approve' ? 'approved' : 'rejected'} by default.`,
          }),
        req.destination,
      );
    },
  };
}
