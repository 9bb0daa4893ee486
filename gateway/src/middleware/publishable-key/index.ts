/**
 * Authenticates a browser's tenant by its publishable key (`x-blindscore-key`) and the request's
 * `Origin`, which must be one of that tenant's allowed origins. Sets `c.var.tenant`.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../../../../protocol/errors.ts';
import { PublicHeaders } from '../../../../protocol/public-api.ts';
import { tenantDirectory } from '../../config/tenants.ts';
import type { AppEnv } from '../../env.ts';

export interface PublishableKeyOptions {
  /** Refuse requests without an `Origin` (session creation: only browsers create sessions). */
  requireOrigin?: boolean;
}

const defaults = { requireOrigin: false } satisfies Required<PublishableKeyOptions>;

/**
 * @example
 * sessions.post('/', publishableKey({ requireOrigin: true }), handler);
 */
export function publishableKey(options: PublishableKeyOptions = {}): MiddlewareHandler<AppEnv> {
  const opts = { ...defaults, ...options };
  return async function publishableKeyAuth(c, next) {
    const key = c.req.header(PublicHeaders.publishableKey);
    if (!key) throw new ApiError(401, 'missing_credentials', `Send the tenant's publishable key in ${PublicHeaders.publishableKey}.`);
    const tenant = tenantDirectory(c.env.TENANTS).byPublishableKey.get(key);
    if (!tenant) throw new ApiError(401, 'invalid_publishable_key', 'Unknown publishable key.');
    c.set('tenant', tenant);
    const origin = c.req.header('origin');
    if (origin === undefined ? opts.requireOrigin : !tenant.allowedOrigins.includes(origin)) {
      throw new ApiError(403, 'origin_not_allowed', 'This origin is not allowed for this publishable key.');
    }
    await next();
  };
}
