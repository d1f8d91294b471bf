/**
 * `braid ask`'s contract — the tool-calling agent's input, result and progress query, and its
 * workflow type. Shared by the workflow, the worker and the CLI; no Node APIs.
 */
import { defineQuery } from '@temporalio/workflow';
import type { Branch, ModelRole, RunTiming, UsageSummary } from './types';

/** Limits the CLI checks before starting a run and the workflow checks again (any client may start one). */
export const MAX_QUESTION_CHARS = 20_000;
export const MAX_TURNS = 50;
export const DEFAULT_MAX_TURNS = 6;

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
}

/** Why the agent stopped: the model's own stop reason, or `max_turns` when the run hit its turn limit. */
export type AgentStopReason = 'end_turn' | 'max_turns' | 'max_tokens' | 'refusal' | 'stop_sequence' | 'pause_turn';

/** The ask agent's result: the answer, why it stopped, every branch with its timing, and token usage. */
export interface AgentResult {
  answer: string;
  stopReason: AgentStopReason;
  turns: number;
  branches: Branch[];
  usage: UsageSummary;
  timing: RunTiming;
  simulated: boolean;
  models: string[];
}

/** What the agent is doing: starting, waiting for the model, running tools, or done. */
export type AgentPhase = 'starting' | 'thinking' | 'tools' | 'done';

/** What the agent's `progress` query answers while it runs. */
export interface AgentProgress {
  phase: AgentPhase;
  turn: number;
  maxTurns: number;
  branches: Branch[];
}

/** The ask agent's progress query (`progress`): phase, turn and branches so far. */
export const agentProgressQuery = defineQuery<AgentProgress>('progress');

/** The workflow type: the name of the workflow function in src/workflows/ask.ts (frozen, see docs/ARCHITECTURE.md). */
export const ASK_WORKFLOW = 'toolAgent';
