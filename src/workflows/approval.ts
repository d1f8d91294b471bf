/**
 * Waiting for a human decision, with deadlines.
 *
 * The gate takes decisions from an update (validated: answered at once, a refusal leaves no event
 * in history) and from a signal (checked the same way, but a refused signal can only be ignored
 * and logged). A repeated decision with the same verdict is accepted as a duplicate and changes
 * nothing; a different verdict after the fact is refused. At the first deadline the gate runs the
 * reminder it was given (an escalation to the reviewers) without blocking a decision that arrives
 * meanwhile; at the last deadline it takes the configured default decision itself.
 *
 * A refusal reaches the sender — the CLI, or the Web UI's *Send an Update* dialog — as its one-line
 * reason: the failure carries no stack trace, which would only show the worker's file paths.
 */
import { ApplicationFailure, condition, log, setHandler } from '@temporalio/workflow';
import {
  decideUpdate,
  decisionSignal,
  PublishFailure,
  type Decision,
  type DecisionReceipt,
  type DecisionRequest,
  type Verdict,
} from '../shared/publish';

/** Why the gate refuses a decision: a failure type and a one-line message for the sender. */
export type Refusal = { type: string; message: string };

/** The gate's deadlines: a reminder after `remindAfterMs` (when there is one), the default decision after `decideWithinMs`. */
export interface WaitOptions {
  remindAfterMs: number;
  decideWithinMs: number;
  defaultDecision: Verdict;
  /** Posts the reminder; `decideBy` is the last deadline, ISO-8601. Without it the gate waits for the last deadline alone. */
  remind?: (decideBy: string) => Promise<unknown>;
}

const past: Record<Verdict, string> = { approve: 'approved', reject: 'rejected' };

/** A refusal as the sender sees it: its type and message, no stack trace. */
export function refusal(r: Refusal): ApplicationFailure {
  const failure = ApplicationFailure.create({ type: r.type, message: r.message, nonRetryable: true });
  failure.stack = '';
  return failure;
}

/** Workflow-clock time as ISO-8601, for people reading a query or a result. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Waits for a human decision, taken by the `decide` update (validated) or the `decision` signal, with a
 * reminder and a default decision at the deadlines.
 */
export class ApprovalGate {
  decision: Decision | undefined;
  waiting = false;
  escalated = false;
  remindAt: number | undefined;
  decideBy: number | undefined;
  readonly ignoredSignals: { request: DecisionRequest; reason: string }[] = [];

  constructor(
    private readonly reviewers: readonly string[],
    /** Describes what the run is doing when a decision comes too early, e.g. "analysing the documents". */
    private readonly activity: () => string,
    /**
     * False for a gate among several (one per tool call, src/workflows/tool-approval.ts): whoever holds them
     * sets the `decide` and `decision` handlers once and routes each decision to its gate.
     */
    listen = true,
  ) {
    if (listen) this.listen();
  }

  private listen(): void {
    setHandler(decideUpdate, (req) => this.receive(req, 'update'), {
      validator: (req) => this.validate(req),
      description:
        'Approve or reject the report: {"verdict":"approve","reviewer":"<name>","comment":"…"} or {"verdict":"reject","reviewer":"<name>","reason":"…"}. Answers with the decision recorded, or the reason it was refused.',
    });
    setHandler(
      decisionSignal,
      (req) => {
        const r = this.check(req);
        if (r === 'duplicate') return;
        if (r) {
          log.warn('decision signal ignored', { reason: r.message });
          this.ignoredSignals.push({ request: req, reason: r.message });
          return;
        }
        this.record(req, 'signal');
      },
      {
        description:
          'The same decision as `decide`, for senders that cannot wait for an answer; one the update would refuse is ignored and listed in publishStatus. Prefer the update.',
      },
    );
  }

  /** Undefined: a new decision to record; 'duplicate': the same verdict is already recorded. */
  check(req: DecisionRequest): Refusal | 'duplicate' | undefined {
    if (typeof req !== 'object' || req === null) return { type: PublishFailure.InvalidDecision, message: 'the decision is empty' };
    if (req.verdict !== 'approve' && req.verdict !== 'reject') {
      return { type: PublishFailure.InvalidDecision, message: `verdict must be "approve" or "reject", got ${JSON.stringify(req.verdict)}` };
    }
    const reviewer = typeof req.reviewer === 'string' ? req.reviewer.trim() : '';
    if (!reviewer) return { type: PublishFailure.InvalidDecision, message: 'the reviewer is missing' };
    if (this.reviewers.length && !this.reviewers.includes(reviewer)) {
      return {
        type: PublishFailure.UnknownReviewer,
        message: `unknown reviewer "${reviewer}"; this run accepts decisions from ${this.reviewers.join(', ')}`,
      };
    }
    if (req.verdict === 'reject' && !(typeof req.reason === 'string' && req.reason.trim())) {
      return { type: PublishFailure.InvalidDecision, message: 'a rejection needs a reason: add "reason" to the decision' };
    }
    const d = this.decision;
    if (d) {
      if (d.verdict === req.verdict) return 'duplicate';
      return {
        type: PublishFailure.AlreadyDecided,
        message: `already decided: ${past[d.verdict]} by ${d.reviewer}${d.via === 'deadline' ? ' (default at the deadline)' : ''}`,
      };
    }
    if (!this.waiting)
      return { type: PublishFailure.NotAwaitingApproval, message: `not awaiting approval yet: the run is ${this.activity()}` };
    return undefined;
  }

  /** The update's validator: throws the refusal the sender sees. */
  validate(req: DecisionRequest): void {
    const r = this.check(req);
    if (r && r !== 'duplicate') throw refusal(r);
  }

  /** Takes a decision (the update's handler): its receipt, or the refusal thrown. */
  receive(req: DecisionRequest, via: Decision['via']): DecisionReceipt {
    const r = this.check(req);
    if (r === 'duplicate') return { accepted: true, duplicate: true, decision: this.decision! };
    if (r) throw refusal(r);
    return { accepted: true, duplicate: false, decision: this.record(req, via) };
  }

  /** Records a decision `check` accepted. */
  record(req: DecisionRequest, via: Decision['via']): Decision {
    const decision: Decision = { verdict: req.verdict, reviewer: req.reviewer.trim(), at: iso(Date.now()), via };
    if (req.comment?.trim()) decision.comment = req.comment.trim();
    if (req.reason?.trim()) decision.reason = req.reason.trim();
    if (req.toolUseId) decision.toolUseId = req.toolUseId;
    this.decision = decision;
    log.info('decision recorded', { verdict: decision.verdict, reviewer: decision.reviewer, via });
    return decision;
  }

  /** Waits for a decision; the reminder at the first deadline, the default decision at the last. */
  async wait(o: WaitOptions): Promise<Decision> {
    const start = Date.now();
    this.remindAt = o.remind ? start + o.remindAfterMs : undefined;
    this.decideBy = start + o.decideWithinMs;
    this.waiting = true;
    const decided = () => this.decision !== undefined;
    if (!o.remind) {
      await condition(decided, o.decideWithinMs, {
        summary: `take the default decision (${o.defaultDecision}) at ${iso(this.decideBy)} unless decided`,
      });
    } else if (
      !(await condition(decided, o.remindAfterMs, { summary: `remind the reviewers at ${iso(start + o.remindAfterMs)} unless decided` }))
    ) {
      this.escalated = true;
      const reminding = o
        .remind(iso(this.decideBy))
        .catch((err: unknown) => log.warn('the reminder could not be posted', { error: String(err) }));
      const remaining = this.decideBy - Date.now();
      if (remaining > 0)
        await condition(decided, remaining, {
          summary: `take the default decision (${o.defaultDecision}) at ${iso(this.decideBy)} unless decided`,
        });
      // The deadline has passed: decide now, so no late decision can win while a slow reminder retries.
      this.decideByDefault(o);
      await reminding;
    }
    this.decideByDefault(o);
    this.waiting = false;
    return this.decision!;
  }

  private decideByDefault(o: WaitOptions): void {
    this.decision ??= this.record(
      {
        verdict: o.defaultDecision,
        reviewer: 'braid',
        reason: `no decision within ${Math.round(o.decideWithinMs / 1000)} s; the configured default is to ${o.defaultDecision}`,
      },
      'deadline',
    );
  }
}
