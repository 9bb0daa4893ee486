/**
 * Rate limits as token buckets in the `RATE_LIMITER` Durable Object, one object per subject
 * (`ip:<address>`, `tenant:<id>`). Past the limit: 429 `rate_limited`, retriable, with
 * `retry-after`.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv, Bindings } from '../../env.ts';
import { rateLimiterStub } from '../../sessions/store.ts';
import { PublicApiError } from '../../../../protocol/public-api.ts';

export interface RateLimitOptions {
  /** Bucket name within the subject, e.g. `requests` or `sessions`. */
  bucket: string;
  /** Who is limited; `undefined` skips the limit for this request. */
  subject: (c: Context<AppEnv>) => string | undefined;
  /** Sustained requests per minute (also the burst size). */
  perMinute: (c: Context<AppEnv>) => number;
}

/** The caller's IP as Cloudflare's edge reports it (`cf-connecting-ip`). */
export function clientIp(c: Context<AppEnv>): string | undefined {
  return c.req.header('cf-connecting-ip') ?? undefined;
}

/** Takes one token for `subject`; throws 429 when none is left. */
export async function takeToken(env: Bindings, subject: string, bucket: string, perMinute: number): Promise<void> {
  const result = await rateLimiterStub(env, subject).take(bucket, perMinute);
  if (!result.allowed) {
    throw new PublicApiError(429, 'rate_limited', `Too many requests; retry in ${result.retryAfterSeconds} s.`, {
      retriable: true,
      details: { retryAfterSeconds: result.retryAfterSeconds, limitPerMinute: perMinute },
    });
  }
}

/**
 * @example
 * app.use('/v1/*', rateLimit({ bucket: 'requests', subject: (c) => `ip:${clientIp(c)}`, perMinute: () => 600 }));
 */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler<AppEnv> {
  return async function rateLimitHandler(c, next) {
    const subject = options.subject(c);
    if (subject !== undefined) await takeToken(c.env, subject, options.bucket, options.perMinute(c));
    await next();
  };
}
