/**
 * A test gateway for the browser suites, served by the test runner's own HTTP server under
 * `/gw`: the public `/v1` API of `protocol/public-api.ts` with real HTTP, real SSE, the
 * protocol's zod schemas and the model's input validation. Uploaded keys must be what node-tfhe
 * reads as a compressed server key and a compact public key; in applicant mode, stand-ins for the
 * bank's and the bureau's backends encrypt with the party SDK under the uploaded public key. Its "evaluator" runs no circuit: it
 * answers with the applicant's own uploaded ciphertexts, decompressed by node-tfhe, so the
 * browser decrypts real full ciphertexts under its own key and a test chooses the outcome
 * through the applicant's yes/no answers.
 *
 * The publishable key picks a scenario (see {@link SCENARIOS}): the normal flow, or one of the
 * gateway's documented failures. The server key arrives in resumable parts (or one PUT) with the
 * real gateway's checks; a session serves several runs, each with its own `runId`. Tests read
 * what a session saw (parts received, runs, deletion) at `GET /gw/__test/sessions/:sessionId`.
 */
import { randomBytes, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import * as tfhe from 'node-tfhe';
import type { Party, PartyUpload } from '../../../protocol/ciphertexts.ts';
import type { Appearance } from '../../../protocol/appearance.ts';
import { ApiError } from '../../../protocol/errors.ts';
import {
  BEARER_PREFIX,
  PROGRESS_EVENT,
  PublicBodyLimits,
  PublicHeaders,
  PublicRoutes,
  SERVER_KEY_UPLOAD,
  ServerKeyUploadRequest,
  type ResultResponse,
  type RunResponse,
  type ServerKeyUpload,
  type SessionProgress,
  type SessionState,
  type SessionStatus,
} from '../../../protocol/public-api.ts';
import type { Model } from '../../../model/private-model.ts';
import { validatePartyInputs, validatePartyUpload } from '../../../model/party-inputs.ts';
import { decompressCiphertext } from './oracle.ts';
import { encryptPartyInputs } from '../../../party/encrypt.ts';

export const GATEWAY_PREFIX = '/gw';

/** What a publishable key makes the gateway do. */
interface Scenario {
  /** Demo tenant: the session token may upload every party's inputs. */
  demo: boolean;
  /** Applicant mode: the bank's and bureau's backends "upload" this long after the applicant. */
  partiesAfterMs?: number;
  /** Fail `POST /v1/sessions` with this error. */
  createError?: ApiError;
  /** Fail `PUT …/public-key` with this error. */
  publicKeyError?: ApiError;
  /** Fail `POST …/run` with this error. */
  runError?: ApiError;
  /** End the run as failed with this error. */
  runFails?: ApiError;
  /** Fail `GET …/result` with this error. */
  resultError?: ApiError;
  /** Close the first progress stream before any event. */
  dropFirstStream?: boolean;
  /** Never finish the run (for cancel tests). */
  hang?: boolean;
  /** Serve a manifest that fails the schema. */
  badManifest?: boolean;
  /** Refuse the page's origin, as the gateway does for an origin its tenant does not allow. */
  refuseOrigin?: boolean;
  /** The tenant's appearance (`GET /v1/appearance`). */
  appearance?: Appearance;
  /** Label the result's explanation bits one bin lower than the manifest does. */
  shiftResultBins?: boolean;
  /** The explanation bins that echo `own_property` (the others echo `own_car`, the decision). */
  approvingBins?: readonly string[];
  /** Store the first PUT of this part, then cut the connection before answering. */
  cutAfterPart?: number;
  /** Answer the first PUT of this part 503 with `Retry-After: 1` (nothing stored). */
  busyPart?: number;
  /** Runs per session (default 10). */
  maxRuns?: number;
  /** Answer the first inputs PUT of this party 409 `run_started` (nothing stored). */
  refuseFirstInputs?: Party;
}

export const SCENARIOS: Record<string, Scenario> = {
  pk_test_demo: { demo: true },
  pk_test_applicant: { demo: false, partiesAfterMs: 300 },
  /** Applicant mode whose bank and bureau backends never upload (the host forgot the hand-off). */
  pk_test_parties_absent: { demo: false },
  pk_test_rate_limited: {
    demo: true,
    createError: new ApiError(429, 'rate_limited', 'too many sessions from this address', { retriable: true }),
  },
  pk_test_unavailable: {
    demo: true,
    runError: new ApiError(503, 'evaluator_unavailable', 'the evaluator cannot be reached', { retriable: true }),
  },
  pk_test_run_failed: {
    demo: true,
    runFails: new ApiError(500, 'run_failed', 'a worker thread crashed', { retriable: true }),
  },
  pk_test_expired: {
    demo: true,
    resultError: new ApiError(410, 'session_expired', 'the session expired'),
  },
  pk_test_public_key_refused: {
    demo: true,
    publicKeyError: new ApiError(413, 'body_too_large', 'The public-key exceeds 262144 bytes.', { details: { limit: 262_144 } }),
  },
  pk_test_drop_stream: { demo: true, dropFirstStream: true },
  pk_test_hang: { demo: true, hang: true },
  pk_test_bad_manifest: { demo: true, badManifest: true },
  pk_test_refused_origin: { demo: true, refuseOrigin: true },
  /** A partner's tenant whose brand comes from its configuration. */
  pk_test_branded: { demo: false, partiesAfterMs: 300, appearance: { theme: 'flat', variables: { accent: '#0a5028' } } },
  pk_test_shifted_bins: { demo: true, shiftResultBins: true },
  /** Approval with 5 to 11 years only: the widget must not say "at least 5 years". */
  pk_test_range: { demo: true, approvingBins: ['5-8', '8-11'] },
  /** Approval from the 0-2 bin on: only someone not employed can be denied yet get this. */
  pk_test_from_zero: { demo: false, partiesAfterMs: 300, approvingBins: ['0-2', '2-5', '5-8', '8-11', '11-18', '18+'] },
  pk_test_cut_upload: { demo: true, cutAfterPart: 2 },
  pk_test_busy_part: { demo: true, busyPart: 3 },
  pk_test_one_run: { demo: true, maxRuns: 1 },
  pk_test_bank_refused_once: { demo: true, refuseFirstInputs: 'bank' },
};

/** Which uploaded applicant answer stands in for each result bit (see the module comment). */
const DECISION_SOURCE = 'own_car';
/** By default bins from 8 years up echo `own_property`, shorter ones `own_car`: a denial then explains "8 years". */
const DEFAULT_APPROVING_BINS = ['8-11', '11-18', '18+'];
const explanationSource = (scenario: Scenario, bin: string) =>
  (scenario.approvingBins ?? DEFAULT_APPROVING_BINS).includes(bin) ? 'own_property' : 'own_car';

interface Session {
  id: string;
  tokenHash: string;
  scenario: Scenario;
  state: SessionState;
  createdAt: Date;
  serverKey?: StoredKey;
  publicKey?: StoredKey;
  inputs: Partial<Record<Party, Record<string, string[]>>>;
  /** The compact lists the stand-in backends made in applicant mode. */
  partyLists: Partial<Record<Party, PartyUpload>>;
  run: SessionProgress['run'];
  attempts: number;
  /** The latest run's id and number (0 before the first). */
  runId?: string;
  runNumber: number;
  /** Inputs arrived since the latest run started: the next `POST …/run` is a new run. */
  inputsChanged: boolean;
  upload?: { id: string; size: number; sha256: string; partCount: number; parts: Map<number, Uint8Array> };
  /** Every part number a PUT carried, in order, repeats included. */
  partLog: number[];
  /** The first PUT of each part number seen (for the cut and busy scenarios). */
  partsSeen: Set<number>;
  /** Every inputs PUT, in order: its party, the runs started before it, and whether it was stored. */
  inputLog: { party: Party; runsBefore: number; stored: boolean }[];
  streams: number;
  listeners: Set<() => void>;
}

interface StoredKey {
  bytes: number;
  sha256: string;
  /** Kept for the public key only, which the parties download. */
  body?: Uint8Array;
}

const PARTIES: readonly Party[] = ['applicant', 'bank', 'bureau'];
/** What the stand-in backends of applicant mode encrypt. */
const BACKEND_FEATURES = { bank: { account_age: 36 }, bureau: { years_employed: '2-5', employed: true } } as const;
const blobInfo = (k: StoredKey | undefined) => (k ? { received: true, bytes: k.bytes, sha256: k.sha256 } : { received: false });
const snapshot = (s: Session) =>
  JSON.stringify({
    state: s.state,
    run: s.run,
    ...(s.runId ? { runId: s.runId } : {}),
    runNumber: s.runNumber,
    serverKey: s.serverKey ? 'ready' : 'none',
  } satisfies SessionProgress);
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface TestGatewayOptions {
  /**
   * Byte strings of the test client keys' secret parts. An upload that contains one means the
   * widget sent a secret key: the gateway refuses it with 400 `secret_key_uploaded`.
   */
  secretNeedles?: readonly Uint8Array[];
}

export function createTestGateway(model: Model, options: TestGatewayOptions = {}): Hono {
  const needles = (options.secretNeedles ?? []).map((n) => Buffer.from(n));
  const containsSecret = (bytes: Uint8Array) => {
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return needles.some((n) => body.indexOf(n) !== -1);
  };
  const sessions = new Map<string, Session>();
  const deleted = new Map<string, Session>();
  const readableKeys = new Set<string>();
  const app = new Hono().basePath(GATEWAY_PREFIX);

  const status = (s: Session): SessionStatus => {
    const received = PARTIES.filter((p) => s.inputs[p]);
    return {
      sessionId: s.id,
      state: s.state,
      modelVersion: model.manifest.modelVersion,
      demo: s.scenario.demo,
      createdAt: s.createdAt.toISOString(),
      expiresAt: new Date(s.createdAt.getTime() + 30 * 60_000).toISOString(),
      serverKey: { ...blobInfo(s.serverKey), evaluator: s.serverKey ? 'ready' : 'none' },
      publicKey: blobInfo(s.publicKey),
      parties: { received, missing: PARTIES.filter((p) => !s.inputs[p]) },
      run: s.run,
      runs: { ...(s.runId ? { runId: s.runId } : {}), runNumber: s.runNumber, maxRuns: s.scenario.maxRuns ?? 10 },
      attempts: s.attempts,
    };
  };
  const change = (s: Session, update: Partial<Pick<Session, 'state' | 'run'>>) => {
    Object.assign(s, update);
    for (const notify of s.listeners) notify();
  };
  const settleInputs = (s: Session) => {
    const ready = s.state === 'created' || s.state === 'keys' || (s.inputsChanged && (s.state === 'done' || s.state === 'failed'));
    if (s.serverKey && PARTIES.every((p) => s.inputs[p]) && ready) {
      change(s, { state: 'inputs' });
    } else if (s.serverKey && s.state === 'created') {
      change(s, { state: 'keys' });
    }
  };

  const scenarioOf = (c: Context): Scenario => {
    const key = c.req.header(PublicHeaders.publishableKey);
    if (!key) throw new ApiError(401, 'missing_credentials', 'x-blindscore-key is required');
    const scenario = SCENARIOS[key];
    if (!scenario) throw new ApiError(401, 'invalid_publishable_key', 'unknown publishable key');
    return scenario;
  };
  const sessionOf = (c: Context): Session => {
    const s = sessions.get(c.req.param('sessionId') ?? '');
    if (!s) throw new ApiError(404, 'session_not_found', 'no such session');
    const auth = c.req.header(PublicHeaders.authorization) ?? '';
    if (!auth.startsWith(BEARER_PREFIX) || sha256(auth.slice(BEARER_PREFIX.length)) !== s.tokenHash) {
      throw new ApiError(401, 'invalid_token', 'the token does not open this session');
    }
    return s;
  };

  app.onError((err, c) => {
    const e = err instanceof ApiError ? err : new ApiError(500, 'internal', String(err));
    if (e.status === 429 || e.status === 503) c.header(PublicHeaders.retryAfter, '1');
    return c.json(e.toBody(), e.status);
  });

  app.get(PublicRoutes.manifest, (c) => {
    const scenario = scenarioOf(c);
    if (scenario.refuseOrigin) {
      const origin = c.req.header('origin') ?? new URL(c.req.url).origin;
      throw new ApiError(403, 'origin_not_allowed', `The origin ${origin} is not allowed for this publishable key.`, {
        details: { origin },
      });
    }
    return c.json(scenario.badManifest ? { ...model.manifest, inputs: [] } : model.manifest);
  });

  app.get(PublicRoutes.appearance, (c) => c.json({ appearance: scenarioOf(c).appearance ?? null }));

  app.post(PublicRoutes.sessions, async (c) => {
    const scenario = scenarioOf(c);
    if (scenario.createError) throw scenario.createError;
    const body = (await c.req.json().catch(() => null)) as { modelVersion?: unknown } | null;
    if (body?.modelVersion !== model.manifest.modelVersion) {
      throw new ApiError(409, 'model_version_mismatch', 'the session is for another model');
    }
    const token = randomBytes(32).toString('base64url');
    const s: Session = {
      id: randomBytes(16).toString('base64url'),
      tokenHash: sha256(token),
      scenario,
      state: 'created',
      createdAt: new Date(),
      inputs: {},
      partyLists: {},
      run: { state: 'idle', stage: 'idle', completed: 0, total: 0, fraction: 0 },
      attempts: 0,
      runNumber: 0,
      inputsChanged: false,
      partLog: [],
      partsSeen: new Set(),
      inputLog: [],
      streams: 0,
      listeners: new Set(),
    };
    sessions.set(s.id, s);
    return c.json({ sessionId: s.id, token, status: status(s) }, 201);
  });

  app.get(PublicRoutes.session, (c) => c.json(status(sessionOf(c))));

  /** DELETE requests per session id, answered or not (a page should send one). */
  const deleteRequests = new Map<string, number>();
  app.delete(PublicRoutes.session, (c) => {
    const id = c.req.param('sessionId') ?? '';
    deleteRequests.set(id, (deleteRequests.get(id) ?? 0) + 1);
    const s = sessionOf(c);
    sessions.delete(s.id);
    deleted.set(s.id, s);
    return c.body(null, 204);
  });

  /** Test-only: what a session saw, including after its deletion. */
  app.get('/__test/sessions/:sessionId', (c) => {
    const id = c.req.param('sessionId');
    const s = sessions.get(id) ?? deleted.get(id);
    if (!s) return c.json({ known: false });
    return c.json({
      known: true,
      deleted: deleted.has(id),
      deleteRequests: deleteRequests.get(id) ?? 0,
      partLog: s.partLog,
      serverKey: s.serverKey !== undefined,
      runNumber: s.runNumber,
      attempts: s.attempts,
      inputLog: s.inputLog,
    });
  });

  /** Per key kind: the route's limit, node-tfhe's reading of the bytes, and the session field. */
  const KEY_KINDS = {
    'server-key': {
      limit: PublicBodyLimits.serverKey,
      read: (b: Uint8Array) => tfhe.Shortint.deserialize_compressed_server_key(b).free(),
      field: 'serverKey',
    },
    'public-key': {
      limit: PublicBodyLimits.publicKey,
      read: (b: Uint8Array) => tfhe.TfheCompactPublicKey.deserialize(b).free(),
      field: 'publicKey',
    },
  } as const;

  /**
   * A key upload with the checks of the real gateway (`gateway/src/routes/keys.ts`): octet-stream,
   * exact `Content-Length` within the route's limit, the claimed SHA-256, a byte-identical repeat
   * as a duplicate and a different key as 409; then the test's own: no secret key inside, and
   * node-tfhe reads the bytes as that kind of key.
   */
  async function putKey(c: Context, kind: keyof typeof KEY_KINDS) {
    const s = sessionOf(c);
    if (kind === 'public-key' && s.scenario.publicKeyError) throw s.scenario.publicKeyError;
    const { limit } = KEY_KINDS[kind];
    if (c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase() !== 'application/octet-stream') {
      throw new ApiError(415, 'unsupported_media_type', 'Send the key as application/octet-stream.');
    }
    const declared = c.req.header('content-length');
    if (declared === undefined || !/^[0-9]{1,12}$/.test(declared)) throw new ApiError(411, 'length_required', 'Content-Length is required');
    if (Number(declared) > limit) throw new ApiError(413, 'body_too_large', `The ${kind} exceeds ${limit} bytes.`);
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.byteLength !== Number(declared)) throw new ApiError(400, 'invalid_request', 'The body does not match its Content-Length.');
    if (bytes.byteLength === 0) throw new ApiError(400, 'invalid_request', 'The key is empty.');
    const claimed = c.req.header(PublicHeaders.contentSha256);
    if (claimed && claimed !== sha256(bytes)) throw new ApiError(400, 'body_hash_mismatch', 'body differs from its hash');
    const existing = acceptKey(s, kind, bytes);
    return c.json({ bytes: bytes.byteLength, sha256: s[KEY_KINDS[kind].field]!.sha256, duplicate: existing }, existing ? 200 : 201);
  }

  /** Stores a whole key after the test's checks; whether the same key was already there. */
  function acceptKey(s: Session, kind: keyof typeof KEY_KINDS, bytes: Uint8Array): boolean {
    const { read, field } = KEY_KINDS[kind];
    const code = kind.replace('-', '_');
    if (containsSecret(bytes)) throw new ApiError(400, 'secret_key_uploaded', 'the upload contains a client (secret) key');
    const digest = sha256(bytes);
    if (!readableKeys.has(digest)) {
      try {
        read(bytes);
      } catch (e) {
        throw new ApiError(422, `invalid_${code}`, `not a ${kind}: ${String(e)}`);
      }
      // Suites reuse the cached test keys: check each distinct key once.
      readableKeys.add(digest);
    }
    const existing = s[field];
    if (existing && existing.sha256 !== digest) throw new ApiError(409, `${code}_exists`, `A different ${kind} was already accepted.`);
    // Only the public key is served back (to the parties); a 30 MB server key is not kept.
    s[field] = { bytes: bytes.byteLength, sha256: digest, ...(kind === 'public-key' ? { body: bytes } : {}) };
    settleInputs(s);
    return existing !== undefined;
  }

  /**
   * The resumable upload with the real gateway's rules (`protocol/public-api.ts`): parts of
   * exactly `partSize` but the last, in order, a repeat refused as `part_exists`, the total and
   * the SHA-256 checked on completion.
   */
  const uploadView = (u: NonNullable<Session['upload']>): ServerKeyUpload => ({
    uploadId: u.id,
    size: u.size,
    sha256: u.sha256,
    partSize: SERVER_KEY_UPLOAD.partSize,
    partCount: u.partCount,
    parts: [...u.parts].sort(([a], [b]) => a - b).map(([partNumber, b]) => ({ partNumber, size: b.byteLength })),
  });
  const uploadOf = (c: Context, s: Session) => {
    if (!s.upload || s.upload.id !== c.req.param('uploadId')) throw new ApiError(404, 'upload_not_found', 'no such upload in this session');
    return s.upload;
  };

  app.post(PublicRoutes.serverKeyUploads, async (c) => {
    const s = sessionOf(c);
    const body = ServerKeyUploadRequest.safeParse(await c.req.json().catch(() => null));
    if (!body.success) throw new ApiError(400, 'invalid_request', body.error.message);
    const { size, sha256: hash } = body.data;
    if (s.serverKey) {
      throw new ApiError(
        409,
        'server_key_exists',
        s.serverKey.sha256 === hash ? 'This key was already accepted.' : 'A different server-key was already accepted.',
      );
    }
    if (size > PublicBodyLimits.serverKey)
      throw new ApiError(413, 'body_too_large', `The server-key exceeds ${PublicBodyLimits.serverKey} bytes.`);
    if (s.upload && s.upload.size === size && s.upload.sha256 === hash) return c.json(uploadView(s.upload), 200);
    s.upload = {
      id: randomBytes(16).toString('base64url'),
      size,
      sha256: hash,
      partCount: Math.ceil(size / SERVER_KEY_UPLOAD.partSize),
      parts: new Map(),
    };
    return c.json(uploadView(s.upload), 201);
  });

  app.get(PublicRoutes.serverKeyUpload, (c) => {
    const s = sessionOf(c);
    return c.json(uploadView(uploadOf(c, s)));
  });

  app.put(PublicRoutes.serverKeyUploadPart, async (c) => {
    const s = sessionOf(c);
    const u = uploadOf(c, s);
    const n = Number(c.req.param('partNumber'));
    s.partLog.push(n);
    const first = !s.partsSeen.has(n);
    s.partsSeen.add(n);
    if (!Number.isInteger(n) || n < 1 || n > u.partCount) throw new ApiError(400, 'invalid_part_number', `parts are 1..${u.partCount}`);
    // The body is read first, as a gateway streaming it to storage does (an unread body stalls the sender).
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (first && s.scenario.busyPart === n) throw new ApiError(503, 'evaluator_unavailable', 'busy', { retriable: true });
    const expected = n === u.partCount ? u.size - (u.partCount - 1) * SERVER_KEY_UPLOAD.partSize : SERVER_KEY_UPLOAD.partSize;
    if (bytes.byteLength !== expected) throw new ApiError(400, 'invalid_part_size', `part ${n} must be ${expected} bytes`);
    if (u.parts.has(n)) throw new ApiError(409, 'part_exists', `part ${n} is stored`);
    for (let i = 1; i < n; i++) if (!u.parts.has(i)) throw new ApiError(409, 'part_out_of_order', `send part ${i} first`);
    u.parts.set(n, bytes);
    if (first && s.scenario.cutAfterPart === n) {
      // Stored, but the answer never arrives: the client sees a network error.
      (c.env as { incoming: IncomingMessage }).incoming.socket.destroy();
      return c.body(null, 200);
    }
    return c.json({ partNumber: n, size: bytes.byteLength });
  });

  app.post(PublicRoutes.serverKeyUploadComplete, (c) => {
    const s = sessionOf(c);
    const u = uploadOf(c, s);
    const missing = Array.from({ length: u.partCount }, (_, i) => i + 1).filter((n) => !u.parts.has(n));
    if (missing.length > 0) throw new ApiError(409, 'upload_incomplete', 'parts missing', { details: { missingParts: missing } });
    const whole = Buffer.concat([...u.parts.keys()].sort((a, b) => a - b).map((n) => u.parts.get(n)!));
    s.upload = undefined;
    if (whole.byteLength !== u.size || sha256(whole) !== u.sha256) {
      throw new ApiError(422, 'server_key_hash_mismatch', 'the parts do not hash to the announced sha256');
    }
    acceptKey(s, 'server-key', whole);
    return c.json(status(s));
  });

  app.put(PublicRoutes.serverKey, (c) => putKey(c, 'server-key'));
  app.put(PublicRoutes.publicKey, (c) => putKey(c, 'public-key'));

  /** What the bank's and bureau's backends download (the real gateway also takes their party keys). */
  app.get(PublicRoutes.publicKey, (c) => {
    const s = sessionOf(c);
    if (!s.publicKey?.body)
      throw new ApiError(409, 'public_key_not_ready', 'The public key has not been uploaded yet.', { retriable: true });
    return c.body(s.publicKey.body as Uint8Array<ArrayBuffer>, 200, {
      'content-type': 'application/octet-stream',
      [PublicHeaders.contentSha256]: s.publicKey.sha256,
    });
  });

  app.put(PublicRoutes.inputs, async (c) => {
    const s = sessionOf(c);
    const party = c.req.param('party') as Party;
    if (!s.scenario.demo && party !== 'applicant') throw new ApiError(403, 'party_not_allowed', 'not a demo tenant');
    let payload: ReturnType<typeof validatePartyInputs>;
    try {
      payload = validatePartyInputs(model.manifest, await c.req.json(), party);
    } catch (e) {
      throw new ApiError(422, 'invalid_inputs', String(e));
    }
    const refused = s.state === 'running' || (s.scenario.refuseFirstInputs === party && !s.inputLog.some((e) => e.party === party));
    s.inputLog.push({ party, runsBefore: s.runNumber, stored: !refused });
    if (refused) throw new ApiError(409, 'run_started', 'a run is in flight');
    s.inputs[party] = payload.inputs;
    s.inputsChanged = true;
    if (party === 'applicant' && s.scenario.partiesAfterMs !== undefined) {
      setTimeout(() => backendsUpload(s), s.scenario.partiesAfterMs);
    }
    settleInputs(s);
    const received = PARTIES.filter((p) => s.inputs[p]);
    return c.json(
      { party, sha256: sha256(JSON.stringify(payload)), duplicate: false, received, missing: PARTIES.filter((p) => !s.inputs[p]) },
      201,
    );
  });

  /**
   * Stand-ins for the bank's and the bureau's backends: the party SDK's encryption under the
   * public key the page uploaded (which must therefore be there, and be a compact public key of
   * the manifest's set). The lists are checked against the manifest and kept; the stand-in
   * evaluator does not read them.
   */
  function backendsUpload(s: Session): void {
    try {
      if (!s.publicKey?.body) throw new ApiError(409, 'public_key_not_ready', 'the parties found no public key');
      for (const party of ['bank', 'bureau'] as const) {
        const body = encryptPartyInputs({
          manifest: model.manifest,
          party,
          features: BACKEND_FEATURES[party],
          publicKey: s.publicKey.body,
        });
        s.partyLists[party] = validatePartyUpload(model.manifest, body, party);
        s.inputs[party] = {};
      }
      settleInputs(s);
    } catch (e) {
      const error = e instanceof ApiError ? e : new ApiError(422, 'invalid_public_key', String(e));
      change(s, { state: 'failed', run: { ...s.run, state: 'failed', stage: 'failed', error: error.toBody() } });
    }
  }

  app.post(PublicRoutes.run, async (c) => {
    const s = sessionOf(c);
    if (s.scenario.runError) throw s.scenario.runError;
    if (!s.serverKey) throw new ApiError(409, 'missing_server_key', 'upload the server key first');
    const missing = PARTIES.filter((p) => !s.inputs[p]);
    if (missing.length > 0) {
      throw new ApiError(409, 'missing_inputs', 'inputs missing', { details: { missingParties: missing } });
    }
    // New inputs since the latest run: a new run. A failed run without new inputs: its retry.
    // Otherwise the latest run stands (in flight, or done with these very inputs).
    const fresh = s.state === 'inputs' && (s.inputsChanged || s.runNumber === 0);
    const retry = s.state === 'failed' && !s.inputsChanged;
    if (fresh && s.runNumber >= (s.scenario.maxRuns ?? 10)) {
      throw new ApiError(429, 'run_limit_reached', 'this session ran its last run', { details: { maxRuns: s.scenario.maxRuns ?? 10 } });
    }
    if (fresh) {
      s.runId = randomBytes(16).toString('base64url');
      s.runNumber++;
      s.attempts = 0;
      s.inputsChanged = false;
    }
    if (fresh || retry) {
      s.attempts++;
      change(s, { state: 'running', run: { state: 'queued', stage: 'queued', completed: 0, total: 4, fraction: 0, queuePosition: 1 } });
      void evaluate(s);
    }
    // As the real gateway: asked for the event stream, the run's progress stream is the answer.
    if (c.req.header('accept')?.includes('text/event-stream')) return progressResponse(c, s);
    const body: RunResponse = { ...status(s), runId: s.runId!, runNumber: s.runNumber };
    return c.json(body, fresh || retry ? 202 : 200);
  });

  async function evaluate(s: Session): Promise<void> {
    // The run stays queued until a progress stream watches it (at most 5 s), as a busy evaluator's
    // queue would: the element opens its stream after POST run returns, and must see the queue.
    for (let waited = 0; s.listeners.size === 0 && waited < 5_000; waited += 50) await delay(50);
    await delay(150);
    if (s.scenario.hang) return;
    for (let done = 1; done <= 4; done++) {
      change(s, {
        run: { state: 'running', stage: done < 3 ? 'nodes' : 'leaves', completed: done - 1, total: 4, fraction: (done - 1) / 4 },
      });
      await delay(100);
    }
    if (s.scenario.runFails) {
      change(s, {
        state: 'failed',
        run: { state: 'failed', stage: 'failed', completed: 2, total: 4, fraction: 0.5, error: s.scenario.runFails.toBody() },
      });
      return;
    }
    change(s, { state: 'done', run: { state: 'succeeded', stage: 'done', completed: 4, total: 4, fraction: 1 } });
  }

  app.get(PublicRoutes.progress, (c) => progressResponse(c, sessionOf(c)));

  function progressResponse(c: Context, s: Session): Response | Promise<Response> {
    s.streams++;
    if (s.scenario.dropFirstStream && s.streams === 1) {
      return new Response('', { headers: { 'content-type': 'text/event-stream' } });
    }
    return streamSSE(c, async (stream) => {
      // The current state first, then every change in order, as the public API promises.
      const queue: string[] = [snapshot(s)];
      let wake: (() => void) | undefined;
      const notify = () => {
        queue.push(snapshot(s));
        wake?.();
      };
      s.listeners.add(notify);
      stream.onAbort(() => {
        s.listeners.delete(notify);
        wake?.();
      });
      try {
        for (;;) {
          while (queue.length > 0) {
            const data = queue.shift()!;
            await stream.writeSSE({ event: PROGRESS_EVENT, data });
            const { state } = JSON.parse(data) as SessionProgress;
            if (state === 'done' || state === 'failed') return;
          }
          if (stream.aborted) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, 5_000);
          });
        }
      } finally {
        s.listeners.delete(notify);
      }
    });
  }

  app.get(PublicRoutes.result, (c) => {
    const s = sessionOf(c);
    if (s.scenario.resultError) throw s.scenario.resultError;
    const wanted = c.req.query('runId');
    if (wanted !== undefined && wanted !== s.runId)
      throw new ApiError(409, 'run_superseded', 'another run came after it', { details: { runId: s.runId } });
    if (s.state !== 'done') throw new ApiError(409, 'result_not_ready', 'not done', { retriable: true });
    const applicant = s.inputs.applicant!;
    const labels = model.manifest.explanation.bins.map((b) => b.label);
    const result: ResultResponse = {
      runId: s.runId!,
      modelVersion: model.manifest.modelVersion,
      decision: decompressCiphertext(applicant[DECISION_SOURCE]![0]!),
      explanation: {
        // Rotated, bit i is labelled bin i-1: a denial would promise approval with fewer years.
        bins: s.scenario.shiftResultBins ? labels.map((_, i) => labels[(i + labels.length - 1) % labels.length]!) : labels,
        ciphertexts: model.manifest.explanation.bins.map((b) =>
          decompressCiphertext(applicant[explanationSource(s.scenario, b.label)]![0]!),
        ),
      },
    };
    return c.json(result);
  });

  return app;
}
