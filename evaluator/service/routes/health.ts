/**
 * Liveness, readiness and identity, unauthenticated so the container's HEALTHCHECK, the
 * platform's probes and the gateway's handshake can call them; they reveal no session data.
 * The identity is this process's boot id (not a secret), proven with the shared secret over
 * the caller's challenge so the caller knows which process it is signing for.
 */
import { Hono } from 'hono';
import {
  EvaluatorRoutes,
  IdentityQuery,
  proveEvaluatorIdentity,
  type HealthResponse,
  EvaluatorApiError,
} from '../../../protocol/evaluator-api.ts';
import type { AppEnv } from '../env.ts';
import type { EvaluatorService } from '../evaluator-service.ts';

export function healthRoutes(service: EvaluatorService, identity: { key: CryptoKey; bootId: string }) {
  const started = performance.now();
  return new Hono<AppEnv>()
    .get(EvaluatorRoutes.identity, async (c) => {
      const query = IdentityQuery.safeParse(c.req.query());
      if (!query.success) throw new EvaluatorApiError(400, 'invalid_request', 'challenge must be 32 hex characters');
      return c.json(await proveEvaluatorIdentity(identity.key, query.data.challenge, identity.bootId));
    })
    .get(EvaluatorRoutes.health, (c) =>
      c.json({ status: 'ok', uptimeSeconds: Math.round((performance.now() - started) / 1000) } satisfies HealthResponse),
    )
    .get(EvaluatorRoutes.ready, (c) => {
      const r = service.readiness();
      return c.json(r, r.ready ? 200 : 503);
    });
}
