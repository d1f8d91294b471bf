/**
 * The model-call activity: one Messages API request per attempt, always streamed.
 *
 * Streaming is chosen for its failure signals, not for display: every event proves the stream is
 * alive, so a stall after the headers (which no HTTP timeout sees) is caught by an idle timer and
 * retried; and a stream that closes without `message_stop` is a retryable failure — the SDK would
 * otherwise hand back the partial message as if it were whole. A separate heartbeat ticker keeps
 * Temporal informed that the worker is alive while the model is still thinking, and delivers
 * cancellation, which aborts the HTTP request.
 *
 * The idle timer starts when the response headers arrive: until then the SDK's request timeout
 * (BRAID_LLM_REQUEST_TIMEOUT_MS) is what bounds the wait, and a call that gets no answer at all is
 * told apart from a stream that stopped mid-way.
 *
 * With flow control (`deps.flow`, which every worker passes) each call also goes through the
 * model's circuit breaker and the shared rate limiter before it is sent, settles its token estimate
 * from the response's usage afterwards, and ends a failed attempt with the verdict of its attempt
 * ledger: charged or a wait, retried after a full-jitter `nextRetryDelay` — see src/flow/
 * (llm-call.ts, attempts.ts). Every heartbeat carries that ledger to the next attempt. A call with a
 * `fallback` route may go to that model instead while its own cannot take it (routing.ts); its
 * result then says so, with the reason.
 *
 * Large content travels by reference (src/shared/blobs.ts): the activity reads a request's stored
 * history segments and stored blocks back before the call, stores the request's messages as a new
 * segment when asked, and stores a reply whose text is longer than `storeAbove`, returning its
 * preview — so neither the conversation nor a long answer enters the run's history.
 *
 * A request with `announceTools` also signals its workflow with each tool_use block as the stream
 * completes it (streaming.ts), so the workflow can start that tool before the turn ends.
 *
 * Each attempt is a `chat <model>` span (src/telemetry/spans.ts) under the activity's span: the
 * breaker's state or refusal, the limiter wait as a child span, the HTTP request as a child, and
 * on its end the model that answered, tokens, cost and stop reason — no prompt or answer text.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { CharCitation, ChatMessage, ContentBlock, LlmRequest, LlmResult, ModelRole, RoutedCall, TokenUsage } from '../shared/types';
import { conversationBreakpoints, prefixCacheable, type BlockAt } from '../shared/prompt-cache';
import type { ToolRegistry } from '../tools/registry';
import type { FlowControl } from '../flow';
import { recordModelCall } from '../flow/metrics';
import { toLlmFailure } from './llm-errors';
import { Attempts, DEFAULT_ATTEMPT_POLICY, type LedgerDetails } from '../flow/attempts';
import { checkModelBreaker, flowCancelled, flowFailure, flowSuccess, type FlowCall } from '../flow/llm-call';
import { acquireOrRoute, DEFAULT_ROUTE_AFTER_MS, routeAroundBreaker } from '../flow/routing';
import { BlobTexts, blobFailure, resolveMessages } from '../blobs/content';
import { previewOf, type StoredText } from '../shared/blobs';
import { textOf } from '../shared/content';
import { formatUsd, usdFor } from '../shared/pricing';
import { estimateOutputTokens, spendIn, type PartialSpend, type SpendDetails } from '../shared/usage';
import { SIMULATOR_HEADER } from '../simulator/http';
import type { Client } from '@temporalio/client';
import { SectionAnnouncer, TextStreamer, ToolAnnouncer } from './streaming';
import type { AnswerStreams } from '../store/answer-stream';
import { endFailed, startLimiterWait, startModelSpan, withSpan } from '../telemetry/spans';
import { ModelLatencies } from './latency';

export interface LlmDeps {
  claude: Anthropic;
  models: Record<ModelRole, string>;
  maxTokens: number;
  simulated: boolean;
  registry: ToolRegistry;
  requestTimeoutMs: number;
  streamIdleTimeoutMs: number;
  heartbeatEveryMs?: number;
  /** Rate limiter, breakers and jittered backoff; without it calls go straight out (unit tests). */
  flow?: FlowControl;
  /** Stored content; without it a request that needs the blob store fails (unit tests). */
  texts?: BlobTexts;
  /** A client of the worker's Temporal connection, to announce tool calls early (`announceTools`); without it they are not. */
  temporal?: Client;
  /** Where the text of a request with `streamTo` is streamed as it is written; without it, it is not. */
  answerStreams?: AnswerStreams;
  /** The worker's recent model-call durations and hedges (latency.ts); default a book of this worker's own. */
  latencies?: ModelLatencies;
}

/**
 * The reply as Braid keeps it: text, tool calls, and the `char_location` citations of plain-text
 * documents (which the summarize activities check and turn into file ranges). Other citation kinds,
 * thinking and server-tool blocks are dropped — Braid asks for none of them — and so is what a
 * citation carries besides its location and cited text, to keep results small in history.
 */
export function toBlocks(content: Anthropic.ContentBlock[]): ContentBlock[] {
  const blocks: ContentBlock[] = [];
  for (const block of content) {
    if (block.type === 'text') {
      const citations: CharCitation[] = [];
      for (const c of block.citations ?? []) {
        if (c.type !== 'char_location') continue;
        const { cited_text, document_index, document_title, start_char_index, end_char_index } = c;
        citations.push({ type: 'char_location', cited_text, document_index, document_title, start_char_index, end_char_index });
      }
      blocks.push(citations.length ? { type: 'text', text: block.text, citations } : { type: 'text', text: block.text });
    } else if (block.type === 'tool_use') blocks.push({ type: 'tool_use', id: block.id, name: block.name, input: block.input });
  }
  return blocks;
}

/** The reply with its text blocks replaced by one block holding the stored text's preview. */
function withStoredText(content: ContentBlock[], text: string, stored: StoredText): ContentBlock[] {
  const at = content.findIndex((b) => b.type === 'text');
  const rest: ContentBlock[] = content.filter((b) => b.type !== 'text');
  rest.splice(at, 0, { type: 'text', text: previewOf(text, stored), stored });
  return rest;
}

/** `f` with the calls' spend appended to its details (nothing changes when nothing was spent). */
function withSpend(f: ApplicationFailure, spend: SpendDetails): ApplicationFailure {
  if (!spend.braidSpend.length) return f;
  return ApplicationFailure.create({
    message: f.message,
    type: f.type ?? undefined,
    nonRetryable: f.nonRetryable ?? undefined,
    details: [...(f.details ?? []), spend],
    cause: f.cause,
    nextRetryDelay: f.nextRetryDelay,
  });
}

/**
 * The messages as the API takes them: a block marked `cachePrefix` gets `cache_control` when the
 * prefix up to it reaches the model's minimum cacheable length, and loses the mark either way.
 */
export function withCacheControl(
  model: string,
  system: string | undefined,
  tools: unknown[] | undefined,
  messages: ChatMessage[],
): ChatMessage[] {
  const marked = messages.some(
    (m) => typeof m.content !== 'string' && m.content.some((b) => 'cachePrefix' in b && b.cachePrefix !== undefined),
  );
  if (!marked) return messages;
  let mark = prefixCacheable(model, { system, tools, messages }).cacheable;
  return messages.map((m) => {
    if (typeof m.content === 'string') return m;
    const content = m.content.map((b) => {
      if (!('cachePrefix' in b) || b.cachePrefix === undefined) return b;
      const { cachePrefix, ...rest } = b;
      if (!cachePrefix || !mark) return rest;
      mark = false;
      return { ...rest, cache_control: { type: 'ephemeral' } };
    });
    return { ...m, content } as ChatMessage;
  });
}

/**
 * The messages with `cache_control` on the blocks `at` names (a string content becomes one text
 * block to carry it): an agent's conversation marked for the prompt cache (`cacheConversation`).
 */
export function withCacheBreakpoints(messages: ChatMessage[], at: BlockAt[]): ChatMessage[] {
  if (!at.length) return messages;
  return messages.map((m, i) => {
    const marks = at.filter((p) => p.message === i).map((p) => p.block);
    if (!marks.length) return m;
    const blocks = typeof m.content === 'string' ? [{ type: 'text' as const, text: m.content }] : m.content;
    return { ...m, content: blocks.map((b, j) => (marks.includes(j) ? { ...b, cache_control: { type: 'ephemeral' } } : b)) } as ChatMessage;
  });
}

/** Braid's usage of an API usage object: cache counts only when there were some. */
export function usageOf(u: Anthropic.Usage): TokenUsage {
  return {
    inputTokens: u.input_tokens,
    outputTokens: u.output_tokens,
    ...(u.cache_read_input_tokens ? { cacheReadTokens: u.cache_read_input_tokens } : {}),
    ...(u.cache_creation_input_tokens ? { cacheWriteTokens: u.cache_creation_input_tokens } : {}),
  };
}

/** Whether the request's conversation has parts in the blob store, or is to be stored. */
const needsBlobs = (req: LlmRequest): boolean =>
  Boolean(req.history?.length || req.storeMessages) ||
  req.messages.some((m) => typeof m.content !== 'string' && m.content.some((b) => 'stored' in b && b.stored));

export function createLlmActivities(deps: LlmDeps) {
  const blobs = (): BlobTexts => {
    if (!deps.texts) throw ApplicationFailure.nonRetryable('this worker has no blob store for stored content', 'BlobNotFound');
    return deps.texts;
  };
  const latencies = deps.latencies ?? new ModelLatencies();

  return {
    /** The worker's recent model-call durations for each key (a role or model, as a request names it), for hedging. */
    async modelLatency(x: { keys: string[] }): Promise<Record<string, number[]>> {
      return latencies.recent(x.keys);
    },

    async llmTurn(req: LlmRequest): Promise<LlmResult> {
      const ctx = Context.current();
      // A role name resolves to the worker's model for it; anything else is a model id.
      const resolve = (name: string) => deps.models[name as ModelRole] ?? name;
      const requested = req.model ? resolve(req.model) : deps.models[req.role];
      if (!requested) throw ApplicationFailure.nonRetryable(`unknown model role ${String(req.role)}`, 'InvalidInput');
      // A hedge goes out only within the worker's hedge budget; every other call counts toward it (once, not per attempt).
      if (req.hedge) {
        if (ctx.info.attempt === 1) latencies.admitHedge(req.hedge.maxRate);
      } else if (ctx.info.attempt === 1) latencies.called();
      let tools: Anthropic.Tool[] | undefined;
      try {
        tools = req.tools?.length ? (deps.registry.specs(req.tools) as Anthropic.Tool[]) : undefined;
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidInput');
      }
      let messages = req.messages;
      let messagesRef: string | undefined;
      if (needsBlobs(req)) {
        try {
          messages = await resolveMessages(blobs(), req.history, req.messages);
          if (req.storeMessages) messagesRef = await blobs().store.put(JSON.stringify(req.messages));
        } catch (err) {
          throw blobFailure(err);
        }
      }

      // Spend of earlier attempts that failed: their last heartbeat carried it (with this attempt's so far).
      const earlier = spendIn(ctx.info.heartbeatDetails);
      let current: PartialSpend | undefined;
      // Every heartbeat carries the attempt ledger and the spend so far, so neither is lost to the next attempt.
      const details = (ledger: LedgerDetails | undefined): (LedgerDetails | object) & SpendDetails => ({
        ...(ledger ?? {}),
        braidSpend: current ? [...earlier, current] : earlier,
      });
      // With a budget reservation, a retry may not start once earlier attempts spent part of it.
      const table = deps.flow?.prices;
      const usdOf = (spends: readonly PartialSpend[]) => spends.reduce((n, x) => n + (usdFor(x.model, x.usage, { table }) ?? 0), 0);
      const earlierUsd = usdOf(earlier);
      if (req.maxUsd !== undefined && earlierUsd > 0) {
        throw ApplicationFailure.create({
          message: `an earlier attempt of this call spent ${formatUsd(earlierUsd)} of its ${formatUsd(req.maxUsd)} budget reservation; a retry could pass it`,
          type: 'LlmBudgetReached',
          nonRetryable: true,
          details: [{ braidSpend: earlier } satisfies SpendDetails],
        });
      }
      const attempts = new Attempts(ctx.info, deps.flow?.attempts ?? DEFAULT_ATTEMPT_POLICY, (d) => ctx.heartbeat(details(d)));
      const beat = () => {
        current = spentSoFar();
        ctx.heartbeat(details(attempts.details()));
      };
      let flow: FlowCall | undefined = deps.flow && {
        flow: deps.flow,
        model: requested,
        attempts,
        estimated: 0,
        acquired: false,
        probe: false,
      };
      // Routing to a fallback model needs the breakers and budgets to know when to route.
      const spare = flow && req.fallback && resolve(req.fallback.model) !== requested ? resolve(req.fallback.model) : undefined;
      let routed: RoutedCall | undefined;
      const span = startModelSpan(requested, {
        'gen_ai.request.max_tokens': req.maxTokens ?? deps.maxTokens,
        'braid.attempt': ctx.info.attempt,
      });
      if (flow) {
        try {
          attempts.assertNotExhausted(`${requested} call`);
          if (spare) ({ call: flow, routed } = routeAroundBreaker(flow, spare));
          else checkModelBreaker(flow);
        } catch (err) {
          endFailed(span, err, err instanceof ApplicationFailure ? (err.type ?? undefined) : undefined);
          throw err;
        }
        span.setAttribute('braid.breaker.state', flow.probe ? 'half-open' : 'closed');
      }
      let model = flow?.model ?? requested;

      const abort = new AbortController();
      let stalled = false;
      let overBudget = false;
      const onCancel = () => abort.abort();
      ctx.cancellationSignal.addEventListener('abort', onCancel);
      let idle: NodeJS.Timeout | undefined;
      // One timer, pushed back on every event (refresh) rather than replaced: a stream has many events.
      const touch = () => {
        if (idle) idle.refresh();
        else
          idle = setTimeout(() => {
            stalled = true;
            abort.abort();
          }, deps.streamIdleTimeoutMs);
      };
      const ticker = setInterval(beat, deps.heartbeatEveryMs ?? 2000);
      const startedAt = Date.now();
      let sawStop = false;
      let events = 0;
      // What the call has spent so far, from the stream: charged (as estimated) if it is cancelled mid-way.
      let inputSoFar = 0;
      let outputChars = 0;
      const announcer = ToolAnnouncer.for(deps.temporal, req.announceTools);
      const sections = SectionAnnouncer.for(deps.temporal, req.announceSections);
      const streamer = TextStreamer.for(deps.answerStreams, req.streamTo);
      function spentSoFar(): PartialSpend | undefined {
        if (inputSoFar === 0 && outputChars === 0) return undefined;
        return {
          model,
          usage: { inputTokens: inputSoFar, outputTokens: estimateOutputTokens(outputChars) },
          estimated: true,
          streamedMs: Date.now() - startedAt,
        };
      }
      let reply: LlmResult;
      try {
        if (flow) {
          const maxTokens = req.maxTokens ?? deps.maxTokens;
          const limiter = flow.flow.limiter;
          const estimate = (m: string) => limiter.estimate(m, { system: req.system, messages, tools, maxTokens }).total;
          flow.estimated = estimate(model);
          const waiter = { signal: abort.signal, heartbeat: beat };
          const waiting = startLimiterWait(span, model, flow.estimated);
          try {
            if (spare && !routed) {
              ({ call: flow, routed } = await acquireOrRoute(
                flow,
                spare,
                req.fallback?.afterMs ?? DEFAULT_ROUTE_AFTER_MS,
                estimate,
                waiter,
              ));
              model = flow.model;
            } else {
              await limiter.acquire(model, flow.estimated, waiter);
              flow.acquired = true;
            }
          } finally {
            waiting.end();
          }
        }
        if (routed) span.setAttributes({ 'braid.routed_to': model, 'braid.route_reason': routed.reason });
        const stream = withSpan(span, () =>
          deps.claude.messages.stream(
            {
              model,
              max_tokens: req.maxTokens ?? deps.maxTokens,
              system: req.system,
              messages: withCacheBreakpoints(
                withCacheControl(model, req.system, tools, messages),
                req.cacheConversation ? conversationBreakpoints(model, { system: req.system, tools, messages }) : [],
              ) as Anthropic.MessageParam[],
              tools,
            },
            { signal: abort.signal, timeout: deps.requestTimeoutMs, maxRetries: 0 },
          ),
        );
        stream.on('connect', touch);
        for await (const event of stream) {
          events++;
          touch();
          announcer?.observe(event);
          sections?.observe(event);
          streamer?.observe(event);
          if (event.type === 'message_start') inputSoFar = event.message.usage.input_tokens;
          else if (event.type === 'content_block_delta') {
            if (event.delta.type === 'text_delta') outputChars += event.delta.text.length;
            else if (event.delta.type === 'input_json_delta') outputChars += event.delta.partial_json.length;
          } else if (event.type === 'message_stop') sawStop = true;
          if (req.maxUsd !== undefined && !overBudget) {
            const now = spentSoFar();
            if (now && earlierUsd + usdOf([now]) > req.maxUsd) {
              overBudget = true;
              abort.abort();
            }
          }
        }
        if (!sawStop) {
          throw ApplicationFailure.retryable(
            `${model}: stream ended without message_stop after ${events} events (request-id ${stream.request_id ?? 'none'}); the partial answer was discarded`,
            'LlmStreamTruncated',
          );
        }
        const message = await stream.finalMessage();
        // Every tool call announced reaches the run's history before the turn's result does.
        await announcer?.flushed();
        await sections?.flushed();
        await streamer?.flushed();
        if (flow)
          await flowSuccess(
            flow,
            { input: message.usage.input_tokens + (message.usage.cache_creation_input_tokens ?? 0), output: message.usage.output_tokens },
            stream.response?.headers,
          );
        reply = {
          model: message.model || model,
          content: toBlocks(message.content),
          stopReason: message.stop_reason ?? 'end_turn',
          usage: usageOf(message.usage),
          requestId: stream.request_id ?? null,
          // What answered says what it is: the simulator marks its responses (also behind ANTHROPIC_BASE_URL with a key set).
          simulated: stream.response ? stream.response.headers.get(SIMULATOR_HEADER) !== null : deps.simulated,
          startedAt,
          endedAt: Date.now(),
          attempt: ctx.info.attempt,
          ...(routed ? { routed } : {}),
          ...(messagesRef ? { messagesRef } : {}),
          ...(earlier.length ? { retriedSpend: earlier } : {}),
        };
        recordModelCall(reply.model, reply.usage, deps.flow?.prices);
        if (!req.hedge) latencies.record(req.model ?? req.role, reply.endedAt - reply.startedAt);
        const usd = usdFor(reply.model, reply.usage, { table: deps.flow?.prices });
        span.setAttributes({
          'gen_ai.response.model': reply.model,
          'gen_ai.usage.input_tokens': reply.usage.inputTokens,
          'gen_ai.usage.output_tokens': reply.usage.outputTokens,
          'gen_ai.response.finish_reasons': [reply.stopReason],
          'braid.simulated': reply.simulated,
          ...(usd !== undefined ? { 'braid.cost.usd': usd } : {}),
          ...(reply.requestId ? { 'braid.request_id': reply.requestId } : {}),
        });
        span.end();
      } catch (err) {
        if (ctx.cancellationSignal.aborted) {
          if (flow) flowCancelled(flow, ctx.cancellationDetails?.timedOut === true);
          // A cancelled activity returns nothing and history keeps only its last attempt: the spend
          // streamed so far travels in the cancellation's details, for the workflow to charge.
          const spend: PartialSpend = spentSoFar() ?? {
            model,
            usage: { inputTokens: 0, outputTokens: 0 },
            estimated: true,
            streamedMs: Date.now() - startedAt,
          };
          const reason = ctx.cancellationSignal.reason;
          span.setAttributes({
            'gen_ai.usage.input_tokens': spend.usage.inputTokens,
            'gen_ai.usage.output_tokens': spend.usage.outputTokens,
            'braid.usage.estimated': true,
          });
          endFailed(span, reason instanceof Error ? reason.message : 'cancelled', 'Cancelled');
          const carried: SpendDetails = { braidSpend: earlier };
          throw new CancelledFailure(reason instanceof Error ? reason.message : 'cancelled', [spend, carried]);
        }
        current = spentSoFar();
        const classified = overBudget
          ? ApplicationFailure.nonRetryable(
              `${model}: the answer would pass the call's budget reservation of ${formatUsd(req.maxUsd!)}; the stream was stopped`,
              'LlmBudgetReached',
            )
          : stalled
            ? ApplicationFailure.retryable(
                `${model}: no stream event for ${deps.streamIdleTimeoutMs} ms; the request was abandoned`,
                'LlmStreamStalled',
              )
            : toLlmFailure(err, model);
        // What this attempt and the ones before it streamed goes with the failure (read by the
        // workflow if it is the last) and in a last heartbeat (read by the next attempt).
        const failure = withSpend(classified, details(undefined));
        endFailed(span, failure, failure.type ?? undefined);
        ctx.heartbeat(details(attempts.details()));
        if (flow) throw await flowFailure(flow, err, failure);
        throw failure;
      } finally {
        clearTimeout(idle);
        clearInterval(ticker);
        ctx.cancellationSignal.removeEventListener('abort', onCancel);
      }
      if (req.storeAbove === undefined) return reply;
      const text = textOf(reply.content);
      const storedText = await blobs().storeAbove(text, req.storeAbove);
      return storedText ? { ...reply, content: withStoredText(reply.content, text, storedText), storedText } : reply;
    },
  };
}
