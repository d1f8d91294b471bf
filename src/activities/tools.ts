/**
 * Tool activities: each tool call of a model turn runs as its own activity, so it gets its own
 * timeout, retries and place in history. A tool that refuses (bad input, file not found) returns an
 * error result for the model straight away — retrying cannot change the answer; an unexpected crash
 * throws so Temporal retries it. A ticker heartbeats while the handler runs, so a dead worker is
 * noticed within the heartbeat timeout and cancellation reaches the handler's AbortSignal.
 *
 * With flow control, each tool has a circuit breaker (an open one answers at once with an explicit
 * error result, no call made) and a crash is retried after a full-jitter delay (src/flow/backoff.ts).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ToolCall, ToolCallResult, ToolInfo } from '../shared/types';
import { CircuitOpenError, withBackoff, type FlowControl } from '../flow';
import { ToolError, ToolInputError, type ToolRegistry } from '../tools';

/** Tool output beyond this is cut, with a note, to keep history payloads small. */
const MAX_TOOL_RESULT_CHARS = 64_000;

export interface ToolDeps {
  registry: ToolRegistry;
  heartbeatEveryMs?: number;
  flow?: FlowControl;
}

function serialise(output: unknown): string {
  const text = typeof output === 'string' ? output : JSON.stringify(output);
  return text.length <= MAX_TOOL_RESULT_CHARS
    ? text
    : `${text.slice(0, MAX_TOOL_RESULT_CHARS)}\n[truncated: ${text.length} characters in all]`;
}

export function createToolActivities(deps: ToolDeps) {
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
      return wanted.map((name) => {
        const def = deps.registry.get(name)!;
        return { name, description: def.description, timeoutMs: deps.registry.timeoutMs(name) };
      });
    },

    async runTool(call: ToolCall): Promise<ToolCallResult> {
      const ctx = Context.current();
      const startedAt = Date.now();
      const breaker = `tool:${call.name}`;
      try {
        deps.flow?.breakers.check(breaker);
      } catch (err) {
        if (err instanceof CircuitOpenError)
          return { content: `${err.name}: ${err.message}`, isError: true, startedAt, endedAt: Date.now() };
        throw err;
      }
      const ticker = setInterval(() => ctx.heartbeat(), deps.heartbeatEveryMs ?? 2000);
      try {
        const output = await deps.registry.run(call.name, call.input, {
          signal: ctx.cancellationSignal,
          heartbeat: (details?: unknown) => ctx.heartbeat(details),
          toolUseId: call.toolUseId,
        });
        deps.flow?.breakers.success(breaker);
        return { content: serialise(output), isError: false, startedAt, endedAt: Date.now() };
      } catch (err) {
        if (err instanceof ToolInputError || err instanceof ToolError) {
          deps.flow?.breakers.success(breaker);
          return { content: `${err.name}: ${err.message}`, isError: true, startedAt, endedAt: Date.now() };
        }
        if (!deps.flow) throw err;
        if (ctx.cancellationSignal.aborted) {
          // A call that ran out of time says as much about the tool's health as a crash does.
          if (ctx.cancellationDetails?.timedOut) deps.flow.breakers.failure(breaker, `tool ${call.name} timed out`);
          throw err;
        }
        const message = err instanceof Error ? err.message : String(err);
        deps.flow.breakers.failure(breaker, message);
        const failure =
          err instanceof ApplicationFailure
            ? err
            : ApplicationFailure.create({ message: `tool ${call.name}: ${message}`, type: 'ToolFailed' });
        throw withBackoff(failure, ctx.info.attempt, ctx.info.retryPolicy?.maximumAttempts, deps.flow.toolBackoff);
      } finally {
        clearInterval(ticker);
      }
    },
  };
}
