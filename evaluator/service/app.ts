/**
 * Composes the evaluator's Hono app: request ids, access log, health routes, then the signed
 * session API, and the one error handler.
 */
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import type { AppEnv } from './env.ts';
import { notFound, onError } from './errors.ts';
import type { EvaluatorService } from './evaluator-service.ts';
import type { Logger } from './log.ts';
import { accessLog } from './middleware/access-log.ts';
import { sharedSecret, type SharedSecretOptions } from './middleware/shared-secret.ts';
import { healthRoutes } from './routes/health.ts';
import { sessionRoutes } from './routes/sessions.ts';

export interface AppOptions {
  service: EvaluatorService;
  log: Logger;
  auth: SharedSecretOptions;
}

export function createApp({ service, log, auth }: AppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // The gateway's request id, when well-formed, ties both tiers' logs together.
  app.use(requestId({ limitLength: 64 }), accessLog(log));
  app.route('/', healthRoutes(service, auth));
  app.use('/v1/*', sharedSecret(auth));
  app.route('/', sessionRoutes(service));
  app.notFound(notFound);
  app.onError(onError(log));
  return app;
}
