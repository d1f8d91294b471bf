/**
 * Turns Anthropic SDK errors into Temporal failures with stable types.
 *
 * Temporal owns retries (the SDK runs with maxRetries: 0), so this is where "retry or not" is
 * decided: 408/409/429/5xx/529, connection errors and broken streams are retryable, and when the
 * provider says when to come back (`retry-after-ms` / `retry-after`) that becomes `nextRetryDelay`;
 * 400/401/403/404/413/422 can never succeed on retry and fail the activity at once. Every message
 * carries the provider's request id and error type so a failure can be traced in Anthropic's logs.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError } from '@anthropic-ai/sdk';
import { ApplicationFailure } from '@temporalio/common';

const byStatus: Record<number, { type: string; retryable: boolean }> = {
  400: { type: 'LlmBadRequest', retryable: false },
  401: { type: 'LlmAuthentication', retryable: false },
  402: { type: 'LlmBilling', retryable: false },
  403: { type: 'LlmPermissionDenied', retryable: false },
  404: { type: 'LlmNotFound', retryable: false },
  408: { type: 'LlmTimeout', retryable: true },
  409: { type: 'LlmConflict', retryable: true },
  413: { type: 'LlmRequestTooLarge', retryable: false },
  422: { type: 'LlmBadRequest', retryable: false },
  429: { type: 'LlmRateLimited', retryable: true },
  529: { type: 'LlmOverloaded', retryable: true },
};

/**
 * Error types the API sends inside an SSE `error` event, where there is no HTTP status: mapped to
 * the status that carries the same type, so both paths share one table.
 */
const statusOfErrorType: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 408,
  overloaded_error: 529,
};

/** Milliseconds the server asked us to wait, from `retry-after-ms` or `retry-after` (seconds or HTTP date). */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') !== null && Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  const raw = headers.get('retry-after');
  if (raw === null) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/** A socket closed under a streaming body surfaces as a bare error ("terminated") with the socket error as cause. */
function droppedConnection(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if ((typeof code === 'string' && SOCKET_CODES.has(code)) || e.message === 'terminated' || e.name === 'SocketError') return true;
  }
  return false;
}

export interface LlmFailureDetails {
  status?: number;
  requestId?: string | null;
  errorType?: string | null;
  retryAfterMs?: number;
}

export function toLlmFailure(err: unknown, model: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof APIConnectionTimeoutError) {
    return ApplicationFailure.create({
      message: `request to ${model} timed out before a response arrived`,
      type: 'LlmTimeout',
      cause: err,
    });
  }
  if (err instanceof APIConnectionError) {
    return ApplicationFailure.create({ message: `connection to the model API failed: ${err.message}`, type: 'LlmConnection', cause: err });
  }
  if (err instanceof APIError) {
    const status = typeof err.status === 'number' ? err.status : undefined;
    const effective = status ?? statusOfErrorType[err.type ?? ''];
    const known = effective !== undefined ? byStatus[effective] : undefined;
    const type = known?.type ?? (effective === undefined ? 'LlmStreamError' : effective >= 500 ? 'LlmServerError' : 'LlmClientError');
    const retryable = known ? known.retryable : effective === undefined || effective >= 500;
    const delay = retryable ? retryAfterMs(err.headers) : undefined;
    const details: LlmFailureDetails = { status, requestId: err.requestID, errorType: err.type, retryAfterMs: delay };
    const what = status === undefined ? 'stream error event' : `HTTP ${status}`;
    const message = `${model}: ${what} ${err.type ?? 'error'}: ${err.apiMessage ?? err.message} (request-id ${err.requestID ?? 'none'})`;
    // A retry-after of 0 means "now"; as a nextRetryDelay Temporal would read 0 as "no more retries".
    const nextRetryDelay = delay !== undefined && delay > 0 ? delay : undefined;
    return ApplicationFailure.create({ message, type, nonRetryable: !retryable, nextRetryDelay, details: [details] });
  }
  if (droppedConnection(err)) {
    return ApplicationFailure.create({
      message: `${model}: the connection dropped mid-response (${(err as Error).message})`,
      type: 'LlmConnection',
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  // Anything else from the SDK here is a response we could not read (bad JSON, broken event order).
  return ApplicationFailure.create({ message: `${model}: unreadable response: ${message}`, type: 'LlmMalformedResponse' });
}
