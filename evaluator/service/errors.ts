/**
 * The one error handler: every failure leaves as `ErrorBody` JSON `{ code, message, requestId }`.
 * An `ApiError` keeps its status and code; anything else is logged and becomes 500 `internal`
 * without its message (which might describe internals). Retriable 429/503 answers carry
 * `retry-after`: the error's `details.retryAfterSeconds` when it names one.
 */
import type { Context } from 'hono';
import { ApiError } from '../../protocol/errors.ts';
import type { AppEnv } from './env.ts';
import type { Logger } from './log.ts';
import { EvaluatorApiError } from '../../protocol/evaluator-api.ts';

/** `retry-after` of a retriable 429/503 that names no wait of its own. */
const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** Seconds a caller should wait before retrying `err`, or undefined when it should not retry. */
function retryAfter(err: ApiError): number | undefined {
  if (!err.extra.retriable || (err.status !== 429 && err.status !== 503)) return undefined;
  const hinted = err.extra.details?.retryAfterSeconds;
  return typeof hinted === 'number' && Number.isInteger(hinted) && hinted > 0 ? hinted : DEFAULT_RETRY_AFTER_SECONDS;
}

export function errorResponse(c: Context<AppEnv>, err: ApiError): Response {
  const res = c.json(err.toBody(c.get('requestId')), err.status);
  // RFC 9110 §10.2.3: delay-seconds, on 503 (overloaded, draining) and 429.
  const wait = retryAfter(err);
  if (wait !== undefined) res.headers.set('retry-after', String(wait));
  // The request body may be partly unread (413, or a refused key mid-stream): do not reuse the
  // connection, so the rest of the upload is not read as a next request.
  if (c.req.raw.body !== null) res.headers.set('connection', 'close');
  return res;
}

export function onError(log: Logger) {
  return function onError(err: Error, c: Context<AppEnv>): Response {
    if (err instanceof ApiError) return errorResponse(c, err);
    (c.get('log') ?? log).error({ err: err.name, message: err.message, stack: err.stack }, 'unhandled error');
    return errorResponse(c, new EvaluatorApiError(500, 'internal', 'internal error'));
  };
}

export function notFound(c: Context<AppEnv>): Response {
  return errorResponse(c, new EvaluatorApiError(404, 'not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));
}
