/**
 * A run's history, read as branches: every activity, child workflow and timer becomes a span with
 * its label (the `summary` the Web UI shows), its times (scheduled, started, ended), attempts,
 * status, and for model calls the tokens and dollars. From the spans come the critical path, the
 * fan-out width over time and where the time went. `braid report` renders what this returns.
 *
 * Only history is read, so this works for every workflow kind Braid has and any it gains: a kind it
 * knows nothing about is still drawn as its activities, children and timers. Pure: it is given the
 * histories (the run's and, nested, its children's) and the time to draw running branches up to.
 *
 * The critical-path rule: a branch depends on every branch whose end the workflow had seen when it
 * scheduled it — whose closing event precedes the workflow task that scheduled it (history event
 * ids give the order); a timer the workflow cancelled (a wait a decision ended) counts as ended at
 * the task that cancelled it. The critical path is the chain of such dependencies with the most time
 * in it (src/shared/critical-path.ts); a child workflow on it is followed into its own critical path.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { criticalPath, type PathSpan } from '../shared/critical-path';
import { addCall, emptyCost, mergeCosts, usdFor, type CostSummary, type PriceTable } from '../shared/pricing';
import type { TokenUsage } from '../shared/types';

type History = temporal.api.history.v1.IHistory;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payload = temporal.api.common.v1.IPayload;
const E = temporal.api.enums.v1.EventType;

export type SpanKind = 'model' | 'tool' | 'activity' | 'child' | 'timer' | 'queue';
export type SpanStatus = 'ok' | 'failed' | 'timed out' | 'cancelled' | 'terminated' | 'running';

export interface Span {
  /** Unique in the report: the scheduling event's id, behind its child's (`5`, `5/12`), or `queue`, `5/queue`. */
  id: string;
  /** The span of the child workflow this one ran in; undefined at the top level. */
  parent?: string;
  depth: number;
  kind: SpanKind;
  /** Activity type, child workflow type, or "timer". */
  type: string;
  label: string;
  status: SpanStatus;
  scheduledAt: number;
  /** When the attempt that finished began (activities and children); unknown while an activity runs. */
  startedAt?: number;
  endedAt?: number;
  attempts: number;
  model?: string;
  usage?: TokenUsage;
  usd?: number;
  /** The cost a child workflow reported in its result (used when its own history is not in the report). */
  cost?: CostSummary;
  /** True when history names no model for the call, so it was priced as the report's assumed model. */
  modelAssumed?: boolean;
  /** Requests of a Message Batch this span collected, billed at the batch rate (summarize --batch). */
  batchCalls?: number;
  error?: string;
  /** A child workflow's id, and whether its history is in the report. */
  childWorkflowId?: string;
  expanded?: boolean;
}

/** One fetched history and, by child workflow id, the fetched histories of its children. */
export interface FetchedRun {
  workflowId: string;
  runId: string;
  history: History;
  children: Map<string, FetchedRun>;
}

/** A fan-out of a report: when it started, its branches (span ids) and its fan-in wait in ms. */
export interface FanIn {
  at: number;
  ids: string[];
  waitMs: number;
}

export type TimeCategory = 'model' | 'tools' | 'activities' | 'worker' | 'retries' | 'timers' | 'children' | 'running';

export interface RunReport {
  workflowId: string;
  runId: string;
  workflowType: string;
  status: SpanStatus;
  /** The run that continued this one, when it continued as new. */
  continuedAs?: string;
  startedAt: number;
  /** When the run closed, or `now` for a running run. */
  endedAt: number;
  running: boolean;
  spans: Span[];
  criticalPath: { ms: number; ids: string[] };
  /** Open leaf branches over time: a step line, one point per change. */
  width: { t: number; n: number }[];
  maxWidth: number;
  /**
   * Every fan-out — two or more branches one workflow task started together — that has ended, with
   * its fan-in wait: from its first branch done to its last (what waiting for the slowest cost).
   */
  fanIns: FanIn[];
  /** Branch time by what it was spent on, in ms (summed over branches, so parallel time counts once per branch). */
  timeWent: Record<TimeCategory, number>;
  cost: CostSummary;
  usage: TokenUsage;
  /** Child workflows left out (over the report's bound), by count. */
  childrenNotFetched: number;
  /**
   * Workflow tasks the server failed or timed out, in the run and its fetched children. Each costs
   * the worker a replay of that workflow's history; FORCE_CLOSE_COMMAND says more events arrived
   * while a task was open than the cluster buffers (`history.maximumBufferedEventsBatch`).
   */
  lostTasks: LostTask[];
}

export interface LostTask {
  workflowId: string;
  at: number;
  /** The server's cause (`FORCE_CLOSE_COMMAND`, `NON_DETERMINISTIC_ERROR`, …) or, for a timeout, its kind (`START_TO_CLOSE timeout`). */
  cause: string;
}

/** Lost tasks counted by cause, most frequent first: `FORCE_CLOSE_COMMAND ×3, START_TO_CLOSE timeout ×1`. */
export function lostTaskCauses(lost: readonly LostTask[]): string {
  const counts = new Map<string, number>();
  for (const l of lost) counts.set(l.cause, (counts.get(l.cause) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([cause, n]) => `${cause} ×${n}`)
    .join(', ');
}

/** The workflow tasks one history records as failed or timed out. */
function lostTasksOf(workflowId: string, history: History): LostTask[] {
  const out: LostTask[] = [];
  for (const e of history.events ?? []) {
    const failed = e.workflowTaskFailedEventAttributes;
    const timedOut = e.workflowTaskTimedOutEventAttributes;
    if (failed) {
      const name = temporal.api.enums.v1.WorkflowTaskFailedCause[failed.cause ?? 0] ?? String(failed.cause);
      out.push({ workflowId, at: ms(e.eventTime), cause: name.replace(/^WORKFLOW_TASK_FAILED_CAUSE_/, '') });
    } else if (timedOut) {
      const kind = temporal.api.enums.v1.TimeoutType[timedOut.timeoutType ?? 0] ?? String(timedOut.timeoutType);
      out.push({ workflowId, at: ms(e.eventTime), cause: `${kind.replace(/^TIMEOUT_TYPE_/, '')} timeout` });
    }
  }
  return out;
}

const MODEL_ACTIVITIES = new Set(['llmTurn', 'mapChunk', 'reduceGroup']);
const TOOL_ACTIVITIES = new Set(['runTool', 'listTools']);

const decode = (p: Payload | null | undefined): unknown => {
  if (!p) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(p as never);
  } catch {
    return undefined;
  }
};
const first = (ps: { payloads?: Payload[] | null } | null | undefined): unknown => decode(ps?.payloads?.[0]);
/** Milliseconds of a Timestamp or Duration, whether its seconds are a number, a string or a Long. */
const ms = (t: unknown): number => {
  const r = rec(t);
  if (!r) return 0;
  const sec = r.seconds as { toNumber?: () => number } | number | string | null | undefined;
  const seconds = typeof sec === 'object' && sec?.toNumber ? sec.toNumber() : Number(sec ?? 0);
  return seconds * 1000 + Math.floor(Number(r.nanos ?? 0) / 1e6);
};
const rec = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

const usageOf = (result: unknown): TokenUsage | undefined => {
  const u = rec(rec(result)?.usage);
  if (!u) return undefined;
  // A run's summary ({ total, byModel }) or one call's usage.
  const t = rec(u.total) ?? u;
  if (typeof t.inputTokens !== 'number' || typeof t.outputTokens !== 'number') return undefined;
  const cache = (k: 'cacheReadTokens' | 'cacheWriteTokens') => (typeof t[k] === 'number' && t[k] ? { [k]: t[k] } : {});
  return { inputTokens: t.inputTokens, outputTokens: t.outputTokens, ...cache('cacheReadTokens'), ...cache('cacheWriteTokens') };
};

/** A result's own `cost`, when it carries one in the CostSummary shape. */
const costOf = (result: unknown): CostSummary | undefined => {
  const c = rec(rec(result)?.cost);
  return c && typeof c.totalUsd === 'number' && rec(c.byModel) ? (c as unknown as CostSummary) : undefined;
};

/** The model an input names (`model`, or the first of `models`). */
const modelIn = (input: unknown): string | undefined => {
  const r = rec(input);
  return str(r?.model) ?? (Array.isArray(r?.models) ? str(r.models[0]) : undefined);
};

const failureText = (f: temporal.api.failure.v1.IFailure | null | undefined): string | undefined => {
  let msg = f?.message ?? undefined;
  for (let c = f?.cause; c; c = c.cause) if (c.message) msg = c.message;
  return msg?.split('\n')[0];
};

const formatDuration = (d: unknown): string => {
  const n = d ? ms(d) : 0;
  return n >= 60_000 ? `${Math.round(n / 60_000)} min` : `${Math.round(n / 1000)} s`;
};

interface Parsed {
  workflowType: string;
  model?: string;
  startedAt: number;
  endedAt?: number;
  status: SpanStatus;
  continuedAs?: string;
  spans: (Span & { from: number; to: number })[];
}

/** The branches of one history (not its children's). */
function parseHistory(history: History, prefix: string, depth: number, parent: string | undefined, inherited?: string): Parsed {
  const events = history.events ?? [];
  const byId = new Map<number, HistoryEvent>();
  for (const e of events) byId.set(Number(e.eventId), e);
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  const out: Parsed = {
    workflowType: started?.workflowType?.name ?? 'workflow',
    model: modelIn(first(started?.input)) ?? inherited,
    startedAt: events[0] ? ms(events[0].eventTime) : 0,
    status: 'running',
    spans: [],
  };
  const open = new Map<number, Parsed['spans'][number]>();
  /** The event id of the workflow task that scheduled a command: its WorkflowTaskStarted. */
  const taskOf = (completedId: unknown): number => {
    const c = byId.get(Number(completedId));
    return Number(c?.workflowTaskCompletedEventAttributes?.startedEventId ?? completedId ?? 0);
  };
  const add = (e: HistoryEvent, s: Omit<Span, 'id' | 'depth' | 'parent' | 'scheduledAt' | 'status' | 'attempts'>, from: number) => {
    const id = Number(e.eventId);
    const span = {
      id: idIn(prefix, id),
      parent,
      depth,
      scheduledAt: ms(e.eventTime),
      status: 'running' as SpanStatus,
      attempts: 1,
      from,
      to: Infinity,
      ...s,
    };
    const summary = str(decode(e.userMetadata?.summary));
    if (summary) span.label = summary;
    open.set(id, span);
    out.spans.push(span);
  };
  const close = (scheduledId: unknown, e: HistoryEvent, status: SpanStatus, extra: Partial<Span> = {}) => {
    const s = open.get(Number(scheduledId));
    if (!s) return;
    Object.assign(s, extra, { status, endedAt: ms(e.eventTime) });
    s.to = Number(e.eventId);
  };
  let firstTask = true;
  for (const e of events) {
    const t = e.eventType;
    if (t === E.EVENT_TYPE_WORKFLOW_TASK_STARTED && firstTask) {
      firstTask = false;
      const at = ms(e.eventTime);
      out.spans.push({
        id: idIn(prefix, 'queue'),
        parent,
        depth,
        kind: 'queue',
        type: 'workflow task',
        label: 'waiting for a worker to start the run',
        status: 'ok',
        scheduledAt: out.startedAt,
        startedAt: at,
        endedAt: at,
        attempts: 1,
        from: 0,
        to: Number(e.eventId),
      });
    } else if (t === E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      const a = e.activityTaskScheduledEventAttributes!;
      const type = a.activityType?.name ?? 'activity';
      const kind: SpanKind = MODEL_ACTIVITIES.has(type) ? 'model' : TOOL_ACTIVITIES.has(type) ? 'tool' : 'activity';
      const input = rec(first(a.input));
      const what = str(input?.name) ?? (typeof input?.index === 'number' ? `#${input.index}` : `(${a.activityId ?? ''})`);
      add(e, { kind, type, label: `${type} ${what}`, model: modelIn(input) }, taskOf(a.workflowTaskCompletedEventId));
    } else if (t === E.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      const a = e.activityTaskStartedEventAttributes!;
      const s = open.get(Number(a.scheduledEventId));
      if (s) Object.assign(s, { startedAt: ms(e.eventTime), attempts: a.attempt ?? 1 });
    } else if (t === E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      const a = e.activityTaskCompletedEventAttributes!;
      const result = first(a.result);
      const usage = usageOf(result);
      const s = open.get(Number(a.scheduledEventId));
      const model = str(rec(result)?.model) ?? s?.model ?? out.model;
      const batchCalls = rec(result)?.batch === true && typeof rec(result)?.calls === 'number' ? (rec(result)!.calls as number) : undefined;
      close(
        a.scheduledEventId,
        e,
        'ok',
        usage ? { usage, model, kind: s?.kind === 'tool' ? 'tool' : 'model', ...(batchCalls ? { batchCalls } : {}) } : {},
      );
    } else if (t === E.EVENT_TYPE_ACTIVITY_TASK_FAILED) {
      const a = e.activityTaskFailedEventAttributes!;
      close(a.scheduledEventId, e, 'failed', { error: failureText(a.failure) });
    } else if (t === E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT) {
      const a = e.activityTaskTimedOutEventAttributes!;
      close(a.scheduledEventId, e, 'timed out', { error: failureText(a.failure) });
    } else if (t === E.EVENT_TYPE_ACTIVITY_TASK_CANCELED) {
      close(e.activityTaskCanceledEventAttributes!.scheduledEventId, e, 'cancelled');
    } else if (t === E.EVENT_TYPE_TIMER_STARTED) {
      const a = e.timerStartedEventAttributes!;
      add(
        e,
        { kind: 'timer', type: 'timer', label: `timer ${formatDuration(a.startToFireTimeout)}` },
        taskOf(a.workflowTaskCompletedEventId),
      );
    } else if (t === E.EVENT_TYPE_TIMER_FIRED) {
      close(e.timerFiredEventAttributes!.startedEventId, e, 'ok');
    } else if (t === E.EVENT_TYPE_TIMER_CANCELED) {
      // The workflow cancelled the wait when what it waited for came (a decision): what that task
      // scheduled follows the wait, so the wait ends, for ordering, at the task that cancelled it.
      const a = e.timerCanceledEventAttributes!;
      close(a.startedEventId, e, 'cancelled');
      const s = open.get(Number(a.startedEventId));
      if (s) s.to = taskOf(a.workflowTaskCompletedEventId);
    } else if (t === E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) {
      const a = e.startChildWorkflowExecutionInitiatedEventAttributes!;
      const type = a.workflowType?.name ?? 'child';
      const wid = a.workflowId ?? '';
      const shortId = wid.includes('/') ? wid.slice(wid.lastIndexOf('/') + 1) : wid;
      add(
        e,
        { kind: 'child', type, label: `${type} ${shortId}`, childWorkflowId: wid, model: modelIn(first(a.input)) },
        taskOf(a.workflowTaskCompletedEventId),
      );
    } else if (t === E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED) {
      close(e.startChildWorkflowExecutionFailedEventAttributes!.initiatedEventId, e, 'failed', { error: 'could not start' });
    } else if (t === E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED) {
      const s = open.get(Number(e.childWorkflowExecutionStartedEventAttributes!.initiatedEventId));
      if (s) s.startedAt = ms(e.eventTime);
    } else if (t === E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED) {
      const a = e.childWorkflowExecutionCompletedEventAttributes!;
      const result = first(a.result);
      close(a.initiatedEventId, e, 'ok', { usage: usageOf(result), cost: costOf(result) });
    } else if (t === E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED) {
      const a = e.childWorkflowExecutionFailedEventAttributes!;
      close(a.initiatedEventId, e, 'failed', { error: failureText(a.failure) });
    } else if (t === E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT) {
      close(e.childWorkflowExecutionTimedOutEventAttributes!.initiatedEventId, e, 'timed out');
    } else if (t === E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED) {
      close(e.childWorkflowExecutionCanceledEventAttributes!.initiatedEventId, e, 'cancelled');
    } else if (t === E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED) {
      close(e.childWorkflowExecutionTerminatedEventAttributes!.initiatedEventId, e, 'terminated');
    } else if (t === E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED) {
      Object.assign(out, { status: 'ok', endedAt: ms(e.eventTime) });
    } else if (t === E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED) {
      Object.assign(out, { status: 'failed', endedAt: ms(e.eventTime) });
    } else if (t === E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT) {
      Object.assign(out, { status: 'timed out', endedAt: ms(e.eventTime) });
    } else if (t === E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED) {
      Object.assign(out, { status: 'cancelled', endedAt: ms(e.eventTime) });
    } else if (t === E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED) {
      Object.assign(out, { status: 'terminated', endedAt: ms(e.eventTime) });
    } else if (t === E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW) {
      const a = e.workflowExecutionContinuedAsNewEventAttributes!;
      Object.assign(out, { status: 'ok', endedAt: ms(e.eventTime), continuedAs: a.newExecutionRunId ?? undefined });
    }
  }
  // A closed run leaves nothing running: what it never saw end was abandoned with it.
  if (out.endedAt !== undefined)
    for (const s of out.spans) if (s.status === 'running') Object.assign(s, { status: 'cancelled', endedAt: out.endedAt });
  return out;
}

/** The child runs a history started, for fetching their histories. */
export function childRunsOf(history: History): { workflowId: string; runId: string }[] {
  const runs: { workflowId: string; runId: string }[] = [];
  for (const e of history.events ?? []) {
    const x = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    if (e.eventType === E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED && x?.workflowId && x.runId)
      runs.push({ workflowId: x.workflowId, runId: x.runId });
  }
  return runs;
}

const idIn = (prefix: string, id: number | string) => (prefix ? `${prefix}/${id}` : String(id));

/** What a run's state is called in the report: running, continued as new, or how it closed. */
export const runState = (r: Pick<RunReport, 'running' | 'continuedAs' | 'status'>): string =>
  r.running ? 'running' : r.continuedAs ? 'continued as new' : r.status;

/** The fan-outs of one history: branches (not timers) one workflow task scheduled together, once all have ended. */
function fanInsOf(spans: Parsed['spans']): FanIn[] {
  const byTask = new Map<number, Parsed['spans']>();
  for (const s of spans) {
    if (s.kind === 'queue' || s.kind === 'timer') continue;
    const group = byTask.get(s.from);
    if (group) group.push(s);
    else byTask.set(s.from, [s]);
  }
  const out: FanIn[] = [];
  for (const group of byTask.values()) {
    if (group.length < 2 || group.some((s) => s.endedAt === undefined || s.status === 'running')) continue;
    const ends = group.map((s) => s.endedAt!);
    out.push({
      at: Math.min(...group.map((s) => s.scheduledAt)),
      ids: group.map((s) => s.id),
      waitMs: Math.max(...ends) - Math.min(...ends),
    });
  }
  return out;
}

const duration = (s: Span, now: number) => Math.max(0, (s.endedAt ?? now) - s.scheduledAt);

export interface AnalyzeOptions {
  /** Where running branches end on the timeline. */
  now: number;
  prices?: PriceTable;
  /** The model to price calls at whose history names none (summarize's calls); their cost is marked estimated. */
  assumedModel?: string;
}

export function analyzeRun(root: FetchedRun, opts: AnalyzeOptions): RunReport {
  const spans: Span[] = [];
  const fanIns: FanIn[] = [];
  const lostTasks: LostTask[] = [];
  let notFetched = 0;
  /** Appends a history's spans depth first (a child's own spans right after it) and returns its critical path. */
  const walk = (
    run: FetchedRun,
    prefix: string,
    depth: number,
    parent: string | undefined,
    model?: string,
  ): Parsed & { path: string[]; pathMs: number } => {
    const parsed = parseHistory(run.history, prefix, depth, parent, model);
    lostTasks.push(...lostTasksOf(run.workflowId, run.history));
    const paths = new Map<string, string[]>();
    for (const s of parsed.spans) {
      const { from: _f, to: _t, ...span } = s;
      spans.push(span);
      if (s.kind !== 'child') continue;
      const child = s.childWorkflowId ? run.children.get(s.childWorkflowId) : undefined;
      if (!child) {
        notFetched += 1;
        continue;
      }
      span.expanded = true;
      paths.set(s.id, walk(child, s.id, depth + 1, s.id, s.model ?? parsed.model).path);
    }
    fanIns.push(...fanInsOf(parsed.spans));
    const now = parsed.endedAt ?? opts.now;
    const cp = criticalPath(parsed.spans.map((s): PathSpan => ({ id: s.id, from: s.from, to: s.to, durationMs: duration(s, now) })));
    return { ...parsed, path: cp.ids.flatMap((id) => [id, ...(paths.get(id) ?? [])]), pathMs: cp.ms };
  };
  const top = walk(root, '', 0, undefined);
  const endedAt = top.endedAt ?? opts.now;

  let cost = emptyCost();
  const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  const timeWent: Record<TimeCategory, number> = {
    model: 0,
    tools: 0,
    activities: 0,
    worker: 0,
    retries: 0,
    timers: 0,
    children: 0,
    running: 0,
  };
  for (const s of spans) {
    const end = s.endedAt ?? opts.now;
    if (s.kind === 'queue') timeWent.worker += (s.startedAt ?? end) - s.scheduledAt;
    else if (s.kind === 'timer') timeWent.timers += end - s.scheduledAt;
    else if (s.kind === 'child') {
      if (!s.expanded) timeWent.children += end - s.scheduledAt;
    } else if (s.startedAt === undefined) {
      // An activity's start is written to history only when it ends.
      if (s.status === 'running') timeWent.running += end - s.scheduledAt;
      else timeWent.worker += end - s.scheduledAt;
    } else {
      timeWent[s.attempts > 1 ? 'retries' : 'worker'] += s.startedAt - s.scheduledAt;
      timeWent[s.kind === 'model' ? 'model' : s.kind === 'tool' ? 'tools' : 'activities'] += end - s.startedAt;
    }
    const counts = s.usage && (s.kind !== 'child' || !s.expanded);
    if (counts && s.usage) {
      usage.inputTokens += s.usage.inputTokens;
      usage.outputTokens += s.usage.outputTokens;
      if (s.cost) {
        // A child not fetched that reported its own cost (an ensemble item): take its word.
        cost = mergeCosts(cost, s.cost);
        s.usd = s.cost.totalUsd;
        continue;
      }
      if (!s.model && opts.assumedModel) Object.assign(s, { model: opts.assumedModel, modelAssumed: true });
      if (s.model) {
        const batch = s.batchCalls ? { batch: true, calls: s.batchCalls } : {};
        s.usd = usdFor(s.model, s.usage, { table: opts.prices, ...batch });
        addCall(cost, s.model, s.usage, { table: opts.prices, estimated: s.modelAssumed, ...batch });
      }
    }
  }

  const width: { t: number; n: number }[] = [];
  const changes: [number, number][] = [];
  for (const s of spans) {
    if (s.kind === 'queue' || (s.kind === 'child' && s.expanded)) continue;
    changes.push([s.scheduledAt, 1], [s.endedAt ?? endedAt, -1]);
  }
  changes.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let n = 0;
  let maxWidth = 0;
  for (const [t, d] of changes) {
    n += d;
    maxWidth = Math.max(maxWidth, n);
    if (width.length && width[width.length - 1]!.t === t) width[width.length - 1]!.n = n;
    else width.push({ t, n });
  }

  return {
    workflowId: root.workflowId,
    runId: root.runId,
    workflowType: top.workflowType,
    status: top.status,
    continuedAs: top.continuedAs,
    startedAt: top.startedAt,
    endedAt,
    running: top.endedAt === undefined,
    spans,
    criticalPath: { ms: top.pathMs, ids: top.path },
    width,
    maxWidth,
    fanIns: fanIns.sort((a, b) => a.at - b.at),
    timeWent,
    cost,
    usage,
    childrenNotFetched: notFetched,
    lostTasks: lostTasks.sort((a, b) => a.at - b.at),
  };
}
