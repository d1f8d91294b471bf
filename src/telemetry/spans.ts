/**
 * Braid's own spans, through the OpenTelemetry API only: with tracing off (no SDK registered, see
 * tracing.ts) the API hands out a no-op tracer and these cost a function call.
 *
 * Names and attributes follow OpenTelemetry's GenAI conventions where they have one (`chat <model>`,
 * `execute_tool <name>`, `gen_ai.*`); what they lack is `braid.*`. Spans carry counts, names, states
 * and dollars, never prompt, answer, tool input or tool output text: run payloads may be private
 * (payload encryption), and a trace backend is not the place to copy them to.
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

const tracer = () => trace.getTracer('braid');

/** The span a model call is: started before the breaker and the limiter, so refusals and waits show in it. */
export function startModelSpan(model: string, attributes: Attributes): Span {
  return tracer().startSpan(`chat ${model}`, {
    kind: SpanKind.CLIENT,
    attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'anthropic', 'gen_ai.request.model': model, ...attributes },
  });
}

/** Runs `fn` with `span` as the active span, so spans started inside (the HTTP request) are its children. */
export function withSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** Ends a span as failed, with the error's type and message (messages are Braid's own or the endpoint's, not payload text). */
export function endFailed(span: Span, err: unknown, type?: string): void {
  const message = err instanceof Error ? err.message : String(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.setAttribute('error.type', type ?? (err instanceof Error ? err.name : 'Error'));
  span.end();
}

/** The wait for the shared rate-limit budget before a model call is sent: a child span of the call, ended by the caller. */
export function startLimiterWait(call: Span, model: string, estimatedTokens: number): Span {
  return tracer().startSpan(
    'braid.limiter.wait',
    { attributes: { 'gen_ai.request.model': model, 'braid.limiter.estimated_tokens': estimatedTokens } },
    trace.setSpan(context.active(), call),
  );
}

/** A tool call's span: `execute_tool <name>`, its status set by the caller when it ends. */
export function startToolSpan(name: string, callId: string): Span {
  return tracer().startSpan(`execute_tool ${name}`, {
    kind: SpanKind.INTERNAL,
    attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name, 'gen_ai.tool.call.id': callId },
  });
}

/** A circuit breaker changed state: an event on whatever span is active (the call that tripped or closed it). */
export function breakerEvent(breaker: string, to: string): void {
  trace.getActiveSpan()?.addEvent('braid.breaker.state_change', { 'braid.breaker': breaker, 'braid.breaker.state': to });
}
