/**
 * CORS decided per tenant. A preflight carries no credential and does nothing, so it is answered
 * for any origin: the actual request is what the auth middleware refuses (403
 * `origin_not_allowed`) when its origin is not allowed for the tenant it authenticates as. A
 * successful response carries `Access-Control-Allow-Origin` only for an origin allowed by that
 * tenant; an error response carries it for any origin, with only the headers needed to read it,
 * so a page on a refused origin can read why (`origin_not_allowed`) instead of a bare network
 * failure. Errors hold no tenant data: a refused origin never passes authentication. Party keys
 * are never allowed from browsers: their header is not among the allowed request headers.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../../../../protocol/errors.ts';
import { PublicHeaders } from '../../../../protocol/public-api.ts';
import type { AppEnv } from '../../env.ts';

export interface TenantCorsOptions {
  /** Paths any origin may read (public documents). */
  publicPaths?: string[];
  /** Preflight cache lifetime, seconds. */
  maxAge?: number;
}

const defaults = { publicPaths: [], maxAge: 600 } satisfies Required<TenantCorsOptions>;

/**
 * @example
 * app.use('*', tenantCors({ publicPaths: ['/v1/openapi.json'] }));
 */
export function tenantCors(options: TenantCorsOptions = {}): MiddlewareHandler<AppEnv> {
  const opts = { ...defaults, ...options };
  const publicPaths = new Set(opts.publicPaths);
  const allowHeaders = [
    'authorization',
    'content-type',
    PublicHeaders.publishableKey,
    PublicHeaders.contentSha256,
    PublicHeaders.requestId,
  ].join(', ');
  const exposeHeaders = [PublicHeaders.requestId, PublicHeaders.retryAfter, PublicHeaders.runId].join(', ');
  const allowMethods = 'GET, POST, PUT, DELETE';

  return async function tenantCorsHandler(c, next) {
    const origin = c.req.header('origin');
    const isPublic = publicPaths.has(c.req.path);
    // Fetch spec: a preflight is OPTIONS with Access-Control-Request-Method.
    if (c.req.method === 'OPTIONS' && c.req.header('access-control-request-method')) {
      if (!origin) throw new ApiError(403, 'origin_not_allowed', 'A preflight must name its Origin.');
      c.header('access-control-allow-origin', isPublic ? '*' : origin);
      c.header('access-control-allow-methods', allowMethods);
      c.header('access-control-allow-headers', allowHeaders);
      c.header('access-control-max-age', String(opts.maxAge));
      c.header('vary', 'Origin');
      return c.body(null, 204);
    }
    await next();
    c.res.headers.append('vary', 'Origin');
    if (!origin) return;
    const tenant = c.get('tenant');
    // An error is readable from any origin (it is how a refused page learns why); a success only
    // from the authenticated tenant's origins.
    const allowed = isPublic || c.res.status >= 400 || tenant?.allowedOrigins.includes(origin) === true;
    if (allowed) {
      c.res.headers.set('access-control-allow-origin', isPublic ? '*' : origin);
      c.res.headers.set('access-control-expose-headers', exposeHeaders);
    }
  };
}
