/**
 * `/v1/sessions`: create a session, read its status, delete it; the key, inputs and run routes
 * live in their own modules and are mounted here. Routes only validate, call the session's
 * Durable Object or R2, and answer.
 */
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import {
  CreateSessionRequest,
  CreateSessionResponse,
  PublicBodyLimits,
  SessionStatus,
  PublicApiError,
} from '../../../protocol/public-api.ts';
import { ipRateLimits } from '../config/settings.ts';
import { sha256Hex } from '../../../protocol/bytes.ts';
import { newSessionId, newSessionToken } from '../crypto/tokens.ts';
import type { AppEnv } from '../env.ts';
import { validationHook } from '../errors.ts';
import { limitBody } from '../middleware/body-limit/index.ts';
import { publishableKey } from '../middleware/publishable-key/index.ts';
import { clientIp, rateLimit } from '../middleware/rate-limit/index.ts';
import { sessionAccess } from '../middleware/session-access/index.ts';
import { requiredParties, servedManifest } from '../model.ts';
import { unwrap } from '../sessions/outcome.ts';
import { sessionStub } from '../sessions/store.ts';
import { inputs } from './inputs.ts';
import { keys } from './keys.ts';
import { SessionPath, errorResponses, json, security } from './openapi-parts.ts';
import { runs } from './run.ts';
import { uploads } from './uploads.ts';

export const sessions = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

// ---------------------------------------------------------------------------------------------
// Create

const createSession = createRoute({
  method: 'post',
  path: '/',
  operationId: 'createSession',
  summary: 'Create a session',
  description: 'Browsers only: the publishable key and an allowed Origin. Returns the session id and its capability token (shown once).',
  security: security.publishableKey,
  middleware: [
    rateLimit({
      bucket: 'sessions',
      subject: (c) => `ip:${clientIp(c) ?? 'unknown'}`,
      perMinute: (c) => ipRateLimits(c.env.IP_RATE_LIMITS).sessionsPerMinute,
    }),
    publishableKey({ requireOrigin: true }),
    rateLimit({
      bucket: 'sessions',
      subject: (c) => `tenant:${c.get('tenant').id}`,
      perMinute: (c) => c.get('tenant').rateLimits.sessionsPerMinute,
    }),
    limitBody(PublicBodyLimits.createSession),
  ],
  request: { body: { required: true, content: { 'application/json': { schema: CreateSessionRequest } } } },
  responses: {
    201: json(CreateSessionResponse, 'Session created'),
    ...errorResponses(400, 401, 403, 409, 413, 415),
  },
});

sessions.openapi(createSession, async (c) => {
  const tenant = c.get('tenant');
  const body = c.req.valid('json');
  const { modelVersion } = servedManifest();
  if (body.modelVersion !== modelVersion) {
    throw new PublicApiError(409, 'model_version_mismatch', 'The widget was built for another model version.', {
      details: { modelVersion },
    });
  }
  const ttlSeconds = Math.min(body.ttlSeconds ?? tenant.sessionTtlSeconds.default, tenant.sessionTtlSeconds.max);
  const sessionId = newSessionId();
  const token = newSessionToken();
  const status = unwrap(
    await sessionStub(c.env, sessionId).create({
      sessionId,
      tenantId: tenant.id,
      tokenHash: await sha256Hex(token),
      modelVersion: body.modelVersion,
      demo: tenant.demo,
      parties: requiredParties(),
      ttlSeconds,
      maxRuns: tenant.maxRunsPerSession,
    }),
  );
  return c.json({ sessionId, token, status }, 201);
});

// ---------------------------------------------------------------------------------------------
// Status and deletion

const getSession = createRoute({
  method: 'get',
  path: '/{sessionId}',
  operationId: 'getSession',
  summary: 'Session status',
  description:
    'What the session holds (never any key or ciphertext). Session token or a party key of the same tenant. ' +
    'The token sees the stored keys\u2019 sizes and hashes; a party key sees only whether each key was received ' +
    '(a returning applicant\u2019s cached keys hash the same in every session, so hashes would link their checks).',
  security: security.tokenOrParty,
  middleware: [sessionAccess({ level: 'token-or-party' })],
  request: { params: SessionPath },
  responses: { 200: json(SessionStatus, 'Session status'), ...errorResponses(401, 403, 404, 410) },
});

sessions.openapi(getSession, async (c) => {
  const { sessionId, credential } = c.get('session');
  return c.json(unwrap(await sessionStub(c.env, sessionId).status(credential)), 200);
});

const deleteSession = createRoute({
  method: 'delete',
  path: '/{sessionId}',
  operationId: 'deleteSession',
  summary: 'Delete a session',
  description: 'Deletes every key, ciphertext and result of the session, in the gateway and on the evaluator.',
  security: security.token,
  middleware: [sessionAccess()],
  request: { params: SessionPath },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404, 410) },
});

sessions.openapi(deleteSession, async (c) => {
  const { sessionId, credential } = c.get('session');
  unwrap(await sessionStub(c.env, sessionId).remove(credential));
  return c.body(null, 204);
});

sessions.route('/', keys);
sessions.route('/', uploads);
sessions.route('/', inputs);
sessions.route('/', runs);
