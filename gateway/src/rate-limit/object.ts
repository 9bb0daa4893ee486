/**
 * Token buckets in a Durable Object, one object per limited subject (an IP, a tenant), so every
 * Worker isolate sees the same count. Buckets live in memory: an evicted object starts full
 * again, which errs on the side of letting requests through.
 */
import { DurableObject } from 'cloudflare:workers';

export interface TakeResult {
  allowed: boolean;
  /** Seconds until one token is available again (0 when allowed). */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class RateLimiter extends DurableObject {
  private readonly buckets = new Map<string, Bucket>();

  /**
   * Takes one token from the named bucket, which holds `perMinute` tokens and refills at
   * `perMinute` per minute.
   */
  async take(bucket: string, perMinute: number): Promise<TakeResult> {
    const now = Date.now();
    const ratePerMs = perMinute / 60_000;
    const b = this.buckets.get(bucket) ?? { tokens: perMinute, updatedMs: now };
    b.tokens = Math.min(perMinute, b.tokens + (now - b.updatedMs) * ratePerMs);
    b.updatedMs = now;
    this.buckets.set(bucket, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true, retryAfterSeconds: 0 };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / ratePerMs / 1000)) };
  }
}
