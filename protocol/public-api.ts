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
 * 3. the compressed server key, in resumable parts (or in one streamed `PUT …/server-key`):
 *    `POST   /v1/sessions/:sessionId/server-key/uploads`                        `{ size, sha256 }` → `ServerKeyUpload`
 *    `PUT    /v1/sessions/:sessionId/server-key/uploads/:uploadId/parts/:n`     each part, octets, in order
 *    `POST   /v1/sessions/:sessionId/server-key/uploads/:uploadId/complete`     → `SessionStatus`
 * 4. `PUT    /v1/sessions/:sessionId/public-key`   the compact public key, octets (for party backends)
 * 5. `PUT    /v1/sessions/:sessionId/inputs/:party` a party's `PartyUpload` (JSON: `PartyInputs` or `CompactListInputs`)
 * 6. `POST   /v1/sessions/:sessionId/run`          start a run (`{ runId, runNumber }`), or retry a failed one
 * 7. `GET    /v1/sessions/:sessionId/progress`     `text/event-stream` of {@link SessionProgress}; a run that
 *    ends `done` is preceded by a {@link PROGRESS_RESULT_EVENT} carrying its encrypted result
 * 8. `GET    /v1/sessions/:sessionId/result`       the `EncryptedResult` of the latest run, with its `runId`
 *    (for a client that missed the stream's result event)
 * 9. `DELETE /v1/sessions/:sessionId`              forget every key and ciphertext
 *
 * One session serves several checks: after a run ends, new inputs (step 5) replace that party's
 * for the next run and step 6 starts it; parties that do not re-upload keep their inputs. At most
 * the tenant's `maxRunsPerSession` runs (429 `run_limit_reached`).
 *
 * Party backends use `GET /v1/manifest`, `GET /v1/sessions/:sessionId/public-key`,
 * `GET /v1/sessions/:sessionId` and `PUT /v1/sessions/:sessionId/inputs/<their party>` (a
 * `compact-list` body) with their secret key; nothing else. The party SDK in `party/` does it.
 *
 * Browser-safe: depends on zod and the other `protocol/` modules only.
 */
import { z } from 'zod';
import { Appearance } from './appearance.ts';
import { CompactListInputs, EncryptedResult, ModelVersion, Party, PartyInputs, PartyUpload } from './ciphertexts.ts';
import { ApiError, type ApiErrorExtra, ErrorBody, type ErrorStatus } from './errors.ts';
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
  /** `GET` the tenant's {@link AppearanceResponse} (its brand for the widget). Publishable key. */
  appearance: '/v1/appearance',
  /** `POST` create a session. Publishable key + allowed Origin. */
  sessions: '/v1/sessions',
  /** `GET` status (token or party key), `DELETE` forget (token). */
  session: '/v1/sessions/:sessionId',
  /** `PUT` the compressed server key (token), `application/octet-stream`, exact `Content-Length`. */
  serverKey: '/v1/sessions/:sessionId/server-key',
  /** `POST` {@link ServerKeyUploadRequest}: start, or resume, a resumable server-key upload (token). */
  serverKeyUploads: '/v1/sessions/:sessionId/server-key/uploads',
  /** `GET` the upload's {@link ServerKeyUpload} (token). */
  serverKeyUpload: '/v1/sessions/:sessionId/server-key/uploads/:uploadId',
  /** `PUT` one part (1-based), `application/octet-stream`, exact `Content-Length` (token). */
  serverKeyUploadPart: '/v1/sessions/:sessionId/server-key/uploads/:uploadId/parts/:partNumber',
  /** `POST` (empty body) finish the upload: sizes and SHA-256 checked, key accepted (token). */
  serverKeyUploadComplete: '/v1/sessions/:sessionId/server-key/uploads/:uploadId/complete',
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
  serverKeyUploads: (sessionId: string) => `${publicPath.serverKey(sessionId)}/uploads`,
  serverKeyUpload: (sessionId: string, uploadId: string) => `${publicPath.serverKeyUploads(sessionId)}/${encodeURIComponent(uploadId)}`,
  serverKeyUploadPart: (sessionId: string, uploadId: string, partNumber: number) =>
    `${publicPath.serverKeyUpload(sessionId, uploadId)}/parts/${partNumber}`,
  serverKeyUploadComplete: (sessionId: string, uploadId: string) => `${publicPath.serverKeyUpload(sessionId, uploadId)}/complete`,
  publicKey: (sessionId: string) => `${publicPath.session(sessionId)}/public-key`,
  inputs: (sessionId: string, party: Party) => `${publicPath.session(sessionId)}/inputs/${party}`,
  run: (sessionId: string) => `${publicPath.session(sessionId)}/run`,
  progress: (sessionId: string) => `${publicPath.session(sessionId)}/progress`,
  /** With `runId`, the result only if it is that run's (else 409 `run_superseded`). */
  result: (sessionId: string, runId?: string) =>
    `${publicPath.session(sessionId)}/result${runId === undefined ? '' : `?runId=${encodeURIComponent(runId)}`}`,
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
  /**
   * On `POST …/run` answered with the progress stream: the id of the run the request started
   * (or answered), so the client follows that run, not whichever is latest when the stream reads.
   */
  runId: 'x-blindscore-run-id',
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

/**
 * Resumable server-key uploads: every part but the last is exactly `partSize` bytes (R2's
 * multipart minimum is 5 MiB), the last 1..partSize. A key of at most
 * {@link PublicBodyLimits.serverKey} bytes takes at most `maxParts` parts.
 */
export const SERVER_KEY_UPLOAD = {
  partSize: 5 * 1024 * 1024,
  maxParts: Math.ceil(EvaluatorBodyLimits.serverKey / (5 * 1024 * 1024)),
} as const;

/** Runs one session may start, unless the tenant sets `maxRunsPerSession` (1–100). */
export const RUNS_PER_SESSION = { default: 10, max: 100 } as const;

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

/** A resumable upload's id: 128 random bits, base64url. Only meaningful with its session. */
export const UploadId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{22}$/, 'must be 22 base64url characters')
  .meta({ id: 'UploadId' });
export type UploadId = z.infer<typeof UploadId>;

/** A run's id: 128 random bits, base64url. Each run of a session has its own. */
export const RunId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{22}$/, 'must be 22 base64url characters')
  .meta({ id: 'RunId', description: 'Identifies one run of a session.' });
export type RunId = z.infer<typeof RunId>;

export const SessionParams = z.object({ sessionId: SessionId }).strict();
export const InputsParams = z.object({ sessionId: SessionId, party: Party }).strict();
export const UploadParams = z.object({ sessionId: SessionId, uploadId: UploadId }).strict();
/** `partNumber` is any decimal here; one outside 1..partCount is 400 `invalid_part_number`. */
export const UploadPartParams = z
  .object({ sessionId: SessionId, uploadId: UploadId, partNumber: z.string().regex(/^[0-9]{1,6}$/, 'must be a decimal part number') })
  .strict();
/** `GET …/result` query. */
export const ResultQuery = z.object({ runId: RunId.optional() }).strict();

// ---------------------------------------------------------------------------------------------
// Session state

/**
 * Where a session is:
 * - `created`: no server key yet;
 * - `keys`: server key stored, some party's inputs missing;
 * - `inputs`: server key and every party's inputs stored: ready to run;
 * - `running`: the run `runId` was handed to the evaluator;
 * - `done`: the encrypted result of run `runId` is ready; new inputs and `POST …/run` start the next run;
 * - `failed`: the run failed; `run.error.retriable` says whether `POST …/run` may succeed
 *   again (it re-sends stored keys and inputs: nothing is uploaded twice). After a failure that
 *   is not retriable, new inputs (or, for `invalid_server_key`, a new server key) and
 *   `POST …/run` start the next run.
 *
 * Deleted and expired sessions answer 410 (`session_deleted`, `session_expired`) for a day,
 * then 404 `session_not_found`.
 */
export const SessionState = z.enum(['created', 'keys', 'inputs', 'running', 'done', 'failed']).meta({ id: 'SessionState' });
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

/**
 * Where the evaluator is with the session's server key, as far as the gateway knows:
 * - `none`: no key accepted yet;
 * - `pending`: accepted and stored, not yet (fully) handed to the evaluator;
 * - `expanding`: the evaluator holds it and is expanding it;
 * - `ready`: expanded: a run costs its compute only;
 * - `failed`: the evaluator refused it (`invalid_server_key`, final): upload a corrected key.
 */
export const ServerKeyEvaluatorState = z.enum(['none', 'pending', 'expanding', 'ready', 'failed']).meta({ id: 'ServerKeyEvaluatorState' });
export type ServerKeyEvaluatorState = z.infer<typeof ServerKeyEvaluatorState>;

/** The server key, described without its bytes. `evaluator` only in the session token's view. */
export const ServerKeyInfo = BlobInfo.extend({ evaluator: ServerKeyEvaluatorState.optional() }).strict().meta({ id: 'ServerKeyInfo' });
export type ServerKeyInfo = z.infer<typeof ServerKeyInfo>;

/** The session's runs: how many were started, the cap, and the latest one's id (absent before the first). */
export const RunsInfo = z
  .object({
    runId: RunId.optional(),
    /** 1-based number of the latest run; 0 before the first. */
    runNumber: z.number().int().nonnegative(),
    /** The tenant's `maxRunsPerSession`. */
    maxRuns: z.number().int().positive(),
  })
  .strict()
  .meta({ id: 'RunsInfo' });
export type RunsInfo = z.infer<typeof RunsInfo>;

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
    serverKey: ServerKeyInfo,
    publicKey: BlobInfo,
    parties: z.object({ received: z.array(Party), missing: z.array(Party) }).strict(),
    /** The latest run's progress (`idle` before the first). */
    run: PublicRunProgress,
    /** The latest run's id and number, and the cap (session token's view only). */
    runs: RunsInfo.optional(),
    /** How many times `POST …/run` handed the latest run to the evaluator (1 + its retries). */
    attempts: z.number().int().nonnegative(),
  })
  .strict()
  .meta({ id: 'SessionStatus' });
export type SessionStatus = z.infer<typeof SessionStatus>;

// ---------------------------------------------------------------------------------------------
// Bodies

/** `POST /v1/sessions` body. */
/** `GET /v1/appearance`: the tenant's brand for the widget, `null` when it sets none. */
export const AppearanceResponse = z
  .object({ appearance: Appearance.meta({ id: 'Appearance' }).nullable() })
  .strict()
  .meta({ id: 'AppearanceResponse' });
export type AppearanceResponse = z.infer<typeof AppearanceResponse>;

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

/** `POST …/server-key/uploads` body: the whole key's size and SHA-256, announced up front. */
export const ServerKeyUploadRequest = z
  .object({
    size: z.number().int().positive(),
    sha256: Sha256Hex,
  })
  .strict()
  .meta({ id: 'ServerKeyUploadRequest' });
export type ServerKeyUploadRequest = z.infer<typeof ServerKeyUploadRequest>;

/** One stored part. */
export const UploadedPart = z
  .object({ partNumber: z.number().int().positive(), size: z.number().int().positive() })
  .strict()
  .meta({ id: 'UploadedPart' });
export type UploadedPart = z.infer<typeof UploadedPart>;

/**
 * A resumable upload (`POST …/uploads`: 201 new, 200 the unfinished one with the same size and
 * hash, to resume; `GET …/uploads/:uploadId`). `parts` lists the parts stored so far, in order:
 * send the rest, then complete.
 */
export const ServerKeyUpload = z
  .object({
    uploadId: UploadId,
    size: z.number().int().positive(),
    sha256: Sha256Hex,
    partSize: z.number().int().positive(),
    partCount: z.number().int().positive(),
    parts: z.array(UploadedPart),
  })
  .strict()
  .meta({ id: 'ServerKeyUpload' });
export type ServerKeyUpload = z.infer<typeof ServerKeyUpload>;

/** `PUT …/parts/:partNumber` response (200). */
export const UploadPartAccepted = UploadedPart;

/** `POST …/complete` response (200): the key is accepted; the status says where the evaluator is with it. */
export const UploadCompleted = SessionStatus;

/** `PUT …/server-key` and `PUT …/public-key` response: 201 when stored, 200 for a repeat. */
export const KeyAccepted = z
  .object({ bytes: z.number().int().positive(), sha256: Sha256Hex, duplicate: z.boolean() })
  .strict()
  .meta({ id: 'KeyAccepted' });
export type KeyAccepted = z.infer<typeof KeyAccepted>;

/**
 * `PUT …/inputs/:party` response: 201 when stored, 200 for a byte-identical repeat. Different
 * inputs replace the party's earlier ones; while a run is in flight they are refused (409
 * `run_started`); after it ended they are the next run's.
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

/**
 * `POST …/run` response: the session status with the run's `runId` and `runNumber`. 202 when a
 * run was handed to the evaluator (a new run, or the retry of a failed one: same `runId`); 200
 * when the latest run is already in flight, or done with the inputs it would use again (no new run).
 */
export const RunResponse = SessionStatus.extend({ runId: RunId, runNumber: z.number().int().positive() })
  .strict()
  .meta({ id: 'RunResponse' });
export type RunResponse = z.infer<typeof RunResponse>;

/** `GET …/result` response (200): the shared {@link EncryptedResult}, and the run it is of. */
export const ResultResponse = EncryptedResult.extend({ runId: RunId }).strict().meta({ id: 'RunResult' });
export type ResultResponse = z.infer<typeof ResultResponse>;

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
/**
 * Sent just before the `done` progress event of a run (and first, when the stream opens on a
 * session already done): its `data` is the {@link ResultResponse} of that run, the body
 * `GET …/result?runId=` answers. A client following the run reads its result from the stream,
 * with no further request; one that ignores this event reads it with `GET …/result`.
 */
export const PROGRESS_RESULT_EVENT = 'result';

export const SessionProgress = z
  .object({
    state: SessionState,
    run: PublicRunProgress,
    /** The latest run (absent before the first): a client following run n ignores events of another. */
    runId: RunId.optional(),
    runNumber: z.number().int().nonnegative(),
    /** Where the evaluator is with the server key. */
    serverKey: ServerKeyEvaluatorState,
  })
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
  invalid_part_size: 400, //        an upload part of the wrong size; details.expected, .received
  invalid_part_number: 400, //      a part number outside 1..partCount; details.partCount
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
  upload_not_found: 404, //         no such unfinished upload in this session (finished, replaced, or another session's)
  method_not_allowed: 405,
  session_expired: 410, //          TTL reached; every key and ciphertext is gone
  session_deleted: 410, //          deleted by its owner
  model_version_mismatch: 409, //   request built for another model version; details.modelVersion
  server_key_exists: 409, //        a different server key was already accepted
  public_key_exists: 409, //        a different public key was already accepted
  run_started: 409, //              uploads while a run is in flight
  part_out_of_order: 409, //        part n before parts 1..n-1; details.nextPart
  part_in_progress: 409, //         the same part is being uploaded by another request (retriable)
  part_exists: 409, //              the part is already stored (a client may take it as stored); details.partNumber, .size
  upload_incomplete: 409, //        complete before every part; details.missingParts
  run_superseded: 409, //           result asked for a run that is not the latest; details.runId (the latest)
  missing_server_key: 409, //       run before the server key
  missing_inputs: 409, //           run before every party's inputs; details.missingParties
  result_not_ready: 409, //         result before `done` (retriable)
  public_key_not_ready: 409, //     public key download before its upload (retriable)
  length_required: 411, //          key upload without `Content-Length`
  body_too_large: 413, //           past the route's cap; details.limit
  unsupported_media_type: 415, //   wrong `Content-Type`
  invalid_public_key: 422, //       an uploaded compact public key that is malformed or of another parameter set (nothing stored)
  invalid_server_key: 422, //       a malformed server key: on upload (details.field names it; nothing stored), or refused by the evaluator (final: upload a corrected key)
  server_key_hash_mismatch: 422, // the completed upload's bytes do not hash to the announced sha256 (upload discarded)
  key_parameter_mismatch: 422, //   the key's parameter set is not the model's (session failed)
  invalid_inputs: 422, //           inputs do not fit the model (on upload; or the session failed)
  invalid_ciphertext: 422, //       a compact list that is not the model's (on upload), or a ciphertext the evaluator refused (session failed)
  rate_limited: 429, //             per-IP or per-tenant limit (retriable)
  too_many_active_sessions: 429, // the tenant's or the uploader's cap on sessions holding a server key (retriable)
  run_limit_reached: 429, //        the session started the tenant's maxRunsPerSession runs; details.maxRuns (not retriable)
  run_failed: 500, //               the evaluator's run failed (retriable)
  evaluator_error: 502, //          the evaluator answered something unexpected (retriable)
  evaluator_unavailable: 503, //    the evaluator cannot be reached or is overloaded (retriable)
  internal: 500,
} as const;
export type PublicErrorCode = keyof typeof PublicErrorCode;

/** `ApiError` with a documented public code: what the gateway throws (the same class at run time). */
export const PublicApiError: new (
  status: ErrorStatus,
  code: PublicErrorCode,
  message: string,
  extra?: ApiErrorExtra,
) => ApiError<PublicErrorCode> = ApiError;

/** Whether `code` is a documented public code. */
export function isPublicErrorCode(code: string): code is PublicErrorCode {
  return Object.hasOwn(PublicErrorCode, code);
}
