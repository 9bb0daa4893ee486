/**
 * The gateway's public HTTP API (`/v1`), called by the `<blind-score>` widget in browsers and by
 * party backends (bank, bureau) with their secret keys.
 *
 * Everything a client needs is here: route paths ({@link PublicRoutes}, {@link publicPath}),
 * header names ({@link PublicHeaders}), body-size limits ({@link PublicBodyLimits}), zod schemas
 * for every request and response body, the progress stream's event format and the error codes
 * ({@link PublicErrorCode}). Every error body is the shared `ErrorBody` of `protocol/errors.ts`
 * (`{ code, message, requestId, retriable?, details? }`). The gateway serves the same contract as
 * an OpenAPI 3.1 document at {@link PublicRoutes.openapi}.
 *
 * A session, as the widget drives it:
 *
 * 1. `GET    /v1/manifest`                         the public model manifest
 * 2. `POST   /v1/sessions`                         → `{ sessionId, token, … }` (publishable key + Origin)
 * 3. `PUT    /v1/sessions/:sessionId/server-key`   the compressed server key, octets, streamed
 * 4. `PUT    /v1/sessions/:sessionId/public-key`   the compact public key, octets (for party backends)
 * 5. `PUT    /v1/sessions/:sessionId/inputs/:party` a party's `PartyUpload` (JSON: `PartyInputs` or `CompactListInputs`)
 * 6. `POST   /v1/sessions/:sessionId/run`          start (or retry) the one run
 * 7. `GET    /v1/sessions/:sessionId/progress`     `text/event-stream` of {@link SessionProgress}
 * 8. `GET    /v1/sessions/:sessionId/result`       the `EncryptedResult`
 * 9. `DELETE /v1/sessions/:sessionId`              forget every key and ciphertext
 *
 * Party backends use `GET /v1/manifest`, `GET /v1/sessions/:sessionId/public-key`,
 * `GET /v1/sessions/:sessionId` and `PUT /v1/sessions/:sessionId/inputs/<their party>` (a
 * `compact-list` body) with their secret key; nothing else. The party SDK in `party/` does it.
 *
 * Browser-safe: depends on zod and the other `protocol/` modules only.
 */
import { z } from 'zod';
import { CompactListInputs, EncryptedResult, ModelVersion, Party, PartyInputs, PartyUpload } from './ciphertexts.ts';
import { ErrorBody } from './errors.ts';
import { EvaluatorBodyLimits, RunProgress } from './evaluator-api.ts';

export { CompactListInputs, EncryptedResult, ModelVersion, Party, PartyInputs, PartyUpload, ErrorBody };

// ---------------------------------------------------------------------------------------------
// Routes and headers

/** Route patterns (Hono syntax). OpenAPI writes `:sessionId` as `{sessionId}`. */
export const PublicRoutes = {
  /** `GET` this API as an OpenAPI 3.1 JSON document. No authentication. */
  openapi: '/v1/openapi.json',
  /** `GET` the public model manifest. Publishable key, or a party key. */
  manifest: '/v1/manifest',
  /** `POST` create a session. Publishable key + allowed Origin. */
  sessions: '/v1/sessions',
  /** `GET` status (token or party key), `DELETE` forget (token). */
  session: '/v1/sessions/:sessionId',
  /** `PUT` the compressed server key (token), `application/octet-stream`, exact `Content-Length`. */
  serverKey: '/v1/sessions/:sessionId/server-key',
  /** `PUT` (token) / `GET` (token or party key) the compact public key, `application/octet-stream`. */
  publicKey: '/v1/sessions/:sessionId/public-key',
  /** `PUT` one party's {@link PartyUpload}, `application/json`. See {@link PublicHeaders}. */
  inputs: '/v1/sessions/:sessionId/inputs/:party',
  /** `POST` start the run, or retry a failed one (token). */
  run: '/v1/sessions/:sessionId/run',
  /** `GET` progress as `text/event-stream` (token). */
  progress: '/v1/sessions/:sessionId/progress',
  /** `GET` the encrypted result once the session is `done` (token only: never a party key). */
  result: '/v1/sessions/:sessionId/result',
} as const;

/** Concrete paths, for clients that build URLs. */
export const publicPath = {
  session: (sessionId: string) => `/v1/sessions/${encodeURIComponent(sessionId)}`,
  serverKey: (sessionId: string) => `${publicPath.session(sessionId)}/server-key`,
  publicKey: (sessionId: string) => `${publicPath.session(sessionId)}/public-key`,
  inputs: (sessionId: string, party: Party) => `${publicPath.session(sessionId)}/inputs/${party}`,
  run: (sessionId: string) => `${publicPath.session(sessionId)}/run`,
  progress: (sessionId: string) => `${publicPath.session(sessionId)}/progress`,
  result: (sessionId: string) => `${publicPath.session(sessionId)}/result`,
} as const;

/**
 * Request and response headers (lower case; HTTP header names are case-insensitive).
 *
 * Credentials, one kind per request:
 * - `x-blindscore-key: <publishable key>` for `GET /v1/manifest` and `POST /v1/sessions`; the
 *   request's `Origin` must be one of the tenant's allowed origins.
 * - `authorization: Bearer <session token>` for everything under `/v1/sessions/:sessionId`. A
 *   browser request that carries an `Origin` must come from one of the session tenant's origins.
 * - `x-blindscore-party-key: <secret party key>` for party backends (never in a browser): the
 *   manifest, status, public key download and their own party's inputs, for sessions of their
 *   own tenant.
 */
export const PublicHeaders = {
  publishableKey: 'x-blindscore-key',
  partyKey: 'x-blindscore-party-key',
  authorization: 'authorization',
  /**
   * Optional on key uploads: lowercase hex SHA-256 of the body. The gateway checks the streamed
   * bytes against it (400 `body_hash_mismatch`), and answers a repeat of an accepted upload
   * without reading the body again.
   */
  contentSha256: 'x-blindscore-content-sha256',
  /** Sent back on every response; a valid incoming value (1–64 of `[A-Za-z0-9_=-]`) is reused. */
  requestId: 'x-request-id',
  /** Seconds to wait, on 429 and 503 responses. */
  retryAfter: 'retry-after',
} as const;

/** The `Bearer` scheme prefix of {@link PublicHeaders.authorization}. */
export const BEARER_PREFIX = 'Bearer ';

// ---------------------------------------------------------------------------------------------
// Limits

/** Body-size caps per route (413 `body_too_large` past them; streamed bodies are counted). */
export const PublicBodyLimits = {
  /** `POST /v1/sessions`. */
  createSession: 4 * 1024,
  /** `POST …/run`. */
  run: 1024,
  /** `PUT …/inputs/:party`: the evaluator's own cap. */
  partyInputs: EvaluatorBodyLimits.partyInputs,
  /** `PUT …/server-key`: the evaluator's own cap (the 2_2 keys are 28–30 MB). */
  serverKey: EvaluatorBodyLimits.serverKey,
  /** `PUT …/public-key`: a `TfheCompactPublicKey` is ~33 kB; room for larger parameter sets. */
  publicKey: 256 * 1024,
} as const;

/** Session lifetime bounds, in seconds. A tenant may lower the default and the maximum. */
export const SESSION_TTL_SECONDS = { min: 5, default: 30 * 60, max: 24 * 3600 } as const;

// ---------------------------------------------------------------------------------------------
// Identifiers

/** Session id: 128 random bits, base64url without padding. Not a credential. */
export const SessionId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{22}$/, 'must be 22 base64url characters')
  .meta({ id: 'SessionId', description: '128 random bits, base64url.' });
export type SessionId = z.infer<typeof SessionId>;

/** Session capability token: 256 random bits, base64url without padding. Keep it secret. */
export const SessionToken = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'must be 43 base64url characters')
  .meta({ id: 'SessionToken', description: '256 random bits, base64url. The only key to the session.' });
export type SessionToken = z.infer<typeof SessionToken>;

/** Lowercase hex SHA-256. */
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');

export const SessionParams = z.object({ sessionId: SessionId }).strict();
export const InputsParams = z.object({ sessionId: SessionId, party: Party }).strict();

// ---------------------------------------------------------------------------------------------
// Session state

/**
 * Where a session is:
 * - `created`: no server key yet;
 * - `keys`: server key stored, some party's inputs missing;
 * - `inputs`: server key and every party's inputs stored: ready to run;
 * - `running`: the run was handed to the evaluator;
 * - `done`: the encrypted result is ready;
 * - `failed`: the run failed; `run.error.retriable` says whether `POST …/run` may succeed
 *   again (it re-sends stored keys and inputs: nothing is uploaded twice).
 *
 * Deleted and expired sessions answer 410 (`session_deleted`, `session_expired`) for a day,
 * then 404 `session_not_found`.
 */
export const SessionState = z
  .enum(['created', 'keys', 'inputs', 'running', 'done', 'failed'])
  .meta({ id: 'SessionState' });
export type SessionState = z.infer<typeof SessionState>;

/** A run's progress as the evaluator reports it (`state` `idle` until `POST …/run`). */
export const PublicRunProgress = RunProgress.meta({ id: 'RunProgress' });
export type PublicRunProgress = z.infer<typeof PublicRunProgress>;

/** A stored blob, described without its bytes. */
export const BlobInfo = z
  .object({ received: z.boolean(), bytes: z.number().int().positive().optional(), sha256: Sha256Hex.optional() })
  .strict()
  .meta({ id: 'BlobInfo' });
export type BlobInfo = z.infer<typeof BlobInfo>;

/** `GET /v1/sessions/:sessionId` response: what the session holds, never any key or ciphertext. */
export const SessionStatus = z
  .object({
    sessionId: SessionId,
    state: SessionState,
    modelVersion: ModelVersion,
    /** Whether the session token may upload every party's inputs (demo tenants). */
    demo: z.boolean(),
    /** ISO 8601 instants. */
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    serverKey: BlobInfo,
    publicKey: BlobInfo,
    parties: z.object({ received: z.array(Party), missing: z.array(Party) }).strict(),
    run: PublicRunProgress,
    /** How many times `POST …/run` handed the run to the evaluator. */
    attempts: z.number().int().nonnegative(),
  })
  .strict()
  .meta({ id: 'SessionStatus' });
export type SessionStatus = z.infer<typeof SessionStatus>;

// ---------------------------------------------------------------------------------------------
// Bodies

/** `POST /v1/sessions` body. */
export const CreateSessionRequest = z
  .object({
    /** The manifest version the widget was built against; must equal the served model's. */
    modelVersion: ModelVersion,
    /** Requested lifetime; capped by the tenant's maximum. Default: the tenant's default (30 min). */
    ttlSeconds: z.number().int().min(SESSION_TTL_SECONDS.min).max(SESSION_TTL_SECONDS.max).optional(),
  })
  .strict()
  .meta({ id: 'CreateSessionRequest' });
export type CreateSessionRequest = z.infer<typeof CreateSessionRequest>;

/** `POST /v1/sessions` response (201). The token is shown once; the gateway stores only its hash. */
export const CreateSessionResponse = z
  .object({ sessionId: SessionId, token: SessionToken, status: SessionStatus })
  .strict()
  .meta({ id: 'CreateSessionResponse' });
export type CreateSessionResponse = z.infer<typeof CreateSessionResponse>;

/** `PUT …/server-key` and `PUT …/public-key` response: 201 when stored, 200 for a repeat. */
export const KeyAccepted = z
  .object({ bytes: z.number().int().positive(), sha256: Sha256Hex, duplicate: z.boolean() })
  .strict()
  .meta({ id: 'KeyAccepted' });
export type KeyAccepted = z.infer<typeof KeyAccepted>;

/**
 * `PUT …/inputs/:party` response: 201 when stored, 200 for a byte-identical repeat. Different
 * inputs replace the party's earlier ones until the run starts (then 409 `run_started`).
 */
export const InputsAccepted = z
  .object({
    party: Party,
    sha256: Sha256Hex,
    duplicate: z.boolean(),
    received: z.array(Party),
    missing: z.array(Party),
  })
  .strict()
  .meta({ id: 'InputsAccepted' });
export type InputsAccepted = z.infer<typeof InputsAccepted>;

/** `POST …/run` body: empty or `{}`. */
export const RunRequest = z.object({}).strict().meta({ id: 'RunRequest' });
export type RunRequest = z.infer<typeof RunRequest>;

/** `POST …/run` response: 202 when handed to the evaluator, 200 when it already was (or is done). */
export const RunResponse = SessionStatus;

/** `GET …/result` response (200): the shared {@link EncryptedResult}. */
export const ResultResponse = EncryptedResult.meta({ id: 'EncryptedResult' });

// ---------------------------------------------------------------------------------------------
// Progress stream

/**
 * `GET …/progress` sends server-sent events named {@link PROGRESS_EVENT}; each `data` is one
 * {@link SessionProgress} JSON object. The stream sends the current state first, then every
 * change, and closes after `done` or `failed`. `: ping` comment lines keep it open while idle.
 * Browsers read it with `fetch` (the token goes in the `authorization` header, never the URL).
 */
export const PROGRESS_EVENT = 'progress';
/**
 * Sent instead when the session is deleted or expires while the stream is open: its `data` is
 * the `ErrorBody` (`session_deleted`, `session_expired`); the stream then closes.
 */
export const PROGRESS_ERROR_EVENT = 'error';

export const SessionProgress = z
  .object({ state: SessionState, run: PublicRunProgress })
  .strict()
  .meta({ id: 'SessionProgress' });
export type SessionProgress = z.infer<typeof SessionProgress>;

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * Error codes of the public API with their HTTP status. Retriable ones carry `retriable: true`
 * (and `retry-after` on 429/503); `details` carries facts where listed.
 */
export const PublicErrorCode = {
  invalid_request: 400, //          params, query, headers or JSON body fail their schema
  invalid_json: 400, //             body is not JSON
  body_hash_mismatch: 400, //       streamed bytes differ from `x-blindscore-content-sha256`
  party_mismatch: 400, //           body's `party` differs from the path's
  missing_credentials: 401, //      no credential of the kind the route takes
  invalid_publishable_key: 401, //  unknown publishable key
  invalid_token: 401, //            token does not open this session
  invalid_party_key: 401, //        unknown party key, or one of another tenant
  origin_not_allowed: 403, //       Origin missing (publishable-key routes) or not allowed for the tenant
  party_not_allowed: 403, //        this credential may not upload this party's inputs
  token_required: 403, //           a party key on a route only the session token may use
  party_key_server_only: 403, //    a party key on a request with an `Origin` (from a web page): party keys are for servers
  session_not_found: 404,
  not_found: 404, //                no such route
  method_not_allowed: 405,
  session_expired: 410, //          TTL reached; every key and ciphertext is gone
  session_deleted: 410, //          deleted by its owner
  model_version_mismatch: 409, //   request built for another model version; details.modelVersion
  server_key_exists: 409, //        a different server key was already accepted
  public_key_exists: 409, //        a different public key was already accepted
  run_started: 409, //              uploads after the run began
  missing_server_key: 409, //       run before the server key
  missing_inputs: 409, //           run before every party's inputs; details.missingParties
  result_not_ready: 409, //         result before `done` (retriable)
  public_key_not_ready: 409, //     public key download before its upload (retriable)
  length_required: 411, //          key upload without `Content-Length`
  body_too_large: 413, //           past the route's cap; details.limit
  unsupported_media_type: 415, //   wrong `Content-Type`
  invalid_public_key: 422, //       an uploaded compact public key that is malformed or of another parameter set (nothing stored)
  invalid_server_key: 422, //       the evaluator rejected the server key (session failed)
  key_parameter_mismatch: 422, //   the key's parameter set is not the model's (session failed)
  invalid_inputs: 422, //           inputs do not fit the model (on upload; or the session failed)
  invalid_ciphertext: 422, //       a compact list that is not the model's (on upload), or a ciphertext the evaluator refused (session failed)
  rate_limited: 429, //             per-IP or per-tenant limit (retriable)
  too_many_active_sessions: 429, // the tenant's or the uploader's cap on sessions holding a server key (retriable)
  run_failed: 500, //               the evaluator's run failed (retriable)
  evaluator_error: 502, //          the evaluator answered something unexpected (retriable)
  evaluator_unavailable: 503, //    the evaluator cannot be reached or is overloaded (retriable)
  internal: 500,
} as const;
export type PublicErrorCode = keyof typeof PublicErrorCode;
