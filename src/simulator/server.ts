// The simulator's HTTP server: an Anthropic-compatible `POST /v1/messages` that the real SDK talks
// to through `baseURL`, plus admin routes for out-of-process users (benchmarks) and a slow fake
// remote-tool endpoint. It owns the mutable state — configuration, the seeded RNG, rate-limit
// buckets, fault counters and the ledger — and runs each request through the same pipeline as the
// real service: auth, validation, rate limiting, then faults, then the deterministic planner and a
// delivery paced by the latency model.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ConfigInvalid, parseConfigPatch, type ConfigPatch } from './config';
import { FaultBook } from './faults';
import { BodyTooLarge, ClientGone, closeSignal, errorBody, newMessageId, newRequestId, readBody, sendError, sendJson, sleep } from './http';
import { Mind } from './personality';
import { planReply } from './planner';
import { SeededRandom } from './random';
import { RateLimiter } from './rate-limit';
import { deliverMessage, deliverStream } from './respond';
import { countInputTokens, hashHex, requestText } from './text';
import { RequestInvalid, validateMessagesRequest } from './validate';
import type { Dist, LatencyConfig, LedgerEntry, SimulatorOptions } from './types';

const DEFAULT_TTFT: Dist = { uniform: [150, 400] };
const DEFAULT_PER_TOKEN: Dist = 4;
const DEFAULT_TOOL_LATENCY: Dist = 100;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RequestInvalid('Request body is not valid JSON');
  }
}

export class Simulator {
  readonly url: string;
  readonly port: number;

  private latency: LatencyConfig;
  private rng: SeededRandom;
  private limiter: RateLimiter;
  private faults: FaultBook;
  private apiKey: string | undefined;
  private mind: Mind;
  private mindOptions: Pick<SimulatorOptions, 'seed' | 'models' | 'errorCorrelation' | 'datasets' | 'answerRules'>;
  private readonly quiet: boolean;
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
    this.mind = new Mind(this.mindOptions);
    this.quiet = opts.quiet ?? false;
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
    const mindKeys = ['seed', 'models', 'errorCorrelation', 'datasets', 'answerRules'] as const;
    if (mindKeys.some((k) => k in patch)) {
      for (const k of mindKeys) if (k in patch) (this.mindOptions as Record<string, unknown>)[k] = patch[k];
      this.mind = new Mind(this.mindOptions);
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
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    if (method === 'POST' && path === '/v1/messages') return this.messages(req, res, requestId);
    if (method === 'POST' && path === '/v1/messages/count_tokens') return this.countTokens(req, res, requestId);
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

  private authorized(req: IncomingMessage): boolean {
    if (this.apiKey === undefined) return true;
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    return req.headers['x-api-key'] === this.apiKey || bearer === this.apiKey;
  }

  /** Per-model latency config, then global config, then the model's personality, then the defaults. */
  private drawLatency(model: string): { ttftMs: number; perTokenMs: number } {
    const override = this.latency.models?.[model];
    const personality = this.mind.latency(model);
    return {
      ttftMs: this.rng.draw(override?.ttftMs ?? this.latency.ttftMs ?? personality.ttftMs ?? DEFAULT_TTFT),
      perTokenMs: this.rng.draw(override?.perTokenMs ?? this.latency.perTokenMs ?? personality.perTokenMs ?? DEFAULT_PER_TOKEN),
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

    let request;
    try {
      request = validateMessagesRequest(parseJson(text));
    } catch (err) {
      if (err instanceof RequestInvalid) return reject(400, 'invalid_request', err.message);
      throw err;
    }
    entry.inputTokens = countInputTokens(request);

    const admission = this.limiter.admit(entry.inputTokens);
    if (!admission.ok) return reject(429, 'rate_limited', undefined, admission.headers);

    const rule = this.faults.pick({ model: request.model, stream: request.stream === true, text: requestText(request) }, this.rng);
    if (rule?.kind === 'status') {
      const headers: Record<string, string> = { ...admission.headers };
      if (rule.retryAfterS !== undefined) headers['retry-after'] = String(rule.retryAfterS);
      if (rule.retryAfterMs !== undefined) headers['retry-after-ms'] = String(rule.retryAfterMs);
      return reject(rule.status ?? 500, 'fault:status', undefined, headers);
    }

    const reply = planReply(request, this.mind);
    const { ttftMs, perTokenMs } = this.drawLatency(request.model);
    entry.outcome = rule ? `fault:${rule.kind}` : 'ok';
    if (!rule) entry.stopReason = reply.stopReason;
    entry.toolUses = reply.content.filter((b) => b.type === 'tool_use').length;
    this.entries.push(entry);

    let produced = 0;
    const deliver = request.stream ? deliverStream : deliverMessage;
    await deliver(res, {
      messageId: newMessageId(),
      model: request.model,
      inputTokens: entry.inputTokens,
      reply,
      ttftMs: ttftMs + (reply.delayMs ?? 0),
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
      finishing: () => {
        entry.finishedAt = Date.now();
      },
    });
    if (entry.finishedAt === 0) entry.finishedAt = Date.now();
    entry.costUsd = this.mind.costUsd(entry.model, entry.inputTokens, entry.outputTokens);
    this.log(
      `#${entry.seq} ${entry.model} ${entry.stream ? 'stream' : 'json'} ${entry.status} ${entry.outcome} ${entry.outputTokens} tok ${entry.finishedAt - entry.receivedAt} ms`,
    );
  }

  private async countTokens(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    try {
      const body = parseJson(await readBody(req));
      if (!this.authorized(req)) return sendError(res, 401, requestId, 'invalid x-api-key');
      const request = validateMessagesRequest(body, false);
      sendJson(res, 200, { input_tokens: countInputTokens(request) });
    } catch (err) {
      if (err instanceof BodyTooLarge) return sendError(res, 413, requestId, err.message);
      if (err instanceof RequestInvalid) return sendError(res, 400, requestId, err.message);
      throw err;
    }
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

  /** A stand-in remote API: answers after the configured per-tool latency with text derived from the input. */
  private async toolRoute(req: IncomingMessage, res: ServerResponse, requestId: string, name: string): Promise<void> {
    let input: unknown;
    try {
      const text = await readBody(req);
      input = text.trim() === '' ? {} : parseJson(text);
    } catch (err) {
      if (err instanceof RequestInvalid || err instanceof BodyTooLarge) return sendError(res, 400, requestId, err.message);
      throw err;
    }
    const wait = this.rng.draw(this.latency.tools?.[name] ?? DEFAULT_TOOL_LATENCY);
    if (!(await sleep(wait, closeSignal(res)))) return;
    const digest = hashHex(name, JSON.stringify(input)).slice(0, 8);
    const values = typeof input === 'object' && input !== null ? Object.values(input).filter((v) => typeof v !== 'object') : [input];
    const about = values.length > 0 ? values.map(String).join(', ').slice(0, 80) : 'no input';
    sendJson(res, 200, { tool: name, input, result: `${name} result for ${about} (ref ${digest})` });
  }
}
