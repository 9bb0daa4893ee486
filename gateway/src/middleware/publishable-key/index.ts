/**
 * Authenticates a browser's tenant by its publishable key (`x-blindscore-key`) and the request's
 * `Origin`, which must be one of that tenant's allowed origins. Where allowed, a party backend's
 * secret key (`x-blindscore-party-key`) identifies the tenant instead. Sets `c.var.tenant`.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../../../../protocol/errors.ts';
import { PublicHeaders } from '../../../../protocol/public-api.ts';
import { resolvePartyKey, tenantDirectory } from '../../config/tenants.ts';
import { takeToken } from '../rate-limit/index.ts';
import type { AppEnv } from '../../env.ts';

export interface PublishableKeyOptions {
  /** Refuse requests without an `Origin` (session creation: only browsers create sessions). */
  requireOrigin?: boolean;
  /** Also accept a party key (the manifest, which party backends quantize with). */
  allowPartyKey?: boolean;
}

const defaults = { requireOrigin: false, allowPartyKey: false } satisfies Required<PublishableKeyOptions>;

/**
 * @example
 * sessions.post('/', publishableKey({ requireOrigin: true }), handler);
 * manifest.get('/', publishableKey({ allowPartyKey: true }), handler);
 */
export function publishableKey(options: PublishableKeyOptions = {}): MiddlewareHandler<AppEnv> {
  const opts = { ...defaults, ...options };
  return async function publishableKeyAuth(c, next) {
    const partyKey = c.req.header(PublicHeaders.partyKey);
    if (opts.allowPartyKey && partyKey !== undefined && c.req.header(PublicHeaders.publishableKey) === undefined) {
      const resolved = await resolvePartyKey(tenantDirectory(c.env.TENANTS), partyKey);
      if (!resolved) throw new ApiError(401, 'invalid_party_key', 'Unknown party key.');
      await takeToken(c.env, `tenant:${resolved.tenant.id}`, 'party-requests', resolved.tenant.rateLimits.partyRequestsPerMinute);
      c.set('tenant', resolved.tenant);
      return next();
    }
    const key = c.req.header(PublicHeaders.publishableKey);
    if (!key) throw new ApiError(401, 'missing_credentials', `Send the tenant's publishable key in ${PublicHeaders.publishableKey}.`);
    const tenant = tenantDirectory(c.env.TENANTS).byPublishableKey.get(key);
    if (!tenant) throw new ApiError(401, 'invalid_publishable_key', 'Unknown publishable key.');
    c.set('tenant', tenant);
    const origin = c.req.header('origin');
    if (origin === undefined ? opts.requireOrigin : !tenant.allowedOrigins.includes(origin)) {
      throw origin === undefined
        ? new ApiError(403, 'origin_not_allowed', 'Only a web page (a request with an Origin) may do this.')
        : new ApiError(403, 'origin_not_allowed', `The origin ${origin} is not allowed for this publishable key.`, { details: { origin } });
    }
    await next();
  };
}
