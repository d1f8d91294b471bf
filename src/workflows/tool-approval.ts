/**
 * A person's approval of single tool calls: the ask agent's destructive tools (issue #12 §3, "permission
 * before harm"). Each call that needs approval gets an ApprovalGate of its own, keyed by its `tool_use`
 * id, so several calls of one turn wait side by side and each is decided alone; the run's one `decide`
 * update and `decision` signal — the same messages, checks and CLI path (`braid approve`, `braid reject`)
 * as a publish run's — carry the call's `toolUseId` and are routed to its gate. A decision that names no
 * call is taken for the one call that waits, and refused when several do, so nobody approves a call they
 * did not mean. The default at the deadline is always to reject: silence never runs a destructive tool.
 */
import { log, setHandler } from '@temporalio/workflow';
import type { ToolApproval } from '../shared/ask';
import { gist } from '../shared/content';
import { decideUpdate, decisionSignal, PublishFailure, type Decision, type DecisionReceipt, type DecisionRequest } from '../shared/publish';
import type { ToolUseBlock } from '../shared/types';
import { ApprovalGate, iso, refusal, type Refusal } from './approval';

/** A decision's gate, and the request with the call it names filled in. */
type Routed = { gate: ApprovalGate; req: DecisionRequest };

export class ToolApprovals {
  private readonly calls = new Map<string, { gate: ApprovalGate; approval: ToolApproval }>();

  constructor(
    private readonly reviewers: readonly string[],
    /** What the run is doing, for a decision that comes when no call waits. */
    private readonly doing: () => string,
    /** Calls decided in the runs before this one continued as new: listed, no longer decidable. */
    private readonly earlier: readonly ToolApproval[] = [],
  ) {
    setHandler(decideUpdate, (req): DecisionReceipt => this.route(req).gate.receive(this.route(req).req, 'update'), {
      validator: (req) => this.route(req).gate.validate(req),
      description:
        'Approve or reject a tool call that waits: {"verdict":"approve","reviewer":"<name>","toolUseId":"<id>"} or {"verdict":"reject","reviewer":"<name>","reason":"…","toolUseId":"<id>"}; toolUseId may be left out while only one call waits. The `progress` query lists the calls that wait.',
    });
    setHandler(
      decisionSignal,
      (req) => {
        const found = this.find(req);
        const r = 'type' in found ? found : found.gate.check(req);
        if (r === 'duplicate') return;
        if (r) return void log.warn('decision signal ignored', { reason: r.message });
        if (!('type' in found)) found.gate.record(found.req, 'signal');
      },
      { description: 'The same decision as `decide`, for senders that cannot wait for an answer; one the update would refuse is ignored.' },
    );
  }

  /** Every call that waited or waits, in the order they began to wait. */
  list(): ToolApproval[] {
    return [...this.earlier, ...[...this.calls.values()].map(({ approval }) => ({ ...approval }))];
  }

  /** How many calls wait now. */
  waiting(): number {
    return [...this.calls.values()].filter((c) => c.approval.state === 'waiting').length;
  }

  /** Waits for a person's decision on `call`; a rejection (or no decision by the deadline) is returned, not thrown. */
  async decide(call: ToolUseBlock, turn: number, timeoutMs: number): Promise<Decision> {
    const gate = new ApprovalGate(this.reviewers, this.doing, false);
    const approval: ToolApproval = {
      toolUseId: call.id,
      tool: call.name,
      turn,
      input: gist(call.input, 300),
      state: 'waiting',
      decideBy: iso(Date.now() + timeoutMs),
    };
    this.calls.set(call.id, { gate, approval });
    const decision = await gate.wait({ remindAfterMs: timeoutMs, decideWithinMs: timeoutMs, defaultDecision: 'reject' });
    approval.state = decision.verdict === 'approve' ? 'approved' : 'rejected';
    approval.decision = decision;
    return decision;
  }

  /** The gate a decision is for, with the request naming its call, or why there is none. */
  private find(req: DecisionRequest): Routed | Refusal {
    const id = typeof req?.toolUseId === 'string' ? req.toolUseId.trim() : '';
    const waiting = [...this.calls.values()].filter((c) => c.approval.state === 'waiting').map((c) => c.approval.toolUseId);
    const listed = waiting.length ? `; waiting: ${waiting.join(', ')}` : '';
    const routed = (toolUseId: string): Routed => ({ gate: this.calls.get(toolUseId)!.gate, req: { ...req, toolUseId } });
    if (id) {
      if (this.calls.has(id)) return routed(id);
      return { type: PublishFailure.NotAwaitingApproval, message: `no tool call ${id} of this run awaits approval${listed}` };
    }
    if (waiting.length === 1) return routed(waiting[0]!);
    if (waiting.length === 0)
      return { type: PublishFailure.NotAwaitingApproval, message: `no tool call awaits approval: the run is ${this.doing()}` };
    return {
      type: PublishFailure.InvalidDecision,
      message: `${waiting.length} tool calls await approval (${waiting.join(', ')}); name one with its toolUseId`,
    };
  }

  private route(req: DecisionRequest): Routed {
    const found = this.find(req);
    if ('type' in found) throw refusal(found);
    return found;
  }
}
