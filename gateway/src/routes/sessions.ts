/**
 * `/v1/sessions`: create a session, upload its keys and inputs, run it, read its progress and
 * result, delete it. Routes only validate, call the session's Durable Object or R2, and answer.
 */
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { z } from 'zod';
import { ApiError } from '../../../protocol/errors.ts';
import { PartyInputs } from '../../../protocol/ciphertexts.ts';
import {
  CreateSessionRequest,
  CreateSessionResponse,
  InputsAccepted,
  KeyAccepted,
  PROGRESS_EVENT,
  PublicBodyLimits,
  PublicHeaders,
  ResultResponse,
  RunRequest,
  RunResponse,
  SessionProgress,
  SessionStatus,
  Sha256Hex,
} from '../../../protocol/public-api.ts';
import { blobKeys, openBlob, putBytes, putStreamExact, readBlobText, type KeyKind } from '../blobs.ts';
import { ipRateLimits } from '../config/settings.ts';
import { newSessionId, newSessionToken, sha256Hex } from '../crypto/tokens.ts';
import type { AppEnv } from '../env.ts';
import { validationHook } from '../errors.ts';
import { limitBody } from '../middleware/body-limit/index.ts';
import { publishableKey } from '../middleware/publishable-key/index.ts';
import { clientIp, rateLimit } from '../middleware/rate-limit/index.ts';
import { sessionAccess } from '../middleware/session-access/index.ts';
import { requiredParties, servedManifest } from '../model.ts';
import { unwrap } from '../sessions/outcome.ts';
import { sessionStub } from '../sessions/store.ts';
import { progressStream } from './progress.ts';
import { InputsPath, SessionPath, binary, errorResponses, security } from './openapi-parts.ts';

export const sessions = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const json = <S extends z.ZodType>(schema: S, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

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
    rateLimit({ bucket: 'sessions', subject: (c) => `ip:${clientIp(c) ?? 'unknown'}`, perMinute: (c) => ipRateLimits(c.env.IP_RATE_LIMITS).sessionsPerMinute }),
    publishableKey({ requireOrigin: true }),
    rateLimit({ bucket: 'sessions', subject: (c) => `tenant:${c.get('tenant').id}`, perMinute: (c) => c.get('tenant').rateLimits.sessionsPerMinute }),
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
    throw new ApiError(409, 'model_version_mismatch', 'The widget was built for another model version.', { details: { modelVersion } });
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
  description: 'What the session holds (never any key or ciphertext). Session token or a party key of the same tenant.',
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

// ---------------------------------------------------------------------------------------------
// Keys

const Sha256Header = z.object({ [PublicHeaders.contentSha256]: Sha256Hex.optional() });

function keyUploadRoute(kind: KeyKind) {
  const noun = kind === 'server-key' ? 'compressed server key' : 'compact public key';
  return createRoute({
    method: 'put',
    path: `/{sessionId}/${kind}`,
    operationId: kind === 'server-key' ? 'putServerKey' : 'putPublicKey',
    summary: `Upload the ${noun}`,
    description:
      `The ${noun} as \`application/octet-stream\`, streamed to storage; \`Content-Length\` is required and must be exact. ` +
      'A byte-identical repeat answers 200 with `duplicate: true`; a different key after one was accepted is refused.',
    security: security.token,
    middleware: [sessionAccess()],
    request: {
      params: SessionPath,
      headers: Sha256Header,
      body: { required: true, content: { 'application/octet-stream': { schema: binary } } },
    },
    responses: {
      201: json(KeyAccepted, 'Stored'),
      200: json(KeyAccepted, 'Already stored (byte-identical)'),
      ...errorResponses(400, 401, 403, 404, 409, 410, 411, 413, 415),
    },
  });
}

/** Lets the session hand what it holds to the evaluator after the response is sent. */
function prepareInBackground(c: Context<AppEnv>): void {
  const { sessionId, credential } = c.get('session');
  c.executionCtx.waitUntil(sessionStub(c.env, sessionId).prepare(credential).catch(() => undefined));
}

async function uploadKey(c: Context<AppEnv>, kind: KeyKind) {
  const { sessionId, credential } = c.get('session');
  const limit = kind === 'server-key' ? PublicBodyLimits.serverKey : PublicBodyLimits.publicKey;
  if (c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase() !== 'application/octet-stream') {
    throw new ApiError(415, 'unsupported_media_type', 'Send the key as application/octet-stream.');
  }
  const declared = c.req.header('content-length');
  if (declared === undefined || !/^[0-9]{1,12}$/.test(declared)) {
    throw new ApiError(411, 'length_required', 'Send the exact Content-Length of the key.');
  }
  const length = Number(declared);
  if (length > limit) throw new ApiError(413, 'body_too_large', `The ${kind} exceeds ${limit} bytes.`, { details: { limit } });
  const body = c.req.raw.body;
  if (length === 0 || !body) throw new ApiError(400, 'invalid_request', 'The key is empty.');
  const stub = sessionStub(c.env, sessionId);
  const expected = c.req.header(PublicHeaders.contentSha256);
  if (expected !== undefined) {
    const existing = unwrap(await stub.keyRef(credential, kind));
    if (existing && existing.sha256 === expected && existing.bytes === length) {
      await body.cancel();
      return c.json({ bytes: existing.bytes, sha256: existing.sha256, duplicate: true }, 200);
    }
  }
  const blob = await putStreamExact(c.env.BLOBS, blobKeys.key(sessionId, kind), body, length, expected);
  const committed = await stub.commitKey(credential, kind, blob);
  if (!committed.ok) await c.env.BLOBS.delete(blob.key);
  const { accepted, discard } = unwrap(committed);
  if (discard) await c.env.BLOBS.delete(discard);
  if (kind === 'server-key' && !accepted.duplicate) prepareInBackground(c);
  return c.json(accepted, accepted.duplicate ? 200 : 201);
}

sessions.openapi(keyUploadRoute('server-key'), (c) => uploadKey(c, 'server-key'));
sessions.openapi(keyUploadRoute('public-key'), (c) => uploadKey(c, 'public-key'));

const getPublicKey = createRoute({
  method: 'get',
  path: '/{sessionId}/public-key',
  operationId: 'getPublicKey',
  summary: 'Download the compact public key',
  description: 'For party backends, which encrypt their inputs under it. Session token or a party key of the same tenant.',
  security: security.tokenOrParty,
  middleware: [sessionAccess({ level: 'token-or-party' })],
  request: { params: SessionPath },
  responses: {
    200: { description: 'The key bytes', content: { 'application/octet-stream': { schema: binary } } },
    ...errorResponses(401, 403, 404, 409, 410),
  },
});

sessions.openapi(getPublicKey, async (c) => {
  const { sessionId, credential } = c.get('session');
  const ref = unwrap(await sessionStub(c.env, sessionId).keyRef(credential, 'public-key'));
  const body = ref ? await openBlob(c.env.BLOBS, ref) : undefined;
  if (!ref || !body) throw new ApiError(409, 'public_key_not_ready', 'The public key has not been uploaded yet.', { retriable: true });
  return c.body(body, 200, {
    'content-type': 'application/octet-stream',
    'content-length': String(ref.bytes),
    [PublicHeaders.contentSha256]: ref.sha256,
  });
});

// ---------------------------------------------------------------------------------------------
// Inputs

const putInputs = createRoute({
  method: 'put',
  path: '/{sessionId}/inputs/{party}',
  operationId: 'putInputs',
  summary: "Upload a party's encrypted inputs",
  description:
    'The session token uploads the applicant\u2019s inputs (every party\u2019s for demo tenants); a party key uploads its own party\u2019s. ' +
    'A byte-identical repeat answers 200 with `duplicate: true`; different inputs replace earlier ones until the run starts.',
  security: security.tokenOrParty,
  middleware: [sessionAccess({ level: 'token-or-party' }), limitBody(PublicBodyLimits.partyInputs)],
  request: { params: InputsPath, body: { required: true, content: { 'application/json': { schema: PartyInputs } } } },
  responses: {
    201: json(InputsAccepted, 'Stored'),
    200: json(InputsAccepted, 'Already stored (byte-identical)'),
    ...errorResponses(400, 401, 403, 404, 409, 410, 413, 415),
  },
});

sessions.openapi(putInputs, async (c) => {
  const { sessionId, credential, modelVersion } = c.get('session');
  const { party } = c.req.valid('param');
  const inputs = c.req.valid('json');
  if (inputs.party !== party) throw new ApiError(400, 'party_mismatch', `The body is ${inputs.party}'s inputs, the path says ${party}.`);
  if (inputs.modelVersion !== modelVersion) {
    throw new ApiError(409, 'model_version_mismatch', 'The inputs were built for another model version.', { details: { modelVersion } });
  }
  const stub = sessionStub(c.env, sessionId);
  unwrap(await stub.mayUploadInputs(credential, party));
  const bytes = new TextEncoder().encode(JSON.stringify(inputs));
  const sha256 = await sha256Hex(bytes);
  const blob = await putBytes(c.env.BLOBS, blobKeys.inputs(sessionId, party, sha256), bytes, 'application/json');
  const { accepted, discard } = unwrap(await stub.commitInputs(credential, party, blob));
  if (discard) await c.env.BLOBS.delete(discard);
  if (!accepted.duplicate) prepareInBackground(c);
  return c.json(accepted, accepted.duplicate ? 200 : 201);
});

// ---------------------------------------------------------------------------------------------
// Run, progress, result

const run = createRoute({
  method: 'post',
  path: '/{sessionId}/run',
  operationId: 'runSession',
  summary: 'Start the run, or retry a failed one',
  description:
    'Hands the stored key and inputs to the evaluator and starts the run. After a retriable failure, call again: ' +
    'nothing needs uploading twice. 202 when started, 200 when it already was (or is done).',
  security: security.token,
  middleware: [sessionAccess(), limitBody(PublicBodyLimits.run)],
  request: { params: SessionPath, body: { required: false, content: { 'application/json': { schema: RunRequest } } } },
  responses: {
    202: json(RunResponse, 'Run started'),
    200: json(RunResponse, 'Already running or done'),
    ...errorResponses(401, 403, 404, 409, 410, 413, 415, 422, 502, 503),
  },
});

sessions.openapi(run, async (c) => {
  const { sessionId, credential } = c.get('session');
  const { status, started } = unwrap(await sessionStub(c.env, sessionId).run(credential));
  return c.json(status, started ? 202 : 200);
});

const progress = createRoute({
  method: 'get',
  path: '/{sessionId}/progress',
  operationId: 'sessionProgress',
  summary: 'Progress as server-sent events',
  description:
    `\`text/event-stream\` of \`${PROGRESS_EVENT}\` events, each a SessionProgress JSON object: the current state first, then every change; ` +
    'the stream ends after `done` or `failed`. Read it with fetch (the token goes in the authorization header).',
  security: security.token,
  middleware: [sessionAccess()],
  request: { params: SessionPath },
  responses: {
    200: { description: 'Event stream', content: { 'text/event-stream': { schema: SessionProgress } } },
    ...errorResponses(401, 403, 404, 410),
  },
});

sessions.openapi(progress, (c) => progressStream(c));

const result = createRoute({
  method: 'get',
  path: '/{sessionId}/result',
  operationId: 'getResult',
  summary: 'The encrypted result',
  description: 'Once the session is `done`. Only the session token: party keys never read results.',
  security: security.token,
  middleware: [sessionAccess()],
  request: { params: SessionPath },
  responses: { 200: json(ResultResponse, 'The encrypted decision and explanation'), ...errorResponses(401, 403, 404, 409, 410) },
});

sessions.openapi(result, async (c) => {
  const { sessionId, credential } = c.get('session');
  const ref = unwrap(await sessionStub(c.env, sessionId).result(credential));
  const text = await readBlobText(c.env.BLOBS, ref);
  if (text === undefined) throw new ApiError(410, 'session_deleted', 'The result is gone.');
  // Stored after validation; parsed again so the response is checked at this boundary too.
  return c.json(ResultResponse.parse(JSON.parse(text)), 200);
});
