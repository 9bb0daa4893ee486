/**
 * The gateway's single error path: everything thrown becomes `{ code, message, requestId }`
 * (plus `retriable`/`details` when set) with the status of its code, and every retriable one
 * with a `retry-after`. `ApiError` is the one error type routes and middleware throw; Hono's own
 * `HTTPException`s (malformed JSON, media type, body limit) are mapped onto the documented codes;
 * anything else is 500 `internal`, logged by name only so no payload can reach the logs.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import { ApiError } from '../../protocol/errors.ts';
import { PublicHeaders, PublicApiError } from '../../protocol/public-api.ts';
import type { AppEnv } from './env.ts';

const HTTP_EXCEPTION_CODES: Readonly<Record<number, ApiError>> = {
  400: new PublicApiError(400, 'invalid_json', 'The body is not valid JSON.'),
  413: new PublicApiError(413, 'body_too_large', 'The body is larger than this route accepts.'),
  415: new PublicApiError(415, 'unsupported_media_type', 'The Content-Type is not one this route accepts.'),
};

/** Bounds of every `retry-after` the gateway sends, in seconds: at least 1 s, at most 5 min. */
const RETRY_AFTER_MIN_SECONDS = 1;
const RETRY_AFTER_MAX_SECONDS = 300;
/** `retry-after` of a retriable answer that names no wait: a 5xx (evaluator restarting), a 4xx (not ready yet). */
const DEFAULT_RETRY_AFTER_SECONDS = { server: 5, client: 1 } as const;

/** Whole seconds within the gateway's `retry-after` bounds. */
export function boundRetryAfter(seconds: number): number {
  return Math.min(RETRY_AFTER_MAX_SECONDS, Math.max(RETRY_AFTER_MIN_SECONDS, Math.ceil(seconds)));
}

/** Seconds a caller should wait before retrying: `details.retryAfterSeconds` when named, else a default. */
function retryAfterOf(error: ApiError): number {
  const hinted = error.extra.details?.['retryAfterSeconds'];
  if (typeof hinted === 'number' && Number.isFinite(hinted)) return boundRetryAfter(hinted);
  return error.status >= 500 ? DEFAULT_RETRY_AFTER_SECONDS.server : DEFAULT_RETRY_AFTER_SECONDS.client;
}

function respond(c: Context<AppEnv>, error: ApiError): Response {
  // Every retriable answer says when to retry (RFC 9110 §10.2.3, delay-seconds), not only 429/503.
  if (error.extra.retriable) c.header(PublicHeaders.retryAfter, String(retryAfterOf(error)));
  return c.json(error.toBody(c.get('requestId')), error.status);
}

export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof ApiError) return respond(c, err);
  if (err instanceof HTTPException) {
    const mapped = HTTP_EXCEPTION_CODES[err.status];
    if (mapped) return respond(c, mapped);
  }
  console.error(`request ${c.get('requestId')} failed:`, err instanceof Error ? err.name : typeof err);
  return respond(c, new PublicApiError(500, 'internal', 'Internal error.'));
};

export const notFound: NotFoundHandler<AppEnv> = (c) => respond(c, new PublicApiError(404, 'not_found', 'No such route.'));

/** A request part failed its schema: 400 `invalid_request` with the issues (paths and messages only). */
export function invalidRequest(error: z.ZodError): ApiError {
  const issues = error.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), message: i.message }));
  const first = issues[0];
  return new PublicApiError(400, 'invalid_request', first ? `${first.path || 'body'}: ${first.message}` : 'Invalid request.', {
    details: { issues },
  });
}

/** The zod-openapi validation hook: throw instead of answering, so `onError` shapes every error. */
export function validationHook(result: { success: true } | { success: false; error: z.ZodError }): void {
  if (!result.success) throw invalidRequest(result.error);
}
