/**
 * Activities of `braid search`: one source's search (every query of the run against one source, at
 * once), and the answer from the fused top hits.
 *
 * A source's search runs within the time the workflow gave it (the activity's schedule-to-close
 * timeout): at that moment its work is aborted — a remote request is dropped, not waited for — so a
 * source that runs out of time holds nothing on the worker either. A source that refuses the search
 * (SourceError: not configured, unknown) fails at once; anything else is retried within its time.
 *
 * The answer is a model call (`llmTurn`, with its streaming, heartbeats and retry semantics) that
 * reads the hits as cited documents. Provenance is computed here, never taken from the model: a
 * statement counts only with a citation Braid checked against the hit it names
 * (src/summarize/citations.ts), and it cites that hit by its rank in the fused list.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { withAttemptLedger, type AttemptPolicy } from '../flow/attempts';
import { ANSWER_SYSTEM, answerMessages, type ResultDocument } from '../prompts/search';
import {
  ANSWER_HIT_CHARS,
  ANSWER_MAX_TOKENS,
  DEFAULT_ANSWER_MODEL,
  type AnswerClaim,
  type SourceHit,
  type SourceLists,
  type SourceSearch,
} from '../shared/search';
import type { LlmRequest, LlmResult, TokenUsage } from '../shared/types';
import type { PartialSpend } from '../shared/usage';
import { SourceError, type SourceRegistry } from '../search/source';
import { chunkDocument, readReply } from '../summarize/citations';

export interface SearchDeps {
  sources: SourceRegistry;
  llmTurn(req: LlmRequest): Promise<LlmResult>;
  /** The model call's attempt ledger, applied to the answer as a whole (its RetryPolicy has no attempt limit). */
  attempts?: AttemptPolicy;
  heartbeatEveryMs?: number;
}

export interface AnswerRequest {
  question: string;
  /** The fused hits to answer from, best first. */
  hits: (Pick<SourceHit, 'id' | 'title' | 'snippet'> & { rank: number })[];
  /** A role or model id; default DEFAULT_ANSWER_MODEL. */
  model?: string;
  /** The call's budget reservation in dollars (see LlmRequest.maxUsd). */
  maxUsd?: number;
}

export interface AnswerReply {
  text: string;
  claims: AnswerClaim[];
  /** The ranks of the hits it read. */
  read: number[];
  model: string;
  usage: TokenUsage;
  simulated: boolean;
  citations: { returned: number; rejected: number };
  /** What failed attempts of the model call spent (estimated); see `LlmResult.retriedSpend`. */
  retriedSpend?: PartialSpend[];
}

/** How long before its deadline a search gives up, at most (5 % of its time for short ones). */
const GIVE_UP_EARLY_MS = 50;

/** When this attempt's time is up: the earlier of its start-to-close and what is left of schedule-to-close. */
function deadlineOf(info: Context['info'], startedAt: number): number {
  const attemptEnd = startedAt + (info.startToCloseTimeoutMs || Infinity);
  const runEnd = info.scheduleToCloseTimeoutMs ? info.scheduledTimestampMs + info.scheduleToCloseTimeoutMs : Infinity;
  return Math.min(attemptEnd, runEnd);
}

export function createSearchActivities(deps: SearchDeps) {
  return {
    /** The names of the sources this worker offers, built-in and the user's own. */
    async listSources(): Promise<string[]> {
      return deps.sources.names();
    },

    async searchSource(x: SourceSearch): Promise<SourceLists> {
      const ctx = Context.current();
      const startedAt = Date.now();
      const stop = new AbortController();
      const onCancel = () => stop.abort(ctx.cancellationSignal.reason);
      ctx.cancellationSignal.addEventListener('abort', onCancel, { once: true });
      // Give up a little before the server's own timer, so the attempt ends by this worker's report
      // (the server then sees no time left for a retry: out of time) and never by a completion the
      // server no longer expects.
      const total = deadlineOf(ctx.info, startedAt) - startedAt;
      const left = total - Math.min(GIVE_UP_EARLY_MS, total * 0.05);
      const timer = Number.isFinite(left)
        ? setTimeout(() => stop.abort(new Error(`${x.source} ran out of its ${ctx.info.scheduleToCloseTimeoutMs} ms`)), Math.max(0, left))
        : undefined;
      const ticker = setInterval(() => ctx.heartbeat(), deps.heartbeatEveryMs ?? 1000);
      try {
        const lists = await Promise.all(x.queries.map((q) => deps.sources.search(x.source, q, { limit: x.limit, signal: stop.signal })));
        return { source: x.source, lists };
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw err;
        if (err instanceof SourceError) throw ApplicationFailure.nonRetryable(err.message, 'SourceRefused');
        if (err instanceof ApplicationFailure) throw err;
        throw ApplicationFailure.retryable(`${x.source}: ${err instanceof Error ? err.message : String(err)}`, 'SourceFailed');
      } finally {
        clearTimeout(timer);
        clearInterval(ticker);
        ctx.cancellationSignal.removeEventListener('abort', onCancel);
      }
    },

    answerSearch(x: AnswerRequest): Promise<AnswerReply> {
      return withAttemptLedger(deps.attempts, 'search answer', async () => {
        // Full passages where the source can give them, else the snippet the list carried.
        const bySource = new Map<string, string[]>();
        for (const h of x.hits) {
          const source = h.id.slice(0, h.id.indexOf(':'));
          bySource.set(source, [...(bySource.get(source) ?? []), h.id]);
        }
        const texts = new Map<string, string>();
        for (const [source, ids] of bySource) {
          const found = await deps.sources.get(source)?.passages?.(ids);
          for (const [id, text] of found ?? []) texts.set(id, text);
        }
        const docs: ResultDocument[] = x.hits.map((h) => ({
          rank: h.rank,
          title: h.title,
          text: (texts.get(h.id) ?? h.snippet).slice(0, ANSWER_HIT_CHARS) || h.title,
        }));
        const res = await deps.llmTurn({
          role: 'capable',
          model: x.model ?? DEFAULT_ANSWER_MODEL,
          system: ANSWER_SYSTEM,
          messages: answerMessages(x.question, docs),
          maxTokens: ANSWER_MAX_TOKENS,
          ...(x.maxUsd !== undefined ? { maxUsd: x.maxUsd } : {}),
        });
        const read = readReply(
          res.content,
          docs.map((d) => chunkDocument(d.text, String(d.rank), 0)),
        );
        if (read.checks.rejected > 0)
          Context.current().log.warn(`search answer: ${read.checks.rejected} citation(s) rejected`, { reasons: read.rejections });
        const claims = read.claims.map((c) => ({
          text: c.text,
          cites: [...new Set(c.sources.map((s) => Number(s.source)))].sort((a, b) => a - b),
        }));
        return {
          text: claims.map((c) => `${c.text} ${c.cites.map((n) => `[${n}]`).join('')}`).join(' '),
          claims,
          read: docs.map((d) => d.rank),
          model: res.model,
          usage: res.usage,
          simulated: res.simulated,
          citations: { returned: read.checks.returned, rejected: read.checks.rejected },
          ...(res.retriedSpend?.length ? { retriedSpend: res.retriedSpend } : {}),
        };
      });
    },
  };
}
