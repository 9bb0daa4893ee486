/**
 * A test gateway for the browser suites, served by the test runner's own HTTP server under
 * `/gw`: the public `/v1` API of `protocol/public-api.ts` with real HTTP, real SSE, the
 * protocol's zod schemas and the model's input validation. Its "evaluator" runs no circuit: it
 * answers with the applicant's own uploaded ciphertexts, decompressed by node-tfhe, so the
 * browser decrypts real full ciphertexts under its own key and a test chooses the outcome
 * through the applicant's yes/no answers.
 *
 * The publishable key picks a scenario (see {@link SCENARIOS}): the normal flow, or one of the
 * gateway's documented failures.
 */
import { randomBytes, createHash } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import * as tfhe from 'node-tfhe';
import { base64ToBytes, bytesToBase64, type Party } from '../../../protocol/ciphertexts.ts';
import { ApiError } from '../../../protocol/errors.ts';
import {
  BEARER_PREFIX,
  PROGRESS_EVENT,
  PublicBodyLimits,
  PublicHeaders,
  PublicRoutes,
  type EncryptedResult,
  type SessionProgress,
  type SessionState,
  type SessionStatus,
} from '../../../protocol/public-api.ts';
import type { Model } from '../../../model/manifest.ts';
import { validatePartyInputs } from '../../../model/party-inputs.ts';

export const GATEWAY_PREFIX = '/gw';

/** What a publishable key makes the gateway do. */
interface Scenario {
  /** Demo tenant: the session token may upload every party's inputs. */
  demo: boolean;
  /** Applicant mode: the bank's and bureau's backends "upload" this long after the applicant. */
  partiesAfterMs?: number;
  /** Fail `POST /v1/sessions` with this error. */
  createError?: ApiError;
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
}

export const SCENARIOS: Record<string, Scenario> = {
  pk_test_demo: { demo: true },
  pk_test_applicant: { demo: false, partiesAfterMs: 300 },
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
  pk_test_drop_stream: { demo: true, dropFirstStream: true },
  pk_test_hang: { demo: true, hang: true },
  pk_test_bad_manifest: { demo: true, badManifest: true },
};

/** Which uploaded applicant answer stands in for each result bit (see the module comment). */
const DECISION_SOURCE = 'own_car';
/** Bins from 8 years up echo `mobile_phone`, shorter ones `own_car`: a denial then explains "8 years". */
const explanationSource = (bin: string) => (['8-11', '11-18', '18+'].includes(bin) ? 'mobile_phone' : 'own_car');

interface Session {
  id: string;
  tokenHash: string;
  scenario: Scenario;
  state: SessionState;
  createdAt: Date;
  serverKey?: { bytes: number; sha256: string };
  inputs: Partial<Record<Party, Record<string, string[]>>>;
  run: SessionProgress['run'];
  attempts: number;
  streams: number;
  listeners: Set<() => void>;
}

const PARTIES: readonly Party[] = ['applicant', 'bank', 'bureau'];
const snapshot = (s: Session) => JSON.stringify({ state: s.state, run: s.run } satisfies SessionProgress);
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Turns an uploaded compressed ciphertext into the full ciphertext the evaluator would return. */
function decompress(b64: string): string {
  const compressed = tfhe.Shortint.deserialize_compressed_ciphertext(base64ToBytes(b64));
  const full = tfhe.Shortint.decompress_ciphertext(compressed);
  try {
    return bytesToBase64(tfhe.Shortint.serialize_ciphertext(full));
  } finally {
    full.free();
    compressed.free();
  }
}

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
      serverKey: s.serverKey ? { received: true, ...s.serverKey } : { received: false },
      publicKey: { received: false },
      parties: { received, missing: PARTIES.filter((p) => !s.inputs[p]) },
      run: s.run,
      attempts: s.attempts,
    };
  };
  const change = (s: Session, update: Partial<Pick<Session, 'state' | 'run'>>) => {
    Object.assign(s, update);
    for (const notify of s.listeners) notify();
  };
  const settleInputs = (s: Session) => {
    if (s.serverKey && PARTIES.every((p) => s.inputs[p]) && (s.state === 'created' || s.state === 'keys')) {
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
    return c.json(scenario.badManifest ? { ...model.manifest, inputs: [] } : model.manifest);
  });

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
      run: { state: 'idle', stage: 'idle', completed: 0, total: 0, fraction: 0 },
      attempts: 0,
      streams: 0,
      listeners: new Set(),
    };
    sessions.set(s.id, s);
    return c.json({ sessionId: s.id, token, status: status(s) }, 201);
  });

  app.get(PublicRoutes.session, (c) => c.json(status(sessionOf(c))));

  app.delete(PublicRoutes.session, (c) => {
    const s = sessionOf(c);
    sessions.delete(s.id);
    return c.body(null, 204);
  });

  app.put(PublicRoutes.serverKey, async (c) => {
    const s = sessionOf(c);
    const length = Number(c.req.header('content-length'));
    if (!Number.isFinite(length)) throw new ApiError(411, 'length_required', 'Content-Length is required');
    if (length > PublicBodyLimits.serverKey) throw new ApiError(413, 'body_too_large', 'server key too large');
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (containsSecret(bytes)) throw new ApiError(400, 'secret_key_uploaded', 'the upload contains a client (secret) key');
    const digest = sha256(bytes);
    const claimed = c.req.header(PublicHeaders.contentSha256);
    if (claimed && claimed !== digest) throw new ApiError(400, 'body_hash_mismatch', 'body differs from its hash');
    if (!readableKeys.has(digest)) {
      try {
        tfhe.Shortint.deserialize_compressed_server_key(bytes).free();
      } catch (e) {
        throw new ApiError(422, 'invalid_server_key', `not a compressed server key: ${String(e)}`);
      }
      // Suites reuse the cached test keys: check each distinct key once.
      readableKeys.add(digest);
    }
    s.serverKey = { bytes: bytes.byteLength, sha256: digest };
    settleInputs(s);
    return c.json({ bytes: bytes.byteLength, sha256: digest, duplicate: false }, 201);
  });

  app.put(PublicRoutes.inputs, async (c) => {
    const s = sessionOf(c);
    const party = c.req.param('party') as Party;
    if (!s.scenario.demo && party !== 'applicant') throw new ApiError(403, 'party_not_allowed', 'not a demo tenant');
    let payload;
    try {
      payload = validatePartyInputs(model.manifest, await c.req.json(), party);
    } catch (e) {
      throw new ApiError(422, 'invalid_inputs', String(e));
    }
    s.inputs[party] = payload.inputs;
    if (party === 'applicant' && s.scenario.partiesAfterMs !== undefined) {
      // Stand-ins for the bank's and the bureau's backends uploading on their own.
      setTimeout(() => {
        s.inputs.bank = {};
        s.inputs.bureau = {};
        settleInputs(s);
      }, s.scenario.partiesAfterMs);
    }
    settleInputs(s);
    const received = PARTIES.filter((p) => s.inputs[p]);
    return c.json(
      { party, sha256: sha256(JSON.stringify(payload)), duplicate: false, received, missing: PARTIES.filter((p) => !s.inputs[p]) },
      201,
    );
  });

  app.post(PublicRoutes.run, async (c) => {
    const s = sessionOf(c);
    if (s.scenario.runError) throw s.scenario.runError;
    if (!s.serverKey) throw new ApiError(409, 'missing_server_key', 'upload the server key first');
    const missing = PARTIES.filter((p) => !s.inputs[p]);
    if (missing.length > 0) {
      throw new ApiError(409, 'missing_inputs', 'inputs missing', { details: { missingParties: missing } });
    }
    if (s.state === 'inputs') {
      s.attempts++;
      change(s, { state: 'running', run: { state: 'queued', stage: 'queued', completed: 0, total: 4, fraction: 0, queuePosition: 1 } });
      void evaluate(s);
    }
    return c.json(status(s), 202);
  });

  async function evaluate(s: Session): Promise<void> {
    await delay(150);
    if (s.scenario.hang) return;
    for (let done = 1; done <= 4; done++) {
      change(s, { run: { state: 'running', stage: done < 3 ? 'nodes' : 'leaves', completed: done - 1, total: 4, fraction: (done - 1) / 4 } });
      await delay(100);
    }
    if (s.scenario.runFails) {
      change(s, { state: 'failed', run: { state: 'failed', stage: 'failed', completed: 2, total: 4, fraction: 0.5, error: s.scenario.runFails.toBody() } });
      return;
    }
    change(s, { state: 'done', run: { state: 'succeeded', stage: 'done', completed: 4, total: 4, fraction: 1 } });
  }

  app.get(PublicRoutes.progress, (c) => {
    const s = sessionOf(c);
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
  });

  app.get(PublicRoutes.result, (c) => {
    const s = sessionOf(c);
    if (s.scenario.resultError) throw s.scenario.resultError;
    if (s.state !== 'done') throw new ApiError(409, 'result_not_ready', 'not done', { retriable: true });
    const applicant = s.inputs.applicant!;
    const result: EncryptedResult = {
      modelVersion: model.manifest.modelVersion,
      decision: decompress(applicant[DECISION_SOURCE]![0]!),
      explanation: {
        bins: model.manifest.explanation.bins.map((b) => b.label),
        ciphertexts: model.manifest.explanation.bins.map((b) => decompress(applicant[explanationSource(b.label)]![0]!)),
      },
    };
    return c.json(result);
  });

  return app;
}
