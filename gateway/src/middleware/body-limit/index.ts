/**
 * Hono's `bodyLimit`, answering with the documented 413 `body_too_large` (with the limit in
 * `details`). It checks `Content-Length` first and counts streamed bytes otherwise.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../../env.ts';
import { PublicApiError } from '../../../../protocol/public-api.ts';

/**
 * @example
 * route.middleware = [limitBody(PublicBodyLimits.partyInputs)];
 */
export function limitBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new PublicApiError(413, 'body_too_large', `The body exceeds ${maxBytes} bytes.`, { details: { limit: maxBytes } });
    },
  }) as MiddlewareHandler<AppEnv>;
}
