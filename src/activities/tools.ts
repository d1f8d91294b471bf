/**
 * Tool activities: each tool call of a model turn runs as its own activity, so it gets its own
 * timeout, retries and place in history. A tool that refuses (bad input, file not found) returns an
 * error result for the model straight away — retrying cannot change the answer; an unexpected crash
 * throws so Temporal retries it. A ticker heartbeats while the handler runs, so a dead worker is
 * noticed within the heartbeat timeout and cancellation reaches the handler's AbortSignal.
 *
 * The registry enforces each call's deadline: the activity hands it what is left of the attempt,
 * less a margin, so a call that runs out of time comes back as an explicit `timedOut` error result
 * before Temporal's own timeout fires, even when the tool ignores its abort signal. Results and
 * error messages are capped in size, with a marker the model can read.
 *
 * With flow control, each tool has a circuit breaker (an open one answers at once with an explicit
 * error result, no call made) and a crash is retried after a full-jitter delay (src/flow/backoff.ts).
 * A timeout counts as a breaker failure, as a crash does.
 *
 * A tool marked destructive (MCP annotations, or the MCP config) runs only for a call a person
 * approved (the workflow waits for that decision and passes `approvedBy`); any other call of it is
 * refused with an explicit error result, and nothing runs.
 *
 * A result longer than the call's `storeAbove` goes to the blob store and comes back as its
 * preview and reference (src/shared/blobs.ts); the model-call activity reads it back for the model.
 *
 * Each call is an `execute_tool <name>` span with its status (src/telemetry/spans.ts), without its input or output.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ToolCall, ToolCallResult, ToolInfo } from '../shared/types';
import { CircuitOpenError, withBackoff, type FlowControl } from '../flow';
import { ToolError, ToolInputError, ToolTimeoutError, type ToolRegistry } from '../tools/registry';
import { storeText, type BlobTexts } from '../blobs/content';
import { recordToolError } from '../flow/metrics';
import { endFailed, startToolSpan, withSpan } from '../telemetry/spans';

/** How a tool call ended, as its span says: an answer, an error result, a timeout, a refusal, an open breaker. */
type ToolStatus = 'ok' | 'error' | 'timeout' | 'refused' | 'circuit-open';

/** Tool output beyond this is cut, with a note: it is what the model reads of one result. */
export const MAX_TOOL_RESULT_CHARS = 64_000;
/** A tool's error message beyond this is cut: it is for the model, one line or a few. */
export const MAX_TOOL_ERROR_CHARS = 2_000;

export interface ToolDeps {
  registry: ToolRegistry;
  heartbeatEveryMs?: number;
  flow?: FlowControl;
  /** Where results above a call's `storeAbove` go. */
  texts?: BlobTexts;
}

/** Output as text for the model, cut at `max` with a marker. Throws a ToolError when it is not serialisable. */
export function resultText(output: unknown, max = MAX_TOOL_RESULT_CHARS): string {
  let text: string | undefined;
  try {
    text = typeof output === 'string' ? output : JSON.stringify(output);
  } catch (err) {
    throw new ToolError(`the tool's result could not be turned into text: ${(err as Error).message}`);
  }
  text ??= String(output);
  return text.length <= max
    ? text
    : `${text.slice(0, max)}\n[truncated: ${text.length} characters in all; only the first ${max} are shown]`;
}

const errorText = (err: Error): string => {
  const text = `${err.name}: ${err.message}`;
  return text.length <= MAX_TOOL_ERROR_CHARS
    ? text
    : `${text.slice(0, MAX_TOOL_ERROR_CHARS)}… [message cut at ${MAX_TOOL_ERROR_CHARS} characters]`;
};

/** When this attempt must be answered by: its start-to-close timeout, less a margin for the reply to reach the server. */
function attemptDeadline(startedAt: number, startToCloseMs: number): number | undefined {
  if (!(startToCloseMs > 0)) return undefined;
  return startedAt + startToCloseMs - Math.min(1_000, Math.max(100, startToCloseMs * 0.1));
}

export function createToolActivities(deps: ToolDeps) {
  /** One tool call; `mark` names how it ended (ok, error, timeout, refused, circuit-open) for its span. */
  async function runCall(call: ToolCall, mark: (status: ToolStatus) => void): Promise<ToolCallResult> {
    const ctx = Context.current();
    const startedAt = Date.now();
    const breaker = `tool:${call.name}`;
    // Permission before harm: a destructive tool runs only for a call a person approved.
    if (deps.registry.get(call.name)?.annotations?.destructive) {
      if (!call.approvedBy) {
        const content = `ToolRefused: ${call.name} is marked destructive and runs only after a person approves the call; this run may not ask for approval of it (see --approve-tools, or "approve" in the MCP config), so it was not run.`;
        mark('refused');
        return { content, isError: true, startedAt, endedAt: Date.now() };
      }
      ctx.log.info('running an approved destructive tool call', { tool: call.name, toolUseId: call.toolUseId, ...call.approvedBy });
    }
    try {
      deps.flow?.breakers.check(breaker);
    } catch (err) {
      if (err instanceof CircuitOpenError) {
        recordToolError(call.name, 'circuit-open');
        mark('circuit-open');
        return { content: errorText(err), isError: true, startedAt, endedAt: Date.now() };
      }
      throw err;
    }
    const ticker = setInterval(() => ctx.heartbeat(), deps.heartbeatEveryMs ?? 2000);
    let content: string;
    try {
      const output = await deps.registry.run(call.name, call.input, {
        signal: ctx.cancellationSignal,
        heartbeat: (details?: unknown) => ctx.heartbeat(details),
        toolUseId: call.toolUseId,
        deadline: attemptDeadline(startedAt, ctx.info.startToCloseTimeoutMs),
      });
      content = resultText(output);
      deps.flow?.breakers.success(breaker);
    } catch (err) {
      if (err instanceof ToolTimeoutError) {
        deps.flow?.breakers.failure(breaker, `tool ${call.name} timed out`);
        recordToolError(call.name, 'timeout');
        mark('timeout');
        return { content: errorText(err), isError: true, timedOut: true, startedAt, endedAt: Date.now() };
      }
      if (err instanceof ToolInputError || err instanceof ToolError) {
        deps.flow?.breakers.success(breaker);
        recordToolError(call.name, 'error');
        mark('error');
        return { content: errorText(err), isError: true, startedAt, endedAt: Date.now() };
      }
      if (!deps.flow) throw err;
      if (ctx.cancellationSignal.aborted) {
        // A call that ran out of time says as much about the tool's health as a crash does.
        if (ctx.cancellationDetails?.timedOut) deps.flow.breakers.failure(breaker, `tool ${call.name} timed out`);
        throw err;
      }
      const message = err instanceof Error ? err.message : String(err);
      deps.flow.breakers.failure(breaker, message);
      recordToolError(call.name, 'error');
      const failure =
        err instanceof ApplicationFailure
          ? err
          : ApplicationFailure.create({ message: `tool ${call.name}: ${message}`, type: 'ToolFailed' });
      throw withBackoff(failure, ctx.info.attempt, ctx.info.retryPolicy?.maximumAttempts, deps.flow.toolBackoff);
    } finally {
      clearInterval(ticker);
    }
    mark('ok');
    if (call.storeAbove === undefined || content.length <= call.storeAbove || !deps.texts)
      return { content, isError: false, startedAt, endedAt: Date.now() };
    const { text, stored } = await storeText(deps.texts, content, call.storeAbove);
    return { content: text, isError: false, startedAt, endedAt: Date.now(), ...(stored ? { stored } : {}) };
  }

  return {
    async listTools(names?: string[]): Promise<ToolInfo[]> {
      const wanted = names?.length ? names : deps.registry.names();
      const unknown = wanted.filter((n) => !deps.registry.has(n));
      if (unknown.length) {
        throw ApplicationFailure.nonRetryable(
          `unknown tool(s) ${unknown.join(', ')}; registered: ${deps.registry.names().join(', ')}`,
          'InvalidInput',
        );
      }
      // The schemas and annotations go into the run's history with the list: replay never asks a live (MCP) server.
      const specs = deps.registry.specs(wanted);
      return wanted.map((name, i) => {
        const def = deps.registry.get(name)!;
        return {
          name,
          description: def.description,
          timeoutMs: deps.registry.timeoutMs(name),
          inputSchema: specs[i]!.input_schema,
          ...(def.annotations ? { annotations: def.annotations } : {}),
          ...(def.origin ? { origin: def.origin } : {}),
        };
      });
    },

    async runTool(call: ToolCall): Promise<ToolCallResult> {
      const span = startToolSpan(call.name, call.toolUseId);
      try {
        const result = await withSpan(span, () => runCall(call, (status) => span.setAttribute('braid.tool.status', status)));
        span.end();
        return result;
      } catch (err) {
        span.setAttribute('braid.tool.status', 'failed');
        endFailed(span, err, err instanceof ApplicationFailure ? (err.type ?? undefined) : undefined);
        throw err;
      }
    },
  };
}
