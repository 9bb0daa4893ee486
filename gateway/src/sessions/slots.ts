/**
 * Active-session slots: a session that holds (or is uploading) a server key takes one slot of
 * its tenant and one of its uploader's IP (within that tenant), counted in the `RATE_LIMITER`
 * objects of those subjects. Slots are given back when the session is deleted, expires or its
 * run ends; one whose release was lost lapses at the session's expiry.
 */
import type { Bindings } from '../env.ts';
import { fail, ok, type Outcome } from './outcome.ts';
import { rateLimiterStub } from './store.ts';

/** The caps that apply to one upload (the tenant's `activeSessions`). */
export interface SlotLimits {
  perTenant: number;
  perIp: number;
}

/** Who holds a session's slots, as the session record keeps it. */
export interface SlotHold {
  tenantId: string;
  /** The uploader's IP, when the edge reported one. */
  ip?: string;
}

const POOL = 'server-keys';

interface SlotSubject {
  subject: string;
  pool: string;
}

function subjects(hold: SlotHold): SlotSubject[] {
  const tenant = { subject: `tenant:${hold.tenantId}`, pool: POOL };
  // The IP's pool is per tenant, as its cap is the tenant's.
  return hold.ip === undefined ? [tenant] : [tenant, { subject: `ip:${hold.ip}`, pool: `${POOL}:${hold.tenantId}` }];
}

/**
 * Takes the session's slots (a session that already holds them keeps them). On a refusal every
 * slot taken here is given back: 429 `too_many_active_sessions`, retriable, with the seconds
 * until a slot frees at the latest.
 */
export async function acquireSlots(
  env: Bindings,
  sessionId: string,
  hold: SlotHold,
  until: number,
  limits: SlotLimits,
): Promise<Outcome<true>> {
  const taken: SlotSubject[] = [];
  for (const s of subjects(hold)) {
    const limit = s.pool === POOL ? limits.perTenant : limits.perIp;
    const result = await rateLimiterStub(env, s.subject).acquireSlot(s.pool, sessionId, until, limit);
    if (!result.allowed) {
      await Promise.all(taken.map((t) => rateLimiterStub(env, t.subject).releaseSlot(t.pool, sessionId)));
      const scope = s.pool === POOL ? 'this service' : 'this address';
      return fail(
        429,
        'too_many_active_sessions',
        `Too many sessions of ${scope} hold a server key; retry in ${result.retryAfterSeconds} s or end one.`,
        {
          retriable: true,
          details: { retryAfterSeconds: result.retryAfterSeconds, limit },
        },
      );
    }
    taken.push(s);
  }
  return ok(true);
}

/** Gives the session's slots back (best effort: a lost release lapses at the session's expiry). */
export async function releaseSlots(env: Bindings, sessionId: string, hold: SlotHold): Promise<void> {
  await Promise.all(
    subjects(hold).map((s) =>
      rateLimiterStub(env, s.subject)
        .releaseSlot(s.pool, sessionId)
        .catch(() => undefined),
    ),
  );
}
