/**
 * The evaluator's internal HTTP API, called only by the gateway (never by browsers).
 *
 * Everything a caller needs is here: route paths ({@link EvaluatorRoutes}, {@link evaluatorPath}),
 * zod schemas for every parameter, body and response, body-size limits, and the request
 * signature scheme ({@link signEvaluatorRequest} / {@link verifyEvaluatorSignature}). Errors use
 * the shared `ErrorBody` of `protocol/errors.ts`; codes are listed in {@link EvaluatorErrorCode}.
 *
 * Session lifecycle, as the gateway drives it:
 *
 * 1. `PUT  /v1/sessions/:sessionId`                 create (the gateway chooses the id)
 * 2. `PUT  /v1/sessions/:sessionId/server-key`      stream the compressed server key (octets)
 * 3. `PUT  /v1/sessions/:sessionId/inputs/:party`   each party's `PartyUpload` (JSON)
 * 4. `POST /v1/sessions/:sessionId/run`             enqueue a run of the circuit (after a run ended,
 *    new inputs (step 3) reset the session to `idle` for the next run; the key stays expanded)
 * 5. `GET  /v1/sessions/:sessionId/progress`        server-sent events until the run ends
 * 6. `GET  /v1/sessions/:sessionId/result`          the `EncryptedResult`
 * 7. `DELETE /v1/sessions/:sessionId`               forget every key and ciphertext
 *
 * A session also disappears after its TTL; requests for it then get 410 `session_expired`
 * (for a while) and later 404 `session_not_found`.
 *
 * Works unchanged in Node 20 and in Workers: it uses only zod and WebCrypto.
 */
import { z } from 'zod';
import { EncryptedResult, ModelVersion, Party, PartyInputs, PartyUpload } from './ciphertexts.ts';
import { bytesToHex, hexToBytes } from './bytes.ts';
import { ApiError, type ApiErrorExtra, ErrorBody, type ErrorStatus } from './errors.ts';

export { EncryptedResult, ModelVersion, Party, PartyInputs, PartyUpload, ErrorBody };

// ---------------------------------------------------------------------------------------------
// Routes

/** Route patterns (Hono syntax) of the evaluator. `/healthz` and `/readyz` are unauthenticated. */
export const EvaluatorRoutes = {
  /** `GET` liveness: the process serves HTTP. */
  health: '/healthz',
  /** `GET` readiness: model loaded, worker pool up, not shutting down. 503 when not ready. */
  ready: '/readyz',
  /**
   * `GET ?challenge=<32 hex>` this process's boot identity, proven with the shared secret
   * ({@link IdentityResponse}); what every signed request is bound to. Unauthenticated.
   */
  identity: '/identity',
  /** `GET` the model version and parameter set this evaluator serves. */
  model: '/v1/model',
  /** `PUT` create, `GET` status, `DELETE` forget a session. */
  session: '/v1/sessions/:sessionId',
  /** `PUT` the compressed server key, `application/octet-stream`, streamed. */
  serverKey: '/v1/sessions/:sessionId/server-key',
  /** `PUT` one party's encrypted inputs, `application/json` ({@link PartyUpload}: either encoding). */
  inputs: '/v1/sessions/:sessionId/inputs/:party',
  /** `POST` start a run (idempotent while queued/running/succeeded; new inputs make the next run). */
  run: '/v1/sessions/:sessionId/run',
  /** `GET` progress as `text/event-stream` ({@link ProgressEventName} events). */
  progress: '/v1/sessions/:sessionId/progress',
  /** `GET` the encrypted result once the run succeeded. */
  result: '/v1/sessions/:sessionId/result',
} as const;

/** Concrete paths for a session, for callers that build URLs. */
export const evaluatorPath = {
  session: (sessionId: string) => `/v1/sessions/${encodeURIComponent(sessionId)}`,
  serverKey: (sessionId: string) => `${evaluatorPath.session(sessionId)}/server-key`,
  inputs: (sessionId: string, party: Party) => `${evaluatorPath.session(sessionId)}/inputs/${party}`,
  run: (sessionId: string) => `${evaluatorPath.session(sessionId)}/run`,
  progress: (sessionId: string) => `${evaluatorPath.session(sessionId)}/progress`,
  result: (sessionId: string) => `${evaluatorPath.session(sessionId)}/result`,
} as const;

// ---------------------------------------------------------------------------------------------
// Limits

/** Serialized `shortint::CompressedServerKey` sizes of the supported parameter sets. */
export const COMPRESSED_SERVER_KEY_BYTES = {
  tuniform: 30_146_816,
  gaussian: 28_470_940,
} as const;

/** Body-size caps enforced while streaming (413 `body_too_large` past them). */
export const EvaluatorBodyLimits = {
  /** Server key upload: above every supported key, far below anything abusive. */
  serverKey: 32 * 1024 * 1024,
  /**
   * One party's inputs: 64 inputs × 2 digits × 168 base64 chars plus JSON overhead, rounded up;
   * a compact list (≤ 20 KiB, ≤ 27.4 kB as base64) with its declarations fits too.
   */
  partyInputs: 64 * 1024,
  /** Small JSON control bodies (create session, run). */
  control: 4 * 1024,
} as const;

// ---------------------------------------------------------------------------------------------
// Parameters and bodies

/** A session id chosen by the gateway: ≥ 128 random bits, base64url or hex. */
export const SessionId = z.string().regex(/^[A-Za-z0-9_-]{22,128}$/, 'must be 22–128 base64url characters');
export type SessionId = z.infer<typeof SessionId>;

/** The FHE parameter sets the engine knows, by the name the test key cache uses. */
export const ParamSetName = z.enum(['tuniform', 'gaussian']);
export type ParamSetName = z.infer<typeof ParamSetName>;

export const SessionParams = z.object({ sessionId: SessionId }).strict();
export const InputsParams = z.object({ sessionId: SessionId, party: Party }).strict();

/** `PUT /v1/sessions/:sessionId` body. */
export const CreateSessionRequest = z
  .object({
    /** The manifest version the widget was built against; must equal the served model's. */
    modelVersion: ModelVersion,
    /** Requested lifetime; the evaluator caps it at its configured TTL. */
    ttlSeconds: z
      .number()
      .int()
      .min(10)
      .max(24 * 3600)
      .optional(),
  })
  .strict();
export type CreateSessionRequest = z.infer<typeof CreateSessionRequest>;

/** `POST /v1/sessions/:sessionId/run` body (may be empty: `{}`). */
export const RunRequest = z.object({}).strict();
export type RunRequest = z.infer<typeof RunRequest>;

// ---------------------------------------------------------------------------------------------
// Responses

/** States of a session's current run. `idle` until `POST …/run`, and again once new inputs arrive after a run. */
export const RunState = z.enum(['idle', 'queued', 'running', 'succeeded', 'failed']);
export type RunState = z.infer<typeof RunState>;

/** Where a run is. `fraction` is monotone within one run; `stage` is a short machine name. */
export const RunProgress = z
  .object({
    state: RunState,
    /** e.g. `queued`, `expanding_key`, `nodes`, `leaves`, `done`; open set, snake_case. */
    stage: z.string().regex(/^[a-z][a-z0-9_]*$/),
    completed: z.number().int().nonnegative(),
    total: z.number().int().nonnegative(),
    fraction: z.number().min(0).max(1),
    /** Runs ahead of this one in the queue (only while `queued`). */
    queuePosition: z.number().int().nonnegative().optional(),
    /** Why the run failed (only when `failed`). */
    error: ErrorBody.optional(),
  })
  .strict();
export type RunProgress = z.infer<typeof RunProgress>;

/** `PUT`/`GET /v1/sessions/:sessionId` response: what the session holds, never any bytes. */
export const SessionStatus = z
  .object({
    sessionId: SessionId,
    modelVersion: ModelVersion,
    /** ISO 8601 instants. */
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    serverKey: z
      .object({
        received: z.boolean(),
        paramSet: ParamSetName.optional(),
        /** Whether the key is expanded (`ready`: a run costs its compute only). */
        expansion: z.enum(['none', 'expanding', 'ready']).optional(),
        /**
         * Why the last server-key upload was refused (`invalid_server_key`, `key_parameter_mismatch`):
         * the gateway reads it when the refusal cut its upload short. Cleared by an accepted key.
         */
        refused: ErrorBody.optional(),
      })
      .strict(),
    parties: z.object({ received: z.array(Party), missing: z.array(Party) }).strict(),
    run: RunProgress,
  })
  .strict();
export type SessionStatus = z.infer<typeof SessionStatus>;

/** `PUT …/server-key` response (201). */
export const ServerKeyAccepted = z.object({ bytes: z.number().int().positive(), paramSet: ParamSetName }).strict();
export type ServerKeyAccepted = z.infer<typeof ServerKeyAccepted>;

/**
 * `PUT …/inputs/:party` response (201). Re-uploading a party's inputs replaces them while no run
 * is queued or running; after a run ended, the session is `idle` again for the next run.
 */
export const InputsAccepted = z.object({ party: Party, received: z.array(Party), missing: z.array(Party) }).strict();
export type InputsAccepted = z.infer<typeof InputsAccepted>;

/** `POST …/run` response (202 when enqueued, 200 when it already was). */
export const RunAccepted = RunProgress;
export type RunAccepted = RunProgress;

/** `GET /v1/sessions/:sessionId/result` response (200): the shared {@link EncryptedResult}. */
export const ResultResponse = EncryptedResult;

/** `GET /v1/model` response. */
export const ModelInfo = z
  .object({
    modelVersion: ModelVersion,
    paramSet: ParamSetName,
    /** Parties whose inputs a run needs. */
    parties: z.array(Party),
  })
  .strict();
export type ModelInfo = z.infer<typeof ModelInfo>;

/** `GET /healthz` response (always 200 while the process serves). */
export const HealthResponse = z.object({ status: z.literal('ok'), uptimeSeconds: z.number().nonnegative() }).strict();
export type HealthResponse = z.infer<typeof HealthResponse>;

/** A boot identity: 128 random bits drawn when the evaluator process starts, as hex. */
export const BootId = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 hex characters');
export type BootId = z.infer<typeof BootId>;

/** `GET /identity?challenge=…` query. */
export const IdentityQuery = z.object({ challenge: z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 hex characters') }).strict();

/**
 * `GET /identity` response: the process's boot identity and `v1=` + hex HMAC-SHA256 over
 * {@link canonicalIdentityProof} (the caller's fresh challenge and the boot id), keyed by the
 * shared secret, so the caller knows the answer came from an evaluator holding the secret, now.
 */
export const IdentityResponse = z.object({ bootId: BootId, proof: z.string().regex(/^v1=[0-9a-f]{64}$/) }).strict();
export type IdentityResponse = z.infer<typeof IdentityResponse>;

/** `GET /readyz` response: 200 when `ready`, 503 otherwise. */
export const ReadyResponse = z
  .object({
    ready: z.boolean(),
    checks: z.object({ model: z.boolean(), workers: z.boolean(), accepting: z.boolean() }).strict(),
  })
  .strict();
export type ReadyResponse = z.infer<typeof ReadyResponse>;

// ---------------------------------------------------------------------------------------------
// Progress stream

/**
 * Server-sent event names on `GET …/progress`. Each `progress` event's `data` is one
 * {@link RunProgress} JSON object; the stream sends the current state first, then every change,
 * and closes after a terminal state (`succeeded` or `failed`). Comment lines (`: ping`) keep
 * idle connections open; an `idle` session's stream waits for the run to be started.
 */
export const ProgressEventName = 'progress';

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * Error codes the evaluator returns in `ErrorBody.code`, with their HTTP status.
 * `details` carries facts where listed (e.g. `missing_inputs` → `{ missingParties }`).
 * Retriable 429/503 answers carry `retry-after` (delay-seconds, 1–300); the gateway relays that
 * wait, bounded, as its own `retry-after` on the error it answers with.
 */
export const EvaluatorErrorCode = {
  unauthorized: 401, //            missing or malformed auth headers
  bad_signature: 401, //           signature does not verify
  stale_request: 401, //           timestamp outside the clock-skew window
  replayed_request: 401, //        nonce already seen within the window
  boot_mismatch: 401, //           signed for another evaluator process (restarted, or another instance): learn `/identity` again
  body_hash_mismatch: 400, //      body bytes do not hash to the signed value
  invalid_request: 400, //         params, query or JSON body fail their schema
  invalid_json: 400, //            body is not JSON
  unsupported_media_type: 415, //  wrong Content-Type
  body_too_large: 413, //          past the route's cap (detected while streaming)
  session_not_found: 404,
  session_expired: 410,
  session_exists: 409, //          create with another model version for an existing id
  model_version_mismatch: 409, //  session or inputs built for another model
  invalid_server_key: 422, //      not a shortint compressed server key, or its size ≠ what its header implies
  key_parameter_mismatch: 422, //  a valid key of a parameter set other than the model's
  server_key_exists: 409, //       key already uploaded for this session
  invalid_inputs: 422, //          inputs do not fit the model manifest (names, digit counts)
  invalid_ciphertext: 422, //      a ciphertext fails the engine's checks
  party_mismatch: 400, //          body's `party` differs from the path's
  run_started: 409, //             inputs changed after the run began
  missing_server_key: 409, //      run before the key was uploaded
  missing_inputs: 409, //          run before every party uploaded; details.missingParties
  result_not_ready: 409, //        result before the run succeeded (retriable)
  run_failed: 500, //              the run failed; details.cause
  queue_full: 503, //              too many queued runs (retriable); details.maxQueued, .retryAfterSeconds (= retry-after)
  memory_exhausted: 503, //        memory budget cannot fit another key (retriable)
  shutting_down: 503, //           process is draining (retriable)
  not_found: 404, //               no such route
  internal: 500,
} as const;
export type EvaluatorErrorCode = keyof typeof EvaluatorErrorCode;

/** `ApiError` with a documented evaluator code: what the evaluator throws (the same class at run time). */
export const EvaluatorApiError: new (
  status: ErrorStatus,
  code: EvaluatorErrorCode,
  message: string,
  extra?: ApiErrorExtra,
) => ApiError<EvaluatorErrorCode> = ApiError;

// ---------------------------------------------------------------------------------------------
// Request signatures

/**
 * Header names of the signature scheme. Every request except `/healthz`, `/readyz` and
 * `/identity` carries:
 *
 * - `x-blindscore-evaluator-boot`: the boot identity of the evaluator process the request is
 *   meant for, learned from its signed `/identity` answer ({@link fetchEvaluatorIdentity});
 * - `x-blindscore-timestamp`: Unix time in whole seconds;
 * - `x-blindscore-nonce`: 32 lowercase hex characters, fresh per request (retries too);
 * - `x-blindscore-content-sha256`: lowercase hex SHA-256 of the exact body bytes
 *   ({@link EMPTY_BODY_SHA256} when there is none);
 * - `x-blindscore-signature`: `v1=` + lowercase hex HMAC-SHA256 over
 *   {@link canonicalEvaluatorRequest}, keyed by the shared secret's UTF-8 bytes.
 *
 * The evaluator rejects a request signed for another boot identity (401 `boot_mismatch`), a
 * timestamp more than {@link SIGNATURE_MAX_SKEW_SECONDS} away from its clock, a nonce it has seen
 * within that window, and a body whose bytes do not hash to the signed value (checked while
 * streaming; the request fails before anything is stored).
 *
 * Replays: the nonce cache lives in one process's memory, so on its own it forgets everything at
 * a restart and is not shared between instances that hold the same secret. The boot identity
 * closes both gaps: each process draws a new one at start, so a request captured before a
 * restart, or sent to another instance, names a boot that process never had and is refused;
 * within one boot the clock window and the nonce cache refuse it.
 */
export const SignatureHeaders = {
  bootId: 'x-blindscore-evaluator-boot',
  timestamp: 'x-blindscore-timestamp',
  nonce: 'x-blindscore-nonce',
  contentSha256: 'x-blindscore-content-sha256',
  signature: 'x-blindscore-signature',
} as const;

/** Allowed distance between the caller's and the evaluator's clocks. */
export const SIGNATURE_MAX_SKEW_SECONDS = 120;
/** Minimum shared-secret length, in bytes of UTF-8. */
export const SHARED_SECRET_MIN_BYTES = 32;
/** SHA-256 of zero bytes. */
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const HEX64 = /^[0-9a-f]{64}$/;
/** The signature headers, parsed. */
export const SignatureHeaderValues = z.object({
  bootId: BootId,
  timestamp: z.string().regex(/^[0-9]{1,12}$/, 'must be Unix seconds'),
  nonce: z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 hex characters'),
  contentSha256: z.string().regex(HEX64, 'must be 64 hex characters'),
  signature: z.string().regex(/^v1=[0-9a-f]{64}$/, 'must be v1=<64 hex characters>'),
});
export type SignatureHeaderValues = z.infer<typeof SignatureHeaderValues>;

/** What a signature covers. `pathAndQuery` is the request target exactly as sent (`/v1/…?…`). */
export interface SignedRequestParts {
  /** The boot identity of the evaluator process the request is for. */
  bootId: string;
  method: string;
  pathAndQuery: string;
  timestamp: string;
  nonce: string;
  contentSha256: string;
}

/**
 * The string the HMAC signs: a fixed scheme label, then the evaluator's boot identity, the
 * upper-case method, the request target, timestamp, nonce and body hash, one per line.
 */
export function canonicalEvaluatorRequest(p: SignedRequestParts): string {
  return ['BLINDSCORE-HMAC-SHA256', p.bootId, p.method.toUpperCase(), p.pathAndQuery, p.timestamp, p.nonce, p.contentSha256].join('\n');
}

/** What an identity proof signs: its own label (no request signature can be one), the challenge, the boot id. */
export function canonicalIdentityProof(challenge: string, bootId: string): string {
  return ['BLINDSCORE-EVALUATOR-IDENTITY', challenge, bootId].join('\n');
}

const encoder = new TextEncoder();

/** Imports the shared secret as a WebCrypto HMAC-SHA256 key (do it once, reuse the key). */
export function importSharedSecret(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

/** A fresh 128-bit nonce as 32 hex characters. */
export function newNonce(): string {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(16)).buffer);
}

/**
 * The four headers for one request to the evaluator.
 *
 * @example
 * const key = await importSharedSecret(env.EVALUATOR_SHARED_SECRET);
 * const body = JSON.stringify(inputs);
 * const path = evaluatorPath.inputs(sessionId, 'bank');
 * const bootId = await fetchEvaluatorIdentity(key, (p) => fetch(new URL(p, env.EVALUATOR_URL)));
 * const headers = await signEvaluatorRequest(key, {
 *   bootId, method: 'PUT', pathAndQuery: path, contentSha256: await sha256Hex(body),
 * });
 * await fetch(new URL(path, env.EVALUATOR_URL), {
 *   method: 'PUT', body, headers: { ...headers, 'content-type': 'application/json' },
 * });
 */
export async function signEvaluatorRequest(
  key: CryptoKey,
  req: { bootId: string; method: string; pathAndQuery: string; contentSha256?: string; nowSeconds?: number; nonce?: string },
): Promise<Record<(typeof SignatureHeaders)[keyof typeof SignatureHeaders], string>> {
  const parts: SignedRequestParts = {
    bootId: req.bootId,
    method: req.method,
    pathAndQuery: req.pathAndQuery,
    timestamp: String(Math.floor(req.nowSeconds ?? Date.now() / 1000)),
    nonce: req.nonce ?? newNonce(),
    contentSha256: req.contentSha256 ?? EMPTY_BODY_SHA256,
  };
  const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(canonicalEvaluatorRequest(parts)));
  return {
    [SignatureHeaders.bootId]: parts.bootId,
    [SignatureHeaders.timestamp]: parts.timestamp,
    [SignatureHeaders.nonce]: parts.nonce,
    [SignatureHeaders.contentSha256]: parts.contentSha256,
    [SignatureHeaders.signature]: `v1=${bytesToHex(mac)}`,
  };
}

/**
 * Checks a signature in constant time (WebCrypto's `verify`). Does not check the boot identity,
 * the clock, the nonce or the body hash: the caller does, in that order, after this returns true.
 */
export async function verifyEvaluatorSignature(key: CryptoKey, parts: SignedRequestParts, signature: string): Promise<boolean> {
  if (!/^v1=[0-9a-f]{64}$/.test(signature)) return false;
  return crypto.subtle.verify('HMAC', key, hexToBytes(signature.slice(3)), encoder.encode(canonicalEvaluatorRequest(parts)));
}

/** The `/identity` answer for a challenge: this process's boot id and its proof. */
export async function proveEvaluatorIdentity(key: CryptoKey, challenge: string, bootId: string): Promise<IdentityResponse> {
  const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(canonicalIdentityProof(challenge, bootId)));
  return { bootId, proof: `v1=${bytesToHex(mac)}` };
}

/** A failed identity handshake: the evaluator cannot be reached, or its answer does not prove the secret. */
export class EvaluatorIdentityError extends Error {
  override readonly name = 'EvaluatorIdentityError';
  constructor(
    /** `unreachable`: no answer (retry later); `refused`: an answer without a valid proof. */
    readonly reason: 'unreachable' | 'refused',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Learns an evaluator process's boot identity: sends a fresh random challenge to `/identity`
 * and accepts the answer only if its proof verifies under the shared secret (constant time), so
 * neither a stale answer nor one from a party without the secret is believed.
 *
 * @param get fetches a path of the evaluator (`/identity?challenge=…`).
 * @throws {EvaluatorIdentityError} unreachable, an error status, or a proof that does not verify.
 */
export async function fetchEvaluatorIdentity(key: CryptoKey, get: (pathAndQuery: string) => Promise<Response>): Promise<string> {
  const challenge = newNonce();
  let res: Response;
  try {
    res = await get(`${EvaluatorRoutes.identity}?challenge=${challenge}`);
  } catch (e) {
    throw new EvaluatorIdentityError('unreachable', `the evaluator cannot be reached (${e instanceof Error ? e.name : typeof e})`);
  }
  const parsed = IdentityResponse.safeParse(await res.json().catch(() => undefined));
  if (!res.ok || !parsed.success)
    throw new EvaluatorIdentityError(
      res.status >= 500 ? 'unreachable' : 'refused',
      `the evaluator answered ${res.status} without an identity`,
    );
  const { bootId, proof } = parsed.data;
  const ok = await crypto.subtle.verify('HMAC', key, hexToBytes(proof.slice(3)), encoder.encode(canonicalIdentityProof(challenge, bootId)));
  if (!ok) throw new EvaluatorIdentityError('refused', "the evaluator's identity proof does not verify (another shared secret?)");
  return bootId;
}

/** A fresh boot identity (an evaluator process draws one at start). */
export const newBootId: () => string = newNonce;
