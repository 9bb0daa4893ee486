/**
 * CORS decided per tenant. A preflight carries no credential, so it is allowed for an origin
 * that some tenant allows; the actual response then carries `Access-Control-Allow-Origin` only
 * when the origin is allowed for the tenant the request authenticated as (the auth middleware
 * also refuses such requests with 403 `origin_not_allowed`). Party keys are never allowed from
 * browsers: their header is not among the allowed request headers.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../../../../protocol/errors.ts';
import { PublicHeaders } from '../../../../protocol/public-api.ts';
import { tenantDirectory } from '../../config/tenants.ts';
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
  const exposeHeaders = [PublicHeaders.requestId, PublicHeaders.retryAfter].join(', ');
  const allowMethods = 'GET, POST, PUT, DELETE';

  return async function tenantCorsHandler(c, next) {
    const origin = c.req.header('origin');
    const isPublic = publicPaths.has(c.req.path);
    // Fetch spec: a preflight is OPTIONS with Access-Control-Request-Method.
    if (c.req.method === 'OPTIONS' && c.req.header('access-control-request-method')) {
      if (!origin || !(isPublic || tenantDirectory(c.env.TENANTS).anyOrigin.has(origin))) {
        throw new ApiError(403, 'origin_not_allowed', 'This origin may not call the API.');
      }
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
    let allowed = isPublic;
    if (!allowed) {
      const tenant = c.get('tenant');
      // Before authentication (or when it failed) fall back to "some tenant allows it", so the
      // browser can read the error body; nothing but the error is in such a response.
      allowed = tenant ? tenant.allowedOrigins.includes(origin) : safeAnyOrigin(c.env.TENANTS, origin);
    }
    if (allowed) {
      c.res.headers.set('access-control-allow-origin', isPublic ? '*' : origin);
      c.res.headers.set('access-control-expose-headers', exposeHeaders);
    }
  };
}

function safeAnyOrigin(source: AppEnv['Bindings']['TENANTS'], origin: string): boolean {
  try {
    return tenantDirectory(source).anyOrigin.has(origin);
  } catch {
    return false;
  }
}
