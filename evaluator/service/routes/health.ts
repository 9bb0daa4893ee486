/**
 * Liveness and readiness, unauthenticated so the container's HEALTHCHECK and the platform's
 * probes can call them; they reveal no session data.
 */
import { Hono } from 'hono';
import { EvaluatorRoutes, type HealthResponse } from '../../../protocol/evaluator-api.ts';
import type { AppEnv } from '../env.ts';
import type { EvaluatorService } from '../evaluator-service.ts';

export function healthRoutes(service: EvaluatorService) {
  const started = performance.now();
  return new Hono<AppEnv>()
    .get(EvaluatorRoutes.health, (c) =>
      c.json({ status: 'ok', uptimeSeconds: Math.round((performance.now() - started) / 1000) } satisfies HealthResponse),
    )
    .get(EvaluatorRoutes.ready, (c) => {
      const r = service.readiness();
      return c.json(r, r.ready ? 200 : 503);
    });
}
