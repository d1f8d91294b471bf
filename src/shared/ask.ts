/**
 * `braid ask`'s contract — the tool-calling agent's input, result and progress query, and its
 * workflow type. Shared by the workflow, the worker and the CLI; no Node APIs.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { StoredText } from './blobs';
import { inputBound, type BudgetReport, type RunBudgetSetting } from './budget';
import type { CostSummary, ModelPrice } from './pricing';
import type { Decision } from './publish';
import { gist } from './content';
import type { Branch, ChatMessage, ModelRole, RunLabels, RunTiming, ToolInfo, UsageSummary } from './types';
import type { PartialSpend } from './usage';

/** Limits the CLI checks before starting a run and the workflow checks again (any client may start one). */
export const MAX_QUESTION_CHARS = 20_000;
export const MAX_TURNS = 50;
export const DEFAULT_MAX_TURNS = 6;
/**
 * A run continues as new between turns once its history passes either figure (or the server
 * suggests it): far below Temporal's limits of 51,200 events and 50 MB, and its own advice of
 * 10,240 events and 4 MB, since one turn of many tools adds several hundred events.
 */
export const CONTINUE_AS_NEW_AFTER_EVENTS = 4_000;
export const CONTINUE_AS_NEW_AFTER_BYTES = 2 * 1024 * 1024;
/** How long a destructive tool call waits for a person's decision before it is refused, unless the run says otherwise. */
export const DEFAULT_TOOL_APPROVAL_MS = 10 * 60_000;
/** The longest a run may let a tool call wait for a decision: a week. */
export const MAX_TOOL_APPROVAL_MS = 7 * 24 * 3_600_000;

/** The ask agent's input: the question, and optionally the tools, system prompt, model role and limits. */
export interface AgentInput {
  question: string;
  /** Model turns allowed (1–MAX_TURNS) before the run stops with stopReason 'max_turns'. Default 6. */
  maxTurns?: number;
  /** Restrict the tools offered to the model; default: every tool the worker registers. */
  tools?: string[];
  role?: ModelRole;
  system?: string;
  maxTokens?: number;
  /**
   * Start each tool the moment the model's stream completes its tool_use block, before the whole
   * turn is written (default true; see src/workflows/early-tools.ts). False waits for the turn.
   */
  earlyDispatch?: boolean;
  /** Continue as new once history passes this many events (default CONTINUE_AS_NEW_AFTER_EVENTS). */
  continueAsNewAfterEvents?: number;
  /** USD per million tokens by model, for `cost`; default the list prices (src/shared/pricing.ts). The CLI passes its table. */
  prices?: Record<string, ModelPrice>;
  /**
   * Destructive tools whose calls may run once a person approves each one (the `decide` update or `decision` signal
   * with the call's `toolUseId`, as `braid approve <workflowId> --call <id>` sends); a destructive tool named neither
   * here nor in the worker's MCP config (`approve`) is refused without asking. Every name must be a tool the run offers.
   */
  approveTools?: string[];
  /** How long each such call waits for a decision before it is refused (1 ms to MAX_TOOL_APPROVAL_MS; default DEFAULT_TOOL_APPROVAL_MS). */
  approvalTimeoutMs?: number;
  /** Who may approve or reject tool calls; empty or absent means anyone. */
  reviewers?: string[];
  /** Hedge the agent's slow model turns (`braid ask --hedge`); default: no hedging, the calls go out once. */
  hedge?: AskHedge;
  /**
   * Set by a parent workflow that may cancel this run (speculation's `agent` strategy): cancelled, the
   * run signals what it had spent to its parent (`agentSpendSignal`) before it ends, its model calls
   * wait for their cancellation so a cut stream's spend is known. Runs without it end as before.
   */
  reportSpendOnCancel?: boolean;
  /**
   * The most the run may spend (src/shared/budget.ts): each model turn reserves its worst case — a
   * bound on what it sends, and `maxTokens` (else `budget.maxTokens`) out — before it starts, and a
   * turn that does not fit is not started: the run ends `budget-reached` with what it has.
   */
  budget?: RunBudgetSetting;
  /** Set by the run itself when it continues as new: where it was. Clients leave it out. */
  carry?: AgentCarry;
}

/**
 * Hedged model turns (src/workflows/hedge.ts): a turn slower than the worker's recent p95 for its
 * model starts one hedge, the first complete answer wins and the other is cancelled; the worker
 * refuses hedges past `maxRate` of its model calls of the last minutes.
 */
export interface AskHedge {
  /** At most this share of the worker's model calls is hedged: more than 0, at most MAX_HEDGE_RATE (the default). */
  maxRate?: number;
  /** Completed calls of the model on the worker before its p95 counts (default DEFAULT_HEDGE_MIN_SAMPLES). */
  minSamples?: number;
  /** Send the hedge to this model (a role name or model id); default the same model again. */
  model?: string;
}

/** Hedging can never pass a tenth of the calls: in an incident, when every call is slow, it must not double the load. */
export const MAX_HEDGE_RATE = 0.1;
export const DEFAULT_HEDGE_MIN_SAMPLES = 20;
export const HEDGE_MIN_SAMPLES_BOUNDS = { min: 1, max: 200 };

/** What is wrong with a hedge setting, or undefined; the CLI and the workflow both check it. */
export function hedgeProblem(h: AskHedge): string | undefined {
  if (h.maxRate !== undefined && !(h.maxRate > 0 && h.maxRate <= MAX_HEDGE_RATE))
    return `the hedge rate must be more than 0 and at most ${MAX_HEDGE_RATE * 100} % of calls, got ${String(h.maxRate)}`;
  const { min, max } = HEDGE_MIN_SAMPLES_BOUNDS;
  if (h.minSamples !== undefined && !(Number.isInteger(h.minSamples) && h.minSamples >= min && h.minSamples <= max))
    return `the hedge needs ${min}-${max} samples before its p95 counts, got ${String(h.minSamples)}`;
  if (h.model !== undefined && !h.model.trim()) return 'the hedge model is empty';
  return undefined;
}

/** How the agent's hedged model turns went (absent from runs without `hedge`). */
export interface HedgingReport {
  /** Model turns made through the hedger. */
  calls: number;
  /** Turns whose hedge started (past the threshold, within the budget). */
  hedged: number;
  /** Turns the hedge answered first. */
  wonByHedge: number;
  /** Turns past the threshold whose hedge the worker refused: its budget was spent. */
  refused: number;
  /** What the losing twins spent (cut streams, estimated), in dollars; part of `cost`. */
  lostUsd: number;
}

/**
 * What a cancelled agent had spent (see `reportSpendOnCancel`): its finished model calls' usage, and
 * as estimated the calls cut by the cancel or failed on the way (output counted from the streamed text).
 */
export interface AgentSpend {
  usage: UsageSummary;
  estimated: PartialSpend[];
}

/** Sent by a cancelled agent to its parent (internal, frozen): what it had spent. */
export const agentSpendSignal = defineSignal<[AgentSpend]>('internal.agentSpend');

/** What a run hands to its continuation: the conversation by reference, and everything the result and progress report. */
export interface AgentCarry {
  turn: number;
  segments: string[];
  messages: ChatMessage[];
  tools: ToolInfo[];
  branches: Branch[];
  /** Workflow-clock start of the first run. */
  startedAt: number;
  models: string[];
  simulated: boolean;
  /** Runs so far, this one included. */
  runs: number;
  /** Tool calls that waited for approval in the runs before. */
  approvals?: ToolApproval[];
}

/** Why the agent stopped: the model's own stop reason, or `max_turns` when the run hit its turn limit. */
export type AgentStopReason = 'end_turn' | 'max_turns' | 'max_tokens' | 'refusal' | 'stop_sequence' | 'pause_turn' | 'budget';

/** The ask agent's result: the answer, why it stopped, every branch with its timing, and token usage. */
export interface AgentResult {
  /** The answer; only its preview when it is stored (`answerStored`) — the CLI reads it back. */
  answer: string;
  answerStored?: StoredText;
  stopReason: AgentStopReason;
  turns: number;
  branches: Branch[];
  usage: UsageSummary;
  /** The model turns' dollars, from `usage.byModel` at the input's `prices` (absent from runs that began before it was added). */
  cost?: CostSummary;
  timing: RunTiming;
  simulated: boolean;
  models: string[];
  /** Runs the agent took: more than one when it continued as new (absent from runs that began before it could). */
  runs?: number;
  /** The tool calls that waited for a person's approval, and what was decided (absent when none did). */
  approvals?: ToolApproval[];
  /** How hedging went, for a run with `hedge` (this run's turns; a run that continued as new counts its last part). */
  hedging?: HedgingReport;
  /** `budget-reached` when the budget stopped the run before its next model turn (stopReason `budget`). */
  status?: 'budget-reached';
  /** The budget and what was spent against it (runs with a budget only). */
  budget?: BudgetReport;
}

/**
 * A bound on the input tokens of an agent's first model turn: the system prompt, the messages and
 * the tools offered (a token is at least one character), plus the framing and the tool-use system
 * prompt the API adds.
 */
export function firstTurnInputBound(system: string | undefined, messages: readonly ChatMessage[], tools: readonly ToolInfo[]): number {
  return inputBound(
    [system, JSON.stringify(messages), ...tools.map((t) => `${t.name}${t.description}${JSON.stringify(t.inputSchema ?? {})}`)],
    800,
  );
}

/** A destructive tool call that waits (or waited) for a person's approval. */
export interface ToolApproval {
  /** The call's `tool_use` id: what a decision names as its `toolUseId`. */
  toolUseId: string;
  tool: string;
  turn: number;
  /** The call's input, shortened, for the person deciding. */
  input: string;
  state: 'waiting' | 'approved' | 'rejected';
  /** When the call is refused if no one decides (ISO-8601, workflow clock). */
  decideBy: string;
  /** The decision; `via: 'deadline'` when no one decided in time. */
  decision?: Decision;
}

/** What the agent is doing: starting, waiting for the model, running tools, or done. */
export type AgentPhase = 'starting' | 'thinking' | 'tools' | 'done';

/** What the agent's `progress` query answers while it runs. */
export interface AgentProgress {
  phase: AgentPhase;
  turn: number;
  maxTurns: number;
  branches: Branch[];
  /** Tool calls that wait or waited for a person's approval (absent from runs that have none). */
  approvals?: ToolApproval[];
}

/** The ask agent's progress query (`progress`): phase, turn and branches so far. */
export const agentProgressQuery = defineQuery<AgentProgress>('progress');

/** The run's static summary and details, for whoever starts it. */
export function askLabels(input: AgentInput): RunLabels {
  return {
    summary: `ask: ${gist(input.question, 100)}`,
    details: [
      `**Question:** ${gist(input.question, 500)}`,
      `**Up to** ${input.maxTurns ?? DEFAULT_MAX_TURNS} model turns · **model:** ${input.role ?? 'capable'} · **tools:** ${input.tools?.join(', ') || "all the worker's"}`,
    ].join('\n\n'),
  };
}

/** The workflow type: the name of the workflow function in src/workflows/ask.ts (frozen, see docs/ARCHITECTURE.md). */
export const ASK_WORKFLOW = 'toolAgent';
