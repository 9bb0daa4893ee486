/**
 * The gateway calls a party backend makes with its secret party key (`x-blindscore-party-key`):
 * session status, the public manifest, the session's compact public key, and its own inputs.
 * Every response is checked against the shared zod schemas; errors become {@link PartyError}s
 * carrying the gateway's `{ code, message }`. Every call is idempotent (an upload repeated
 * byte for byte is a `duplicate`), so retriable failures — 429, 502–504 (also a 503 that is not
 * the gateway's JSON, e.g. from a proxy in front of it), network errors — are retried under the
 * shared policy of `protocol/retry.ts`: `retry-after` honoured, jitter, bounded tries and time.
 */
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { ErrorBody } from '../protocol/errors.ts';
import { DEFAULT_RETRY_POLICY, isRetriableStatus, nextRetryDelay, parseRetryAfter, type RetryPolicy } from '../protocol/retry.ts';
import { InputsAccepted, PublicBodyLimits, PublicHeaders, SessionId, SessionStatus, publicPath } from '../protocol/public-api.ts';
import type { CompactListInputs, Party } from '../protocol/ciphertexts.ts';
import { Manifest, manifestProblems } from '../model/manifest.ts';
import { PartyError } from './errors.ts';

export interface PartyClientOptions {
  /** The gateway's base URL, e.g. `https://gateway.example.com`. Plain `http:` only for loopback hosts. */
  gatewayUrl: string | URL;
  /** The party's secret API key. Never sent anywhere but this gateway. */
  partyKey: string;
  /** Tries per request, the first included, for retriable failures (default 6). */
  attempts?: number;
  /** Stop retrying a request once its waits between tries would add up to more than this (default 60 s). */
  retryBudgetMs?: number;
  /** `fetch` implementation (default: the global one). */
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
/** Bounds on JSON responses read into memory (status, manifest, upload receipt). */
const MAX_JSON_BYTES = 1024 * 1024;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new PartyError('aborted', 'cancelled'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new PartyError('aborted', 'cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The poll delay while the public key is not uploaded yet: the server's `retry-after`, else exponential. */
function pollDelay(res: Response, poll: number): number {
  return parseRetryAfter(res.headers.get(PublicHeaders.retryAfter)) ?? 250 * 2 ** poll;
}

/**
 * Reads a body up to `limit` bytes; a longer one is the gateway misbehaving. The stream is read
 * with a running count and cancelled past the limit, so a body without Content-Length (chunked)
 * is never buffered whole.
 */
async function readBounded(res: Response, limit: number): Promise<Uint8Array> {
  const tooLong = (sent: string) => new PartyError('invalid_response', `the gateway sent ${sent} bytes, more than the ${limit} expected`);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLong(String(declared));
  }
  if (res.body === null) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      // Cancelling closes the connection: the rest of the body is never read.
      await reader.cancel().catch(() => undefined);
      throw tooLong(`at least ${total}`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

export class PartyGatewayClient {
  private readonly base: URL;
  private readonly partyKey: string;
  private readonly retry: RetryPolicy;
  private readonly fetchImpl: typeof fetch;
  private readonly signal: AbortSignal | undefined;

  constructor(options: PartyClientOptions) {
    let base: URL;
    try {
      base = new URL(options.gatewayUrl);
    } catch {
      throw new PartyError('invalid_options', 'gatewayUrl is not a URL');
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:') {
      throw new PartyError('invalid_options', `gatewayUrl must be https (got ${base.protocol})`);
    }
    if (base.protocol === 'http:' && !LOOPBACK.has(base.hostname)) {
      throw new PartyError(
        'insecure_gateway_url',
        'the party key may only travel over https (plain http is allowed for loopback hosts only)',
      );
    }
    if (typeof options.partyKey !== 'string' || options.partyKey.length < 16 || /[\s]/.test(options.partyKey)) {
      throw new PartyError('invalid_options', 'partyKey must be the party\u2019s secret API key');
    }
    this.base = base;
    this.partyKey = options.partyKey;
    this.retry = {
      ...DEFAULT_RETRY_POLICY,
      attempts: Math.max(1, options.attempts ?? DEFAULT_RETRY_POLICY.attempts),
      budgetMs: Math.max(0, options.retryBudgetMs ?? DEFAULT_RETRY_POLICY.budgetMs),
    };
    this.fetchImpl = options.fetch ?? fetch;
    this.signal = options.signal;
  }

  /** `GET /v1/sessions/:sessionId`: what the session holds (never a key or ciphertext). */
  async status(sessionId: string): Promise<SessionStatus> {
    const res = await this.request('GET', publicPath.session(checkedSessionId(sessionId)));
    return this.json(res, SessionStatus, 'session status');
  }

  /** `GET /v1/manifest`: the public model manifest of the party's tenant. */
  async manifest(): Promise<Manifest> {
    const res = await this.request('GET', '/v1/manifest');
    const manifest = await this.json(res, Manifest, 'manifest');
    const problems = manifestProblems(manifest);
    if (problems.length > 0) throw new PartyError('invalid_response', `the gateway's manifest is inconsistent: ${problems.join('; ')}`);
    return manifest;
  }

  /**
   * `GET /v1/sessions/:sessionId/public-key`: the compact public key bytes, checked against the
   * SHA-256 the gateway stored. While the applicant's browser has not uploaded it yet (409
   * `public_key_not_ready`), polls until `waitMs` has passed.
   */
  async publicKey(sessionId: string, waitMs = 60_000): Promise<{ bytes: Uint8Array; sha256: string }> {
    const deadline = Date.now() + waitMs;
    for (let poll = 0; ; poll++) {
      const res = await this.request('GET', publicPath.publicKey(checkedSessionId(sessionId)), undefined, [200, 409]);
      if (res.status === 200) {
        const bytes = await readBounded(res, PublicBodyLimits.publicKey);
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        const stored = res.headers.get(PublicHeaders.contentSha256);
        if (stored !== null && stored !== sha256) {
          throw new PartyError('invalid_response', 'the public key does not match the SHA-256 the gateway stored for it');
        }
        return { bytes, sha256 };
      }
      const error = await this.errorOf(res);
      if (error.code !== 'public_key_not_ready') throw error;
      const delay = Math.min(pollDelay(res, Math.min(poll, 4)), 2_000);
      if (Date.now() + delay > deadline) {
        throw new PartyError('public_key_timeout', `the session's public key was not uploaded within ${Math.round(waitMs / 1000)} s`, {
          retriable: true,
        });
      }
      await sleep(delay, this.signal);
    }
  }

  /** `PUT /v1/sessions/:sessionId/inputs/:party` with a `compact-list` body. */
  async uploadInputs(sessionId: string, party: Party, body: CompactListInputs): Promise<InputsAccepted> {
    const res = await this.request('PUT', publicPath.inputs(checkedSessionId(sessionId), party), JSON.stringify(body));
    return this.json(res, InputsAccepted, 'upload receipt');
  }

  /** One call with retries; a non-`ok` status outside `accept` becomes a PartyError. */
  private async request(method: string, path: string, body?: string, accept: readonly number[] = []): Promise<Response> {
    const url = new URL(path, this.base);
    const headers: Record<string, string> = {
      [PublicHeaders.partyKey]: this.partyKey,
      accept: 'application/json, application/octet-stream',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let waited = 0;
    for (let attempt = 0; ; attempt++) {
      let res: Response | undefined;
      try {
        res = await this.fetchImpl(url, { method, headers, body, signal: this.signal, redirect: 'error' });
      } catch (e) {
        if (this.signal?.aborted) throw new PartyError('aborted', 'cancelled');
        const delay = nextRetryDelay(this.retry, attempt, waited, undefined);
        if (delay === undefined) {
          throw new PartyError('network', `${method} ${url.pathname}: the gateway cannot be reached (${(e as Error).message})`, {
            retriable: true,
          });
        }
        waited += delay;
        await sleep(delay, this.signal);
        continue;
      }
      if (res.ok || accept.includes(res.status)) return res;
      const delay = isRetriableStatus(res.status)
        ? nextRetryDelay(this.retry, attempt, waited, parseRetryAfter(res.headers.get(PublicHeaders.retryAfter)))
        : undefined;
      if (delay === undefined) throw await this.errorOf(res);
      await res.body?.cancel();
      waited += delay;
      await sleep(delay, this.signal);
    }
  }

  private async json<T>(res: Response, schema: z.ZodType<T>, what: string): Promise<T> {
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder().decode(await readBounded(res, MAX_JSON_BYTES)));
    } catch (e) {
      if (e instanceof PartyError) throw e;
      throw new PartyError('invalid_response', `the gateway's ${what} is not JSON`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      throw new PartyError(
        'invalid_response',
        `the gateway's ${what} does not match the protocol: ${parsed.error.issues[0]?.message ?? ''}`,
      );
    return parsed.data;
  }

  /** The gateway's `{ code, message }` error body as a PartyError (or `invalid_response`). */
  private async errorOf(res: Response): Promise<PartyError> {
    let body: ErrorBody | undefined;
    try {
      body = ErrorBody.parse(JSON.parse(new TextDecoder().decode(await readBounded(res, MAX_JSON_BYTES))));
    } catch {
      // Not the gateway's own answer (a proxy's or dev server's page): retriable when its status is.
      return new PartyError('invalid_response', `the gateway answered HTTP ${res.status} without an error body`, {
        status: res.status,
        ...(isRetriableStatus(res.status) ? { retriable: true } : {}),
      });
    }
    return new PartyError(body.code, body.message, {
      status: res.status,
      ...(body.retriable === undefined ? {} : { retriable: body.retriable }),
      ...(body.requestId === undefined ? {} : { requestId: body.requestId }),
      ...(body.details === undefined ? {} : { details: body.details }),
    });
  }
}

function checkedSessionId(sessionId: string): string {
  if (!SessionId.safeParse(sessionId).success) throw new PartyError('invalid_options', 'sessionId must be the 22-character session id');
  return sessionId;
}
