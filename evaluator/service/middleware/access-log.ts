/**
 * One JSON log line per request: request id, method, route pattern, session id, party (inputs
 * uploads), status and duration. Never headers or bodies. Also gives each request a child logger (`c.get('log')`).
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env.ts';
import type { Logger } from '../log.ts';

/**
 * @example
 * app.use(requestId(), accessLog(log));
 */
export function accessLog(log: Logger) {
  return createMiddleware<AppEnv>(async function accessLog(c, next) {
    const started = performance.now();
    const requestLog = log.child({ requestId: c.get('requestId') });
    c.set('log', requestLog);
    await next();
    const sessionId = c.req.param('sessionId');
    const party = c.req.param('party');
    requestLog.info(
      {
        method: c.req.method,
        route: c.req.routePath,
        ...(sessionId ? { sessionId } : {}),
        ...(party ? { party } : {}),
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
      },
      'request',
    );
  });
}
