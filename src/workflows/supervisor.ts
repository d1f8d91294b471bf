/**
 * A lead agent's supervisor: it starts its team members as child workflows with derived ids
 * (`actor/<lead>/<name>`) and restarts one that fails — one-for-one: only the failed child, from
 * its spec, with a fresh memory — at most `maxRestarts` times within `withinMs`; one more failure
 * in the window escalates: the lead fails, and its own supervisor (if any) deals with that.
 *
 * Children are started with ParentClosePolicy ABANDON because a lead continues as new during a long
 * life, and Temporal applies the parent-close policy to a run that continues as new as much as to one
 * that ends: with TERMINATE every continue-as-new would kill the team. So the supervisor stops and
 * cancels its children itself, and it learns of a failure two ways: the child's result, for a child
 * this run started (authoritative: it covers termination too), and the child's `exited` signal —
 * its last act before it fails or stops — for children started before the lead's last
 * continue-as-new. An incarnation is told from the next by its first run id, so a late notice about
 * an earlier one restarts nothing.
 *
 * A restart is a new child run under the same id, so it shows in the lead's history (the child
 * failed, the same id started again) and in the Web UI (the child's summary says which restart it
 * is; the lead's current details list the restarts and their causes).
 */
import {
  getExternalWorkflowHandle,
  isCancellation,
  ParentClosePolicy,
  sleep,
  startChild,
  workflowInfo,
  condition,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ACTOR_WORKFLOW,
  actorWorkflowId,
  childAddress,
  stopSignal,
  type ActorInput,
  type CarriedChild,
  type ChildExit,
  type ChildState,
  type RestartRecord,
  type Supervision,
  type TeamMember,
} from '../shared/actor';
import { failureMessage } from '../shared/failures';
import { BraidKind, BraidStatus } from '../shared/search-attributes';

interface Child extends CarriedChild {
  /** Started by this run: its result decides, its `exited` notices are ignored. */
  own: boolean;
}

/** How often, and how long apart, a restart waits for the failed incarnation's run to close. */
const START_RETRIES = 40;
const START_RETRY_MS = 500;
const RESTARTS_SHOWN = 20;

export interface SupervisorEvents {
  /** A child ended or failed: requests waiting for its answers fail with `reason`. */
  childDown(address: string, reason: string): void;
  /** Something to show (current details). */
  changed(): void;
}

export class Supervisor {
  private readonly children = new Map<string, Child>();
  readonly restarts: RestartRecord[];
  /** Set when a child failed more often than the policy allows: the lead must fail. */
  escalation: string | undefined;
  private stopping = false;

  constructor(
    private readonly self: string,
    private readonly policy: Supervision,
    private readonly events: SupervisorEvents,
    carried: CarriedChild[] = [],
    restarts: RestartRecord[] = [],
  ) {
    for (const c of carried) this.children.set(c.name, { ...c, own: false });
    this.restarts = [...restarts];
  }

  /** Starts the team (a lead's first run); a member already running under its address (an earlier lead's) is adopted. */
  async spawn(members: TeamMember[]): Promise<void> {
    await Promise.all(
      members.map((m) => {
        const child: Child = {
          name: m.name,
          address: childAddress(this.self, m.name),
          spec: m.spec,
          status: 'running',
          generation: 1,
          restarts: 0,
          restartTimes: [],
          own: false,
        };
        this.children.set(m.name, child);
        return this.start(child, false);
      }),
    );
  }

  private async start(c: Child, restart: boolean): Promise<void> {
    const labelled = workflowInfo().typedSearchAttributes.get(BraidKind) !== undefined;
    const input: ActorInput = { address: c.address, spec: c.spec, parent: this.self, generation: c.generation };
    for (let attempt = 1; ; attempt++) {
      try {
        const handle = await startChild(ACTOR_WORKFLOW, {
          workflowId: actorWorkflowId(c.address),
          args: [input],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          staticSummary: `${c.name}: ${c.spec.role}${c.generation > 1 ? ` · restart ${c.generation - 1}` : ''} (team of ${this.self})`,
          ...(labelled
            ? {
                typedSearchAttributes: [
                  { key: BraidKind, value: 'actor' },
                  { key: BraidStatus, value: 'running' },
                ],
              }
            : {}),
        });
        c.firstRunId = handle.firstExecutionRunId;
        c.own = true;
        c.status = 'running';
        const runId = handle.firstExecutionRunId;
        handle.result().then(
          () => this.exited(c, runId, 'stopped'),
          (err: unknown) => this.exited(c, runId, isCancellation(err) ? 'cancelled' : 'failed', failureMessage(err)),
        );
        this.events.changed();
        return;
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        if (!restart) {
          // Still running from an earlier life of this lead: it reports to this address, so supervise it.
          c.own = false;
          c.firstRunId = undefined;
          c.status = 'running';
          this.events.changed();
          return;
        }
        // The failed incarnation has said so but its run is not closed yet.
        if (attempt >= START_RETRIES || this.stopping) {
          c.status = 'failed';
          this.escalation ??= `could not restart ${c.address}: its failed run did not close`;
          this.events.changed();
          return;
        }
        await sleep(START_RETRY_MS);
      }
    }
  }

  /** A child's `exited` notice (its last signal). */
  noticed(exit: ChildExit): void {
    const c = [...this.children.values()].find((x) => x.address === exit.address);
    if (!c || c.own) return;
    this.exited(c, exit.firstRunId, exit.outcome, exit.reason);
  }

  private exited(c: Child, runId: string | undefined, outcome: ChildExit['outcome'], reason?: string): void {
    if (c.status !== 'running' || (runId !== undefined && c.firstRunId !== undefined && runId !== c.firstRunId)) return;
    const why = reason ?? outcome;
    this.events.childDown(c.address, `${c.address} ${outcome === 'failed' ? `failed: ${why}` : outcome}`);
    if (outcome !== 'failed' || this.stopping) {
      c.status = outcome === 'failed' ? 'failed' : 'stopped';
      this.events.changed();
      return;
    }
    c.lastFailure = why;
    const now = Date.now();
    c.restartTimes = c.restartTimes.filter((t) => now - t < this.policy.withinMs);
    if (c.restartTimes.length >= this.policy.maxRestarts) {
      c.status = 'failed';
      this.escalation ??= `${c.address} failed ${c.restartTimes.length + 1} times within ${Math.round(this.policy.withinMs / 1000)} s (at most ${this.policy.maxRestarts} restarts): ${why}`;
      this.events.changed();
      return;
    }
    c.restartTimes.push(now);
    c.restarts++;
    c.generation++;
    c.status = 'restarting';
    this.restarts.push({ child: c.address, generation: c.generation, reason: why, at: now });
    if (this.restarts.length > RESTARTS_SHOWN) this.restarts.shift();
    this.events.changed();
    void this.start(c, true);
  }

  /** The members that can take a question now, in team order. */
  running(): { name: string; address: string }[] {
    return [...this.children.values()].filter((c) => c.status === 'running').map((c) => ({ name: c.name, address: c.address }));
  }

  status(name: string): ChildState['status'] | undefined {
    return this.children.get(name)?.status;
  }

  /** No child is between a failure and its restart: a question now reaches every member. */
  settled(): boolean {
    return [...this.children.values()].every((c) => c.status !== 'restarting');
  }

  /** The member fails on a message it cannot handle (its default as a supervised child), rather than answering with the error. */
  crashes(name: string): boolean {
    return (this.children.get(name)?.spec.onError ?? 'crash') === 'crash';
  }

  /**
   * Stops every child — gracefully (`stop`: each finishes its current message) or by cancellation —
   * and waits up to `waitMs` for all to be gone. Failures from now on are not restarted.
   */
  async stopAll(how: 'stop' | 'cancel', waitMs: number): Promise<void> {
    this.stopping = true;
    const live = [...this.children.values()].filter((c) => c.status === 'running' || c.status === 'restarting');
    await Promise.all(
      live.map(async (c) => {
        const h = getExternalWorkflowHandle(actorWorkflowId(c.address));
        try {
          await (how === 'stop' ? h.signal(stopSignal, { reason: `${this.self} is stopping` }) : h.cancel());
        } catch {
          // already gone
        }
      }),
    );
    await condition(() => live.every((c) => c.status !== 'running' && c.status !== 'restarting'), waitMs);
  }

  state(): ChildState[] {
    return [...this.children.values()].map(({ name, address, status, generation, restarts, lastFailure }) => ({
      name,
      address,
      status,
      generation,
      restarts,
      ...(lastFailure !== undefined ? { lastFailure } : {}),
    }));
  }

  carry(): CarriedChild[] {
    return [...this.children.values()].map(({ own: _own, ...c }) => ({ ...c, restartTimes: [...c.restartTimes] }));
  }
}
