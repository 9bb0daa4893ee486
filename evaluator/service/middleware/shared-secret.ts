/**
 * Authenticates the gateway: every request must carry a valid HMAC-SHA256 signature over this
 * process's boot identity, its method, target, timestamp, nonce and body hash (scheme in
 * `protocol/evaluator-api.ts`). The signature is checked in constant time, then the boot identity
 * (a request signed for an earlier boot of this process or for another instance sharing the
 * secret is refused, whatever any nonce cache remembers), the timestamp against a clock-skew
 * window, and the nonce against those seen within the window in this boot, so a captured request
 * cannot be replayed anywhere. The signed body hash is handed to the body readers, which check it
 * while streaming.
 */
import { createMiddleware } from 'hono/factory';
import {
  EvaluatorRoutes,
  SIGNATURE_MAX_SKEW_SECONDS,
  SignatureHeaders,
  SignatureHeaderValues,
  verifyEvaluatorSignature,
  EvaluatorApiError,
} from '../../../protocol/evaluator-api.ts';
import type { AppEnv } from '../env.ts';

/** Nonces seen recently, forgotten once their timestamp leaves the window. */
export class NonceCache {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly retainMs: number,
    private readonly maxEntries = 1_000_000,
  ) {}

  /** Records a nonce; false if it was already recorded (a replay). */
  add(nonce: string, nowMs: number): boolean {
    this.sweep(nowMs);
    if (this.seen.has(nonce)) return false;
    // Past the bound, drop the oldest (insertion order = age): a flood cannot grow memory.
    if (this.seen.size >= this.maxEntries) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.set(nonce, nowMs + this.retainMs);
    return true;
  }

  private sweep(nowMs: number): void {
    for (const [nonce, expires] of this.seen) {
      if (expires > nowMs) break;
      this.seen.delete(nonce);
    }
  }
}

export interface SharedSecretOptions {
  /** The shared secret as an HMAC key (`importSharedSecret`). */
  key: CryptoKey;
  /** This process's boot identity (`newBootId()` at start), served by `/identity`. */
  bootId: string;
  maxSkewSeconds?: number;
  /** Clock, for tests of the skew window. */
  now?: () => number;
}

/**
 * Middleware that admits only requests signed with the shared secret.
 *
 * @example
 * app.use('/v1/*', sharedSecret({ key: await importSharedSecret(config.sharedSecret), bootId: newBootId() }));
 */
export function sharedSecret(options: SharedSecretOptions) {
  const opts = { maxSkewSeconds: SIGNATURE_MAX_SKEW_SECONDS, now: Date.now, ...options };
  // A nonce must outlive every timestamp that could still pass the skew check.
  const nonces = new NonceCache(2 * opts.maxSkewSeconds * 1000);
  return createMiddleware<AppEnv>(async function sharedSecret(c, next) {
    const parsed = SignatureHeaderValues.safeParse({
      bootId: c.req.header(SignatureHeaders.bootId),
      timestamp: c.req.header(SignatureHeaders.timestamp),
      nonce: c.req.header(SignatureHeaders.nonce),
      contentSha256: c.req.header(SignatureHeaders.contentSha256),
      signature: c.req.header(SignatureHeaders.signature),
    });
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => SignatureHeaders[i.path[0] as keyof typeof SignatureHeaders]);
      throw new EvaluatorApiError(401, 'unauthorized', `missing or malformed signature headers: ${[...new Set(fields)].join(', ')}`);
    }
    const h = parsed.data;
    const url = new URL(c.req.url);
    const ok = await verifyEvaluatorSignature(
      opts.key,
      { method: c.req.method, pathAndQuery: url.pathname + url.search, ...h },
      h.signature,
    );
    if (!ok) throw new EvaluatorApiError(401, 'bad_signature', 'request signature does not verify');
    // Signed by a secret holder, for another process (or this one before a restart): a replay, or a
    // caller that has not yet learned this boot. Either way it re-learns from /identity.
    if (h.bootId !== opts.bootId) {
      throw new EvaluatorApiError(401, 'boot_mismatch', `signed for another evaluator boot; fetch ${EvaluatorRoutes.identity} again`);
    }
    const nowMs = opts.now();
    if (Math.abs(nowMs / 1000 - Number(h.timestamp)) > opts.maxSkewSeconds) {
      throw new EvaluatorApiError(401, 'stale_request', `timestamp is more than ${opts.maxSkewSeconds} s from the evaluator's clock`);
    }
    if (!nonces.add(h.nonce, nowMs)) throw new EvaluatorApiError(401, 'replayed_request', 'nonce was already used');
    c.set('contentSha256', h.contentSha256);
    await next();
  });
}
