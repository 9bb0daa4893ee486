/**
 * Token buckets in a Durable Object, one object per limited subject (an IP, a tenant), so every
 * Worker isolate sees the same count. Buckets live in memory: an evicted object starts full
 * again, which errs on the side of letting requests through.
 *
 * The same object also counts slots: named holders (sessions) of a pool, at most `limit` at a
 * time. Slots are in durable storage, since an evicted object that forgot them would let a
 * flood through; each carries its holder's expiry, so a slot whose release was lost lapses
 * with the session. One object handles one call at a time between storage operations, so a
 * count and the put that follows it cannot interleave with another caller's.
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

const SLOT_PREFIX = 'slot:';
/** Keys per storage.delete call (the Durable Object limit). */
const DELETE_BATCH = 128;

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

  /**
   * Takes a slot of `pool` for `holder` until `until` (ms since the epoch), if fewer than
   * `limit` other holders hold one; a holder that already has a slot keeps it (and its new
   * expiry). Refused: the seconds until the soonest other slot lapses at the latest.
   */
  async acquireSlot(pool: string, holder: string, until: number, limit: number): Promise<TakeResult> {
    const now = Date.now();
    const prefix = `${SLOT_PREFIX}${pool}:`;
    const mine = prefix + holder;
    const held = await this.ctx.storage.list<number>({ prefix });
    const lapsed: string[] = [];
    let others = 0;
    let soonest = Number.POSITIVE_INFINITY;
    for (const [key, expiresAt] of held) {
      if (key === mine) continue;
      if (expiresAt <= now) lapsed.push(key);
      else {
        others += 1;
        soonest = Math.min(soonest, expiresAt);
      }
    }
    for (let i = 0; i < lapsed.length; i += DELETE_BATCH) await this.ctx.storage.delete(lapsed.slice(i, i + DELETE_BATCH));
    if (!held.has(mine) && others >= limit) {
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((soonest - now) / 1000)) };
    }
    await this.ctx.storage.put(mine, until);
    return { allowed: true, retryAfterSeconds: 0 };
  }

  /** Gives a holder's slot of `pool` back (nothing if it holds none). */
  async releaseSlot(pool: string, holder: string): Promise<void> {
    await this.ctx.storage.delete(`${SLOT_PREFIX}${pool}:${holder}`);
  }
}
