/**
 * Streaming contracts (issue #12 §2), shared by the model activity and the workflows; no Node APIs.
 *
 * Early tool dispatch: a model activity asked to announce tool calls signals the workflow that
 * started it with each `tool_use` block the moment the stream completes it (`content_block_stop`),
 * so the workflow can start that tool while the model is still writing the next one. A signal and
 * not a heartbeat: a workflow cannot read the heartbeat details of a running activity, while a
 * signal is an event in the run's history, so the tools it starts replay in the same order.
 */
import { defineSignal } from '@temporalio/workflow';
import type { ToolUseBlock } from './types';

/** What a model call that may announce its tool calls is told: which turn of the run it is. */
export interface AnnounceTools {
  turn: number;
}

/** One complete `tool_use` block of a model call still streaming. */
export interface ToolBlockReady {
  /** The run's turn the call belongs to (`AnnounceTools.turn`); the workflow ignores other turns. */
  turn: number;
  /** The model activity's attempt that streamed the block: a retried stream announces its calls again. */
  attempt: number;
  block: ToolUseBlock;
}

export const toolBlockReadySignal = defineSignal<[ToolBlockReady]>('braid.toolBlockReady');

/** JSON with object keys sorted, so two equal tool inputs give one key whatever order the model wrote them in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The identity of a tool call for reuse across a retried stream: its name and its input, not its id. */
export const callKey = (block: Pick<ToolUseBlock, 'name' | 'input'>): string => `${block.name}\u0000${canonicalJson(block.input)}`;

/** Where a model call streams the text it writes (src/store/answer-stream.ts): a label for the branch it is. */
export interface StreamTo {
  branch: string;
}

/**
 * One entry of a run's answer stream. An attempt starts with `start` — a reader drops what an
 * earlier attempt of the same branch wrote — goes on with `text`, and ends with `end` when the call
 * succeeded. The text never enters the workflow's history.
 */
export type AnswerChunk = { branch: string; attempt: number } & ({ kind: 'start' } | { kind: 'text'; text: string } | { kind: 'end' });

/**
 * Stage overlap (the content pipeline): a model call asked to announce sections signals the
 * workflow that started it with each complete section of its text — a paragraph, ended by a blank
 * line — while it goes on writing, so the next stage can start on that section at once.
 */
export interface AnnounceSections {
  /** The workflow's round (one per model call that announces); the workflow ignores other rounds. */
  round: number;
}

/** One complete section of a model call still streaming. */
export interface SectionReady {
  round: number;
  /** The model activity's attempt that streamed it: a retried stream announces its sections again. */
  attempt: number;
  /** The section's position in the text, from 0 (empty paragraphs are not counted). */
  index: number;
  text: string;
}

export const sectionReadySignal = defineSignal<[SectionReady]>('braid.sectionReady');

/** A section of a text: its position and its paragraph. */
export interface Section {
  index: number;
  text: string;
}

/** Where one section ends: a blank line (whitespace allowed on it). */
export const SECTION_BREAK = /\n[^\S\n]*\n/;

/** A text's sections: its paragraphs, trimmed, empty ones dropped — the same split the stream announces. */
export function splitSections(text: string): Section[] {
  return text
    .split(SECTION_BREAK)
    .map((t) => t.trim())
    .filter((t) => t.length > 0)
    .map((t, index) => ({ index, text: t }));
}

/**
 * Finds sections in a text that arrives in pieces: `push` returns the sections the text completed,
 * in order, numbered as `splitSections` numbers them on the whole text; the last, unfinished one
 * stays behind (it is the whole text's last section).
 */
export class SectionSplitter {
  private rest = '';
  private next = 0;

  push(piece: string): Section[] {
    this.rest += piece;
    const done: Section[] = [];
    for (let m = SECTION_BREAK.exec(this.rest); m; m = SECTION_BREAK.exec(this.rest)) {
      const text = this.rest.slice(0, m.index).trim();
      this.rest = this.rest.slice(m.index + m[0].length);
      if (text) done.push({ index: this.next++, text });
    }
    return done;
  }
}

/** The identity of a section for reuse across a retried stream: its position and its text. */
export const sectionKey = (s: Section): string => `${s.index}\u0000${s.text}`;
