/**
 * The BlindScore gateway: composes the public `/v1` API and exports the Durable Object classes
 * (sessions, rate limiter, and the evaluator container used in production).
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { requestId } from 'hono/request-id';
import { PublicHeaders, PublicRoutes } from '../../protocol/public-api.ts';
import { ipRateLimits } from './config/settings.ts';
import type { AppEnv } from './env.ts';
import { notFound, onError, validationHook } from './errors.ts';
import { tenantCors } from './middleware/cors/index.ts';
import { clientIp, rateLimit } from './middleware/rate-limit/index.ts';
import { serverOnlyPartyKeys } from './middleware/server-only-party-keys/index.ts';
import { methodNotAllowed, openApiDocument, openApiRoute } from './routes/openapi.ts';
import { appearance } from './routes/appearance.ts';
import { manifest } from './routes/manifest.ts';
import { sessions } from './routes/sessions.ts';

export { SessionObject } from './sessions/object.ts';
export { RateLimiter } from './rate-limit/object.ts';
export { EvaluatorContainer } from './evaluator/container.ts';

export const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

app.use('*', requestId({ headerName: PublicHeaders.requestId, limitLength: 64 }));
app.use('*', tenantCors({ publicPaths: [PublicRoutes.openapi] }));
app.use('/v1/*', serverOnlyPartyKeys());
// Session answers (tokens, status, progress, results) never belong in an HTTP cache. Saying so
// here, rather than each client asking with `cache: 'no-store'`, keeps browsers' CORS preflight
// cache working: Chromium skips it for no-store and no-cache fetches, preflighting every request.
app.use('/v1/*', async (c, next) => {
  await next();
  if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
});
app.use(
  '/v1/*',
  rateLimit({
    bucket: 'requests',
    subject: (c) => `ip:${clientIp(c) ?? 'unknown'}`,
    perMinute: (c) => ipRateLimits(c.env.IP_RATE_LIMITS).requestsPerMinute,
  }),
);
app.route(PublicRoutes.manifest, manifest);
app.route(PublicRoutes.appearance, appearance);
app.route(PublicRoutes.sessions, sessions);
app.openapi(openApiRoute, (c) => c.json(openApiDocument(app) as { openapi: string }, 200));
methodNotAllowed(app);
app.notFound(notFound);
app.onError(onError);

export default app;
