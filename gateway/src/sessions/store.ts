/**
 * Reaching Durable Objects from the Worker. Stubs are typed by the objects' public methods:
 * their results are plain data (records, strings, numbers), which Workers RPC copies as is.
 */
import type { Bindings } from '../env.ts';
import type { RateLimiter } from '../rate-limit/object.ts';
import type { SessionObject } from './object.ts';

type Methods<T, K extends keyof T> = { [P in K]: T[P] };

export type SessionApi = Methods<
  SessionObject,
  'create' | 'authenticate' | 'status' | 'keyRef' | 'commitKey' | 'mayUploadInputs' | 'commitInputs' | 'prepare' | 'run' | 'progress' | 'result' | 'remove'
>;
export type RateLimiterApi = Methods<RateLimiter, 'take'>;

/** The stub of a session's object (its id is derived from the random session id). */
export function sessionStub(env: Bindings, sessionId: string): SessionApi {
  return env.SESSIONS.get(env.SESSIONS.idFromName(sessionId)) as unknown as SessionApi;
}

/** The rate limiter object of one subject (`ip:…`, `tenant:…`). */
export function rateLimiterStub(env: Bindings, subject: string): RateLimiterApi {
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(subject)) as unknown as RateLimiterApi;
}
