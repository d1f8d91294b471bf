// HTTP plumbing shared by the simulator's routes: API-shaped error bodies (the SDK picks its error
// class from the status and reads `error.type`/`request-id`), JSON replies, bounded body reading
// and abortable sleeps so a client hanging up (or close()) stops a request's timers at once.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Every simulator response carries this header, so whoever reads an answer can tell it came from the
 * simulator — also when ANTHROPIC_BASE_URL points at one and a key is set (the model-call activity
 * labels its result by it).
 */
export const SIMULATOR_HEADER = 'x-braid-simulator';

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  409: 'conflict_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

const DEFAULT_MESSAGES: Record<string, string> = {
  invalid_request_error: 'Invalid request',
  authentication_error: 'invalid x-api-key',
  billing_error: 'Your credit balance is too low to access the Anthropic API.',
  permission_error: 'Your API key does not have permission to use the specified resource.',
  not_found_error: 'Not found',
  timeout_error: 'Request timed out',
  conflict_error: 'Conflict',
  request_too_large: 'Request exceeds the maximum allowed number of bytes.',
  rate_limit_error: 'Number of requests has exceeded your rate limit. Please try again later.',
  api_error: 'Internal server error',
  overloaded_error: 'Overloaded',
};

export function errorTypeFor(status: number): string {
  return ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

export function errorBody(status: number, requestId: string, message?: string): string {
  const type = errorTypeFor(status);
  return JSON.stringify({ type: 'error', error: { type, message: message ?? DEFAULT_MESSAGES[type] ?? 'Error' }, request_id: requestId });
}

export const newRequestId = (): string => `req_sim_${randomBytes(12).toString('hex')}`;
export const newMessageId = (): string => `msg_sim_${randomBytes(12).toString('hex')}`;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  // Node has no reason phrase for the API's 529.
  if (status === 529) res.statusMessage = 'Overloaded';
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(
  res: ServerResponse,
  status: number,
  requestId: string,
  message?: string,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, errorBody(status, requestId, message), { ...headers, 'request-id': requestId });
}

export class BodyTooLarge extends Error {
  override name = 'BodyTooLarge';
}

export class ClientGone extends Error {
  override name = 'ClientGone';
}

/** The request body as text; rejects with BodyTooLarge past `limit` bytes. */
export function readBody(req: IncomingMessage, limit = 32 * 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge(`request body exceeds ${limit} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
    // A client that hangs up mid-upload; after 'end' this rejection is a no-op.
    req.on('close', () => reject(new ClientGone('client closed the connection before sending the whole body')));
  });
}

/** Waits `ms`; resolves false instead of waiting when `signal` aborts (client gone or server closing). */
export async function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms <= 0) return true;
  try {
    await delay(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/** An AbortSignal that fires when the response closes before it finished (client hung up, socket destroyed). */
export function closeSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}
