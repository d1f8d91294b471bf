// The simulator's HTTP server: an Anthropic-compatible Messages API (`POST /v1/messages`,
// `count_tokens`, Message Batches, `GET /v1/models`) that the real SDK talks to through `baseURL`,
// plus admin routes for out-of-process users (benchmarks) and a slow fake remote-tool endpoint. It
// owns the mutable state — configuration, the seeded RNG, rate-limit buckets, fault counters, the
// prompt cache, batches and the ledger — and runs each request through the same pipeline as the
// real service: auth, validation (against the model table), prompt-cache lookup, rate limiting,
// then faults, then the deterministic planner, the cut at stop sequences and max_tokens, and a
// delivery paced by the latency model.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BatchInvalid, BatchNotFound, BatchStore, type BatchResult } from './batches';
import { PromptCache, promptLayout, type PromptLayout } from './cache';
import { ConfigInvalid, parseConfigPatch, type ConfigPatch } from './config';
import { readPdfTexts } from './content';
import { FaultBook } from './faults';
import { finishReply } from './generation';
import {
  BodyTooLarge,
  ClientGone,
  closeSignal,
  errorBody,
  newMessageId,
  newRequestId,
  readBody,
  sendError,
  sendJson,
  SIMULATOR_HEADER,
  sleep,
} from './http';
import { ModelCatalog, PageInvalid, paginate } from './models';
import { Mind } from './mind';
import { planReply } from './planner';
import { SeededRandom } from './random';
import { RateLimiter } from './rate-limit';
import { deliverMessage, deliverStream, messageObject } from './respond';
import { usdFor } from '../shared/pricing';
import { hashHex, requestText } from './text';
import { webPages } from './fixtures/web-pages';
import { DEFAULT_SEARCH_RESULTS, SearchCorpus, type SearchPage } from './web-search';
import { ModelNotFound, RequestInvalid, validateMessagesRequest } from './validate';
import type { Dist, LatencyConfig, LedgerEntry, MessagesRequest, ModelSpec, SimulatorOptions } from './types';

const DEFAULT_TTFT: Dist = { uniform: [150, 400] };
const DEFAULT_PER_TOKEN: Dist = 4;
const DEFAULT_TOOL_LATENCY: Dist = 100;
/** A search corpus stands for a web search API: slower than a plain remote tool. */
const DEFAULT_SEARCH_LATENCY: Dist = { uniform: [300, 900] };

/** The built-in `web_search` corpus with the options' corpora over it. */
function searchCorpora(extra: SimulatorOptions['searchCorpora'] = {}): Map<string, SearchCorpus> {
  const all: Record<string, SearchPage[]> = { web_search: webPages().map(({ tags: _tags, ...page }) => page), ...extra };
  return new Map(Object.entries(all).map(([name, pages]) => [name, new SearchCorpus(pages)]));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RequestInvalid('Request body is not valid JSON');
  }
}

const MIND_KEYS = ['seed', 'models', 'errorCorrelation', 'datasets', 'answerRules'] as const;
type MindOptions = Pick<SimulatorOptions, (typeof MIND_KEYS)[number]>;

/** A validated request with its model's limits and its prompt laid out for counting and caching. */
interface Prepared {
  request: MessagesRequest;
  spec: ModelSpec;
  layout: PromptLayout;
}

/** Maps the errors a Messages request can fail validation with to the API's status codes. */
function requestError(err: unknown): { status: number; message: string } | undefined {
  if (err instanceof ModelNotFound) return { status: 404, message: err.message };
  if (err instanceof RequestInvalid || err instanceof BatchInvalid || err instanceof PageInvalid)
    return { status: 400, message: err.message };
  if (err instanceof BatchNotFound) return { status: 404, message: err.message };
  if (err instanceof BodyTooLarge) return { status: 413, message: err.message };
  return undefined;
}

export class Simulator {
  readonly url: string;
  readonly port: number;

  private latency: LatencyConfig;
  private rng: SeededRandom;
  private limiter: RateLimiter;
  private faults: FaultBook;
  private apiKey: string | undefined;
  /** The model table and the error model over it; both rebuilt when configure() changes what they are built from. */
  private models: ModelCatalog;
  private mind: Mind;
  private mindOptions: MindOptions;
  private readonly quiet: boolean;
  private readonly promptCache: PromptCache;
  private readonly batches: BatchStore;
  private corpora: Map<string, SearchCorpus>;
  private entries: LedgerEntry[] = [];
  private seq = 0;
  private readonly sockets = new Set<Socket>();
  private readonly inFlight = new Set<Promise<void>>();

  private constructor(
    private readonly server: Server,
    opts: SimulatorOptions,
  ) {
    const address = server.address() as AddressInfo;
    const host = opts.host ?? '127.0.0.1';
    this.port = address.port;
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    this.latency = opts.latency ?? {};
    this.rng = new SeededRandom(opts.seed ?? 42);
    this.limiter = new RateLimiter(opts.rateLimits);
    this.faults = new FaultBook(opts.faults);
    this.apiKey = opts.apiKey;
    this.mindOptions = {
      seed: opts.seed,
      models: opts.models,
      errorCorrelation: opts.errorCorrelation,
      datasets: opts.datasets,
      answerRules: opts.answerRules,
    };
    this.models = new ModelCatalog(opts.models);
    this.mind = new Mind(this.mindOptions, this.models);
    this.quiet = opts.quiet ?? false;
    this.promptCache = new PromptCache(opts.promptCache);
    this.batches = new BatchStore(opts.batches);
    this.corpora = searchCorpora(opts.searchCorpora);
  }

  static async start(opts: SimulatorOptions = {}): Promise<Simulator> {
    const server = createServer();
    // Clients keep connections alive; a short server-side timeout races their reuse of them.
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const sim = new Simulator(server, opts);
    server.on('connection', (socket: Socket) => {
      sim.sockets.add(socket);
      socket.on('close', () => sim.sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const handling = sim.route(req, res).catch((err: unknown) => sim.internalError(res, err));
      sim.inFlight.add(handling);
      handling.finally(() => sim.inFlight.delete(handling)).catch(() => undefined);
    });
    return sim;
  }

  ledger(): LedgerEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  clearLedger(): void {
    this.entries = [];
  }

  configure(patch: ConfigPatch): void {
    if ('latency' in patch) this.latency = patch.latency ?? {};
    if ('rateLimits' in patch) this.limiter = new RateLimiter(patch.rateLimits);
    if ('faults' in patch) this.faults = new FaultBook(patch.faults);
    if ('seed' in patch) this.rng = new SeededRandom(patch.seed ?? 42);
    if ('apiKey' in patch) this.apiKey = patch.apiKey;
    if ('searchCorpora' in patch) this.corpora = searchCorpora(patch.searchCorpora);
    if (MIND_KEYS.some((k) => k in patch)) {
      for (const k of MIND_KEYS) if (k in patch) (this.mindOptions as Record<string, unknown>)[k] = patch[k];
      if ('models' in patch) this.models = new ModelCatalog(this.mindOptions.models);
      this.mind = new Mind(this.mindOptions, this.models);
    }
  }

  /** Stops listening, drops every open connection (stalled ones included) and waits for their handlers, so the ledger is final. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    // Handlers end as soon as their socket is gone; the timer only guards against a bug hanging close().
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)));
    await Promise.race([Promise.all([closed, ...this.inFlight]), guard]);
    clearTimeout(timer);
  }

  private log(line: string): void {
    if (!this.quiet) process.stderr.write(`[simulator] ${line}\n`);
  }

  private internalError(res: ServerResponse, err: unknown): void {
    if (err instanceof ClientGone) return;
    this.log(`internal error: ${err instanceof Error ? err.message : String(err)}`);
    if (!res.headersSent) sendError(res, 500, String(res.getHeader('request-id') ?? newRequestId()), 'Internal simulator error');
    else res.destroy();
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newRequestId();
    res.setHeader('request-id', requestId);
    res.setHeader(SIMULATOR_HEADER, 'braid');
    const url = new URL(req.url ?? '/', 'http://simulator');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    if (method === 'POST' && path === '/v1/messages') return this.messages(req, res, requestId);
    if (path.startsWith('/v1/')) return this.apiRoute(req, res, requestId, method, path, url.searchParams);
    if (method === 'GET' && path === '/_sim/health') return sendJson(res, 200, { ok: true });
    if (method === 'GET' && path === '/_sim/ledger') return sendJson(res, 200, this.ledger());
    if (method === 'POST' && path === '/_sim/reset') {
      req.resume();
      this.clearLedger();
      return sendJson(res, 200, { ok: true });
    }
    if (method === 'POST' && path === '/_sim/config') return this.configRoute(req, res, requestId);
    const tool = /^\/_sim\/tools\/([^/]+)$/.exec(path);
    if (method === 'POST' && tool?.[1]) return this.toolRoute(req, res, requestId, decodeURIComponent(tool[1]));
    req.resume();
    sendError(res, 404, requestId, `${method} ${path} not found`);
  }

  /** Every `/v1/` route but message creation: count_tokens, batches and models. */
  private async apiRoute(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    method: string,
    path: string,
    query: URLSearchParams,
  ): Promise<void> {
    let body = '';
    if (method !== 'POST') req.resume();
    else {
      try {
        body = await readBody(req);
      } catch (err) {
        if (err instanceof BodyTooLarge) return sendError(res, 413, requestId, err.message);
        throw err;
      }
    }
    if (!this.authorized(req)) return sendError(res, 401, requestId, 'invalid x-api-key');
    const baseUrl = `http://${req.headers.host ?? new URL(this.url).host}`;
    const batch = /^\/v1\/messages\/batches\/([^/]+)(?:\/(cancel|results))?$/.exec(path);
    const model = /^\/v1\/models\/([^/]+)$/.exec(path);
    try {
      if (method === 'POST' && path === '/v1/messages/count_tokens') {
        const prepared = await this.prepare(parseJson(body), false);
        return sendJson(res, 200, { input_tokens: prepared.layout.totalTokens });
      }
      if (method === 'POST' && path === '/v1/messages/batches') {
        const created = await this.batches.create(parseJson(body), (params) => this.runBatchRequest(params));
        return sendJson(res, 200, this.batches.view(created, baseUrl));
      }
      if (method === 'GET' && path === '/v1/messages/batches') return sendJson(res, 200, this.batches.list(query, baseUrl));
      if (batch?.[1]) {
        const id = decodeURIComponent(batch[1]);
        if (method === 'GET' && !batch[2]) return sendJson(res, 200, this.batches.view(this.batches.get(id), baseUrl));
        if (method === 'DELETE' && !batch[2]) return sendJson(res, 200, this.batches.delete(id));
        if (method === 'POST' && batch[2] === 'cancel') return sendJson(res, 200, this.batches.view(this.batches.cancel(id), baseUrl));
        if (method === 'GET' && batch[2] === 'results') {
          const jsonl = this.batches.results(id);
          res.writeHead(200, { 'content-type': 'application/x-jsonl', 'content-length': Buffer.byteLength(jsonl) });
          return void res.end(jsonl);
        }
      }
      if (method === 'GET' && path === '/v1/models') {
        const all = this.models.ids().map((id) => this.models.info(id)!);
        return sendJson(res, 200, paginate(all, query));
      }
      if (method === 'GET' && model?.[1]) {
        const info = this.models.info(decodeURIComponent(model[1]));
        if (!info) return sendError(res, 404, requestId, `model: ${decodeURIComponent(model[1])}`);
        return sendJson(res, 200, info);
      }
    } catch (err) {
      const known = requestError(err);
      if (known) return sendError(res, known.status, requestId, known.message);
      throw err;
    }
    sendError(res, 404, requestId, `${method} ${path} not found`);
  }

  /** Validates a Messages body against the model table, reads its PDFs and lays out its prompt; throws what requestError maps. */
  private async prepare(body: unknown, requireMaxTokens = true): Promise<Prepared> {
    const request = validateMessagesRequest(body, { requireMaxTokens, models: this.models });
    await readPdfTexts(request.messages);
    const spec = this.models.get(request.model)!;
    const layout = promptLayout(request);
    if (layout.totalTokens > spec.contextWindow)
      throw new RequestInvalid(`prompt is too long: ${layout.totalTokens} tokens > ${spec.contextWindow} maximum`);
    return { request, spec, layout };
  }

  /** One request of a Message Batch: no latency, rate limits or faults; it reads and writes the prompt cache at once. */
  private async runBatchRequest(params: unknown): Promise<BatchResult> {
    let prepared: Prepared;
    try {
      if (typeof params === 'object' && params !== null && (params as { stream?: unknown }).stream === true)
        throw new RequestInvalid('stream: streaming is not supported in Message Batches');
      prepared = await this.prepare(params);
    } catch (err) {
      const known = requestError(err);
      if (!known) throw err;
      return {
        type: 'errored',
        error: {
          type: 'error',
          error: { type: known.status === 404 ? 'not_found_error' : 'invalid_request_error', message: known.message },
        },
      };
    }
    const { request, spec, layout } = prepared;
    const cachePlan = this.promptCache.plan(layout, spec.minCacheTokens);
    this.promptCache.begin(cachePlan);
    const reply = finishReply(request, planReply(request, this.mind));
    const message = messageObject({ messageId: newMessageId(), model: request.model, usage: cachePlan.usage, reply, serviceTier: 'batch' });
    return { type: 'succeeded', message };
  }

  private authorized(req: IncomingMessage): boolean {
    if (this.apiKey === undefined) return true;
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    return req.headers['x-api-key'] === this.apiKey || bearer === this.apiKey;
  }

  /** Per-model latency config, then global config, then the model table's latency for it, then the defaults. */
  private drawLatency(model: string, spec: ModelSpec): { ttftMs: number; perTokenMs: number } {
    const override = this.latency.models?.[model];
    return {
      ttftMs: this.rng.draw(override?.ttftMs ?? this.latency.ttftMs ?? spec.ttftMs ?? DEFAULT_TTFT),
      perTokenMs: this.rng.draw(override?.perTokenMs ?? this.latency.perTokenMs ?? spec.perTokenMs ?? DEFAULT_PER_TOKEN),
    };
  }

  private async messages(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const entry: LedgerEntry = {
      seq: ++this.seq,
      requestId,
      receivedAt: Date.now(),
      finishedAt: 0,
      model: '',
      stream: false,
      inputTokens: 0,
      cacheCreationInputTokens: 0,
      cacheReadInputTokens: 0,
      outputTokens: 0,
      status: 0,
      outcome: 'ok',
      toolUses: 0,
    };
    const reject = (status: number, outcome: LedgerEntry['outcome'], message?: string, headers: Record<string, string> = {}): void => {
      Object.assign(entry, { status, outcome, finishedAt: Date.now() });
      this.entries.push(entry);
      sendError(res, status, requestId, message, headers);
      this.log(`#${entry.seq} ${entry.model || '-'} ${status} ${outcome}`);
    };

    let text: string;
    try {
      text = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLarge) return reject(413, 'invalid_request', err.message);
      throw err;
    }
    // Auth is checked before the body is judged, as the API does; the body only labels the ledger entry.
    let body: unknown;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      body = undefined;
    }
    if (typeof body === 'object' && body !== null) {
      const b = body as Record<string, unknown>;
      if (typeof b.model === 'string') entry.model = b.model;
      entry.stream = b.stream === true;
    }
    if (!this.authorized(req)) return reject(401, 'unauthorized', 'invalid x-api-key');

    let prepared: Prepared;
    try {
      prepared = await this.prepare(parseJson(text));
    } catch (err) {
      const known = requestError(err);
      if (known) return reject(known.status, known.status === 404 ? 'not_found' : 'invalid_request', known.message);
      throw err;
    }
    const { request, spec, layout } = prepared;
    const cachePlan = this.promptCache.plan(layout, spec.minCacheTokens);
    const { usage } = cachePlan;
    entry.inputTokens = usage.input_tokens;
    entry.cacheCreationInputTokens = usage.cache_creation_input_tokens;
    entry.cacheReadInputTokens = usage.cache_read_input_tokens;

    const demand = { input: usage.input_tokens + usage.cache_creation_input_tokens, maxOutput: request.max_tokens };
    const admission = this.limiter.admit(demand);
    if (!admission.ok) return reject(429, 'rate_limited', undefined, admission.headers);

    const rule = this.faults.pick({ model: request.model, stream: request.stream === true, text: requestText(request) }, this.rng);
    if (rule?.kind === 'status') {
      this.limiter.settle(demand.maxOutput, 0);
      const headers: Record<string, string> = { ...admission.headers };
      if (rule.retryAfterS !== undefined) headers['retry-after'] = String(rule.retryAfterS);
      if (rule.retryAfterMs !== undefined) headers['retry-after-ms'] = String(rule.retryAfterMs);
      return reject(rule.status ?? 500, 'fault:status', undefined, headers);
    }

    const planned = planReply(request, this.mind);
    const reply = finishReply(request, planned);
    const { ttftMs, perTokenMs } = this.drawLatency(request.model, spec);
    entry.outcome = rule ? `fault:${rule.kind}` : 'ok';
    if (!rule) {
      entry.stopReason = reply.stopReason;
      if (reply.stopSequence !== null) entry.stopSequence = reply.stopSequence;
    }
    entry.toolUses = reply.content.filter((b) => b.type === 'tool_use').length;
    this.entries.push(entry);

    let produced = 0;
    const deliver = request.stream ? deliverStream : deliverMessage;
    try {
      await deliver(res, {
        messageId: newMessageId(),
        model: request.model,
        usage,
        reply,
        // Counted from the request's arrival, as a real API's latency is: the simulator's own work
        // (reading, validating, planning the reply) comes out of the wait, not on top of it, so a
        // burst of requests in this one process does not lengthen every call by the others' work.
        ttftMs: Math.max(0, ttftMs + (planned.delayMs ?? 0) - (Date.now() - entry.receivedAt)),
        perTokenMs,
        headers: admission.headers,
        fault: rule?.kind,
        signal: closeSignal(res),
        produced: (tokens) => {
          produced += tokens;
          entry.outputTokens = Math.round(produced);
          this.limiter.debit(tokens);
        },
        started: (status) => {
          entry.status = status;
        },
        begun: () => this.promptCache.begin(cachePlan),
        finishing: () => {
          entry.finishedAt = Date.now();
        },
      });
    } finally {
      this.limiter.settle(demand.maxOutput, Math.round(produced));
    }
    if (entry.finishedAt === 0) entry.finishedAt = Date.now();
    // Priced as Braid prices the call (shared/pricing.ts), at this model's price in the table.
    if (spec.price)
      entry.costUsd = usdFor(
        request.model,
        {
          inputTokens: entry.inputTokens,
          outputTokens: entry.outputTokens,
          cacheReadTokens: entry.cacheReadInputTokens,
          cacheWriteTokens: usage.cache_creation.ephemeral_5m_input_tokens,
          cacheWrite1hTokens: usage.cache_creation.ephemeral_1h_input_tokens,
        },
        { table: { [request.model]: spec.price } },
      );
    this.log(
      `#${entry.seq} ${entry.model} ${entry.stream ? 'stream' : 'json'} ${entry.status} ${entry.outcome} ${entry.outputTokens} tok ${entry.finishedAt - entry.receivedAt} ms`,
    );
  }

  private async configRoute(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    try {
      this.configure(parseConfigPatch(parseJson(await readBody(req))));
      sendJson(res, 200, { ok: true });
    } catch (err) {
      if (err instanceof RequestInvalid || err instanceof ConfigInvalid || err instanceof BodyTooLarge) {
        return sendJson(res, 400, errorBody(400, requestId, err.message));
      }
      throw err;
    }
  }

  /**
   * A stand-in remote API: answers after the configured per-tool latency — with the best pages of
   * the tool's search corpus when it has one and the input has a `query`, else with text derived
   * from the input.
   */
  private async toolRoute(req: IncomingMessage, res: ServerResponse, requestId: string, name: string): Promise<void> {
    let input: unknown;
    try {
      const text = await readBody(req);
      input = text.trim() === '' ? {} : parseJson(text);
    } catch (err) {
      if (err instanceof RequestInvalid || err instanceof BodyTooLarge) return sendError(res, 400, requestId, err.message);
      throw err;
    }
    const corpus = this.corpora.get(name);
    const query = (input as { query?: unknown } | null)?.query;
    const wait = this.rng.draw(this.latency.tools?.[name] ?? (corpus ? DEFAULT_SEARCH_LATENCY : DEFAULT_TOOL_LATENCY));
    if (!(await sleep(wait, closeSignal(res)))) return;
    if (corpus && typeof query === 'string') {
      const limit = Number((input as { limit?: unknown }).limit ?? DEFAULT_SEARCH_RESULTS);
      return sendJson(res, 200, {
        tool: name,
        query,
        results: corpus.search(query, Number.isFinite(limit) ? limit : DEFAULT_SEARCH_RESULTS),
      });
    }
    const digest = hashHex(name, JSON.stringify(input)).slice(0, 8);
    const values = typeof input === 'object' && input !== null ? Object.values(input).filter((v) => typeof v !== 'object') : [input];
    const about = values.length > 0 ? values.map(String).join(', ').slice(0, 80) : 'no input';
    sendJson(res, 200, { tool: name, input, result: `${name} result for ${about} (ref ${digest})` });
  }
}
