/**
 * The gateway's client for the evaluator's internal API (`protocol/evaluator-api.ts`): every
 * request signed with the shared secret, every response parsed with the shared schemas, every
 * failure classified as retriable (evaluator down, overloaded, confused) or final (it rejected
 * what the session holds: a bad key or bad inputs).
 *
 * The transport is a Cloudflare Container binding in production (`EVALUATOR`, sessions pinned
 * to one of `EVALUATOR_INSTANCES` containers by session id) and `EVALUATOR_URL` locally.
 *
 * Every request is signed for the boot identity of the evaluator process it goes to, learned
 * from that process's signed `/identity` answer and kept per target (container instance or URL)
 * for the isolate's life. A process that restarted refuses with 401 `boot_mismatch`: the client
 * learns the new identity and sends the request once more (a streamed key, which cannot be sent
 * twice, fails as retriable instead).
 */
import { getContainer } from '@cloudflare/containers';
import type { z } from 'zod';
import type { Party } from '../../../protocol/ciphertexts.ts';
import { ErrorBody } from '../../../protocol/errors.ts';
import {
  EncryptedResult,
  RunProgress,
  SessionStatus as EvaluatorSessionStatus,
  EvaluatorIdentityError,
  evaluatorPath,
  fetchEvaluatorIdentity,
  importSharedSecret,
  signEvaluatorRequest,
  SHARED_SECRET_MIN_BYTES,
  type CreateSessionRequest,
} from '../../../protocol/evaluator-api.ts';
import { sha256Hex } from '../../../protocol/bytes.ts';
import type { Bindings } from '../env.ts';
import type { Failure } from '../sessions/outcome.ts';
import { classifyEvaluatorError, EvaluatorFailure } from './failures.ts';

export type { EvaluatorSessionStatus };

const unavailable = (why: string): Failure => ({
  status: 503,
  code: 'evaluator_unavailable',
  message: `The evaluator cannot be reached (${why}); retry shortly.`,
  retriable: true,
});

type Transport = (path: string, init: RequestInit) => Promise<Response>;
/** Where requests go: `id` names the evaluator process target (one boot identity at a time). */
interface Target {
  id: string;
  transport: Transport;
}

/** FNV-1a, to pin a session to one container instance. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function targetFor(env: Bindings, pinKey: string): Target {
  if (env.EVALUATOR) {
    const instances = Math.max(1, Number.parseInt(env.EVALUATOR_INSTANCES ?? '1', 10) || 1);
    const name = `evaluator-${fnv1a(pinKey) % instances}`;
    const stub = getContainer(env.EVALUATOR as never, name) as unknown as {
      fetch(request: Request): Promise<Response>;
    };
    return { id: `container:${name}`, transport: (path, init) => stub.fetch(new Request(`http://evaluator${path}`, init)) };
  }
  if (env.EVALUATOR_URL) {
    const base = env.EVALUATOR_URL;
    return { id: `url:${base}`, transport: (path, init) => fetch(new URL(path, base), init) };
  }
  console.error('Neither EVALUATOR nor EVALUATOR_URL is configured.');
  return { id: 'none', transport: () => Promise.reject(new Error('no evaluator configured')) };
}

/**
 * Boot identities learned, by target. Only settled values are shared between requests (a
 * promise begun by one request must not be awaited by another in workerd); two first calls at
 * once each make a handshake, which is cheap.
 */
const bootIds = new Map<string, string>();

async function bootIdOf(target: Target, key: CryptoKey): Promise<string> {
  const known = bootIds.get(target.id);
  if (known) return known;
  try {
    const bootId = await fetchEvaluatorIdentity(key, (path) =>
      target.transport(path, { method: 'GET', signal: AbortSignal.timeout(15_000) }),
    );
    bootIds.set(target.id, bootId);
    return bootId;
  } catch (error) {
    if (!(error instanceof EvaluatorIdentityError)) throw error;
    if (error.reason === 'unreachable') throw new EvaluatorFailure(unavailable('identity handshake failed'));
    console.error(`evaluator identity refused: ${error.message}`);
    throw new EvaluatorFailure(classifyEvaluatorError(502, undefined));
  }
}

/** Whether a 401 says the request was signed for another boot (read from a clone; the body stays readable). */
async function isBootMismatch(res: Response): Promise<boolean> {
  if (res.status !== 401) return false;
  const parsed = ErrorBody.safeParse(
    await res
      .clone()
      .json()
      .catch(() => undefined),
  );
  return parsed.success && parsed.data.code === 'boot_mismatch';
}

const keys = new Map<string, Promise<CryptoKey>>();

function sharedKey(secret: string | undefined): Promise<CryptoKey> {
  if (!secret || new TextEncoder().encode(secret).byteLength < SHARED_SECRET_MIN_BYTES) {
    console.error(`EVALUATOR_SHARED_SECRET is missing or shorter than ${SHARED_SECRET_MIN_BYTES} bytes.`);
    return Promise.reject(new EvaluatorFailure(unavailable('gateway not configured')));
  }
  let key = keys.get(secret);
  if (!key) keys.set(secret, (key = importSharedSecret(secret)));
  return key;
}

interface CallOptions {
  body?: BodyInit;
  sha256?: string;
  contentType?: string;
  contentLength?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Calls for one evaluator session. */
export class EvaluatorClient {
  private readonly target: Target;
  private readonly key: Promise<CryptoKey>;

  /**
   * @param pinKey the gateway session id: the same session always reaches the same container.
   * @param sessionId the evaluator-side session id (renewed when the evaluator lost a session).
   */
  constructor(
    env: Bindings,
    pinKey: string,
    readonly sessionId: string,
  ) {
    this.target = targetFor(env, pinKey);
    this.key = sharedKey(env.EVALUATOR_SHARED_SECRET);
    this.key.catch(() => undefined); // surfaced on first call
  }

  private async call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
    const key = await this.key;
    // A body held in memory can be sent again after re-learning the boot identity; a stream cannot.
    const resendable = options.body === undefined || typeof options.body === 'string';
    for (let attempt = 0; ; attempt++) {
      const bootId = await bootIdOf(this.target, key);
      const res = await this.send(key, bootId, method, path, options);
      if (!(await isBootMismatch(res))) return res;
      // The process restarted (or the pin moved to another one): learn its identity again.
      if (bootIds.get(this.target.id) === bootId) bootIds.delete(this.target.id);
      if (attempt > 0 || !resendable) {
        await res.body?.cancel();
        throw new EvaluatorFailure(unavailable('the evaluator restarted'));
      }
      await res.body?.cancel();
    }
  }

  private async send(key: CryptoKey, bootId: string, method: string, path: string, options: CallOptions): Promise<Response> {
    const signed = await signEvaluatorRequest(key, {
      bootId,
      method,
      pathAndQuery: path,
      ...(options.sha256 === undefined ? {} : { contentSha256: options.sha256 }),
    });
    const headers: Record<string, string> = { ...signed };
    if (options.contentType) headers['content-type'] = options.contentType;
    if (options.contentLength !== undefined) headers['content-length'] = String(options.contentLength);
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 15_000);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    try {
      return await this.target.transport(path, { method, headers, body: options.body ?? null, signal });
    } catch (error) {
      const why = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'connection failed';
      throw new EvaluatorFailure(unavailable(why));
    }
  }

  private async parse<S extends z.ZodType>(res: Response, schema: S): Promise<z.infer<S>> {
    if (!res.ok) throw await failureOf(res);
    const parsed = schema.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) throw new EvaluatorFailure(classifyEvaluatorError(502, undefined));
    return parsed.data;
  }

  /** The evaluator's view of the session; `missing` (404) or `gone` (410) when it has none. */
  async status(): Promise<EvaluatorSessionStatus | 'missing' | 'gone'> {
    const res = await this.call('GET', evaluatorPath.session(this.sessionId));
    if (res.status === 404) return drain(res, 'missing');
    if (res.status === 410) return drain(res, 'gone');
    return this.parse(res, EvaluatorSessionStatus);
  }

  async create(request: CreateSessionRequest): Promise<EvaluatorSessionStatus> {
    const body = JSON.stringify(request);
    const res = await this.call('PUT', evaluatorPath.session(this.sessionId), {
      body,
      sha256: await sha256Hex(body),
      contentType: 'application/json',
    });
    return this.parse(res, EvaluatorSessionStatus);
  }

  /** Streams the server key (known length and hash) to the evaluator. */
  async putServerKey(body: ReadableStream<Uint8Array>, bytes: number, sha256: string): Promise<void> {
    const res = await this.call('PUT', evaluatorPath.serverKey(this.sessionId), {
      body,
      sha256,
      contentType: 'application/octet-stream',
      contentLength: bytes,
      timeoutMs: 120_000,
    });
    if (!res.ok) throw await failureOf(res);
    await drain(res, undefined);
  }

  async putInputs(party: Party, json: string, sha256: string): Promise<void> {
    const res = await this.call('PUT', evaluatorPath.inputs(this.sessionId, party), {
      body: json,
      sha256,
      contentType: 'application/json',
    });
    if (!res.ok) throw await failureOf(res);
    await drain(res, undefined);
  }

  async run(): Promise<z.infer<typeof RunProgress>> {
    const body = '{}';
    const res = await this.call('POST', evaluatorPath.run(this.sessionId), {
      body,
      sha256: await sha256Hex(body),
      contentType: 'application/json',
    });
    return this.parse(res, RunProgress);
  }

  /** The raw `text/event-stream` of run progress (caller parses and closes it). */
  async progress(signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const res = await this.call('GET', evaluatorPath.progress(this.sessionId), { signal, timeoutMs: 15 * 60_000 });
    if (!res.ok || !res.body) throw await failureOf(res);
    return res.body;
  }

  async result(): Promise<EncryptedResult> {
    return this.parse(await this.call('GET', evaluatorPath.result(this.sessionId)), EncryptedResult);
  }

  /** Forgets the session on the evaluator; a session it no longer has counts as forgotten. */
  async remove(): Promise<void> {
    const res = await this.call('DELETE', evaluatorPath.session(this.sessionId));
    if (!res.ok && res.status !== 404 && res.status !== 410) {
      throw await failureOf(res);
    }
    await drain(res, undefined);
  }
}

/** The classified failure of an error response (its body read, its `retry-after` kept). */
async function failureOf(res: Response): Promise<EvaluatorFailure> {
  const parsed = ErrorBody.safeParse(await res.json().catch(() => undefined));
  const body = parsed.success ? parsed.data : undefined;
  return new EvaluatorFailure(classifyEvaluatorError(res.status, body, res.headers.get('retry-after')));
}

async function drain<T>(res: Response, value: T): Promise<T> {
  await res.body?.cancel();
  return value;
}
