/**
 * The gateway's one `Env`: Worker bindings (wrangler.toml and secrets) and the per-request
 * variables its middleware sets. Every module types `c.env` and `c.get(...)` from here.
 */
import type { Party } from '../../protocol/ciphertexts.ts';
import type { DurableObjectNamespace, R2Bucket } from './platform.ts';
import type { SessionObject } from './sessions/object.ts';
import type { RateLimiter } from './rate-limit/object.ts';
import type { EvaluatorContainer } from './evaluator/container.ts';
import type { Tenant } from '../../protocol/tenants.ts';
import type { SessionCredential } from './sessions/access.ts';

export interface Bindings {
  /** One Durable Object per session: state machine, TTL alarm. */
  SESSIONS: DurableObjectNamespace<SessionObject>;
  /** Token buckets for per-IP and per-tenant limits. */
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  /** Server keys, public keys, party inputs and results. */
  BLOBS: R2Bucket;
  /** Production: the evaluator as a Cloudflare Container (`[env.production]`). */
  EVALUATOR?: DurableObjectNamespace<EvaluatorContainer>;
  /** Local development: the evaluator's base URL (used when `EVALUATOR` is absent). */
  EVALUATOR_URL?: string;
  /** HMAC key shared with the evaluator (secret; ≥ 32 bytes). */
  EVALUATOR_SHARED_SECRET?: string;
  /** Container instances sessions are spread over (production), default 1. */
  EVALUATOR_INSTANCES?: string;
  /** Tenants as JSON (secret in production; see protocol/tenants.ts). */
  TENANTS?: string | object;
  /** Per-IP limits (see config/settings.ts). */
  IP_RATE_LIMITS?: string | object;
}

/** Who is calling, once a session route has authenticated the request. */
export interface SessionContext {
  sessionId: string;
  credential: SessionCredential;
  /** The model version the session was created for. */
  modelVersion: string;
  /** The party a party key speaks for (absent for the session token). */
  party?: Party;
}

export interface Variables {
  requestId: string;
  /** The tenant the request authenticated as (publishable key, party key or session). */
  tenant: Tenant;
  session: SessionContext;
}

export interface AppEnv {
  Bindings: Bindings;
  Variables: Variables;
}
