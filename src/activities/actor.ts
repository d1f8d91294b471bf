/**
 * What agents (`braid actor`) need from the world: delivering a message to another agent by its
 * address, starting it if it is absent; the versioned store they share state through; and the blob
 * store for a mailbox too large to carry inline into the next run.
 *
 * Workflow code can signal a workflow it knows is running (its children), but it cannot start one
 * that is not its child, nor learn that an address is absent or stopped: delivery to any other
 * address is this activity's signal-with-start. It never resurrects a stopped agent (a closed
 * workflow id is refused, not reused), and it never waits for the answer — the receiver answers
 * with a `reply` signal, so no activity slot is held while another agent works.
 */
import { Context } from '@temporalio/activity';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowSignalWithStartOptions,
} from '@temporalio/client';
import { ApplicationFailure, TypedSearchAttributes, WorkflowIdReusePolicy, type WithWorkflowArgs } from '@temporalio/common';
import { blobFailure } from '../blobs/content';
import type { BlobStore } from '../blobs/store';
import { ACTOR_WORKFLOW, actorWorkflowId, tellSignal, type ActorInput, type ActorSpec, type Envelope } from '../shared/actor';
import { BraidKind, BraidStatus } from '../shared/search-attributes';
import type { Versioned, VersionedStore, WriteOutcome } from '../store/shared-state';

export interface ActorDeps {
  /** A client of the worker's own Temporal connection. */
  temporal?: Client;
  /** Shared state; opened on first use. */
  shared?: VersionedStore;
  blobs?: BlobStore;
}

export interface DeliverRequest {
  to: string;
  envelope: Envelope;
  /** Start the agent with this spec when no agent has the address yet. */
  startIfAbsent?: { spec: ActorSpec; taskQueue: string };
}

export interface SharedWrite {
  key: string;
  value: unknown;
  expectedVersion?: number;
}

/** Failure types a sender sees (non-retryable: waiting does not bring an agent back). */
export const ActorFailure = { NotFound: 'ActorNotFound', Stopped: 'ActorStopped' } as const;

const need = <T>(dep: T | undefined, what: string): T => {
  if (dep === undefined) throw ApplicationFailure.nonRetryable(`this worker has no ${what}`, 'WorkerMisconfigured');
  return dep;
};

/** The activity's identity, the same on every attempt: a write retried after it landed is recognised by it. */
function writerToken(): string {
  const info = Context.current().info;
  const run = info.workflowExecution;
  return `${run?.workflowId ?? '-'}/${run?.runId ?? '-'}/${info.activityId}`;
}

export function createActorActivities(deps: ActorDeps) {
  async function closedOrMissing(client: Client, to: string): Promise<never> {
    const status = await client.workflow
      .getHandle(actorWorkflowId(to))
      .describe()
      .then((d) => d.status.name)
      .catch(() => undefined);
    if (status === undefined) throw ApplicationFailure.nonRetryable(`no agent has the address ${to}`, ActorFailure.NotFound);
    throw ApplicationFailure.nonRetryable(`agent ${to} is not running (${status.toLowerCase()})`, ActorFailure.Stopped);
  }

  return {
    /** Signals `to`'s mailbox; with `startIfAbsent`, starts the agent first when the address is free. */
    async actorDeliver(req: DeliverRequest): Promise<void> {
      const client = need(deps.temporal, 'Temporal client');
      const workflowId = actorWorkflowId(req.to);
      if (!req.startIfAbsent) {
        try {
          await client.workflow.getHandle(workflowId).signal(tellSignal, req.envelope);
          return;
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return closedOrMissing(client, req.to);
          throw err;
        }
      }
      const input: ActorInput = { address: req.to, spec: req.startIfAbsent.spec };
      const options = (
        labelled: boolean,
      ): WithWorkflowArgs<(input: ActorInput) => Promise<unknown>, WorkflowSignalWithStartOptions<[Envelope]>> => ({
        workflowId,
        taskQueue: req.startIfAbsent!.taskQueue,
        args: [input],
        signal: tellSignal,
        signalArgs: [req.envelope],
        // A stopped agent stays stopped: its address is refused, not given to a new agent.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: `agent ${req.to}: ${req.startIfAbsent!.spec.role} (started by ${req.envelope.from})`,
        ...(labelled
          ? {
              typedSearchAttributes: new TypedSearchAttributes([
                { key: BraidKind, value: 'actor' },
                { key: BraidStatus, value: 'running' },
              ]),
            }
          : {}),
      });
      try {
        try {
          await client.workflow.signalWithStart(ACTOR_WORKFLOW, options(true));
        } catch (err) {
          if (!(err instanceof Error && /search attribute/i.test(err.message))) throw err;
          await client.workflow.signalWithStart(ACTOR_WORKFLOW, options(false));
        }
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return closedOrMissing(client, req.to);
        throw err;
      }
    },

    async sharedRead(key: string): Promise<Versioned> {
      return need(deps.shared, 'shared-state store').read(key);
    },

    /** A write; with `expectedVersion`, compare-and-swap. A retry of a write that landed reports it as done. */
    async sharedWrite(w: SharedWrite): Promise<WriteOutcome> {
      return need(deps.shared, 'shared-state store').write({ ...w, token: writerToken() });
    },

    /** Stores a value as JSON in the blob store (a large mailbox carried to the next run); returns its reference. */
    async actorStash(value: unknown): Promise<string> {
      return need(deps.blobs, 'blob store').put(JSON.stringify(value));
    },

    async actorUnstash(ref: string): Promise<unknown> {
      const blobs = need(deps.blobs, 'blob store');
      try {
        return JSON.parse((await blobs.get(ref)).toString('utf8')) as unknown;
      } catch (err) {
        throw blobFailure(err);
      }
    },
  };
}
