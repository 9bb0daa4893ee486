/**
 * Reaching Durable Objects from the Worker. Stubs are typed by the objects' public methods:
 * their results are plain data (records, strings, numbers), which Workers RPC copies as is.
 */
import type { Context } from 'hono';
import type { AppEnv, Bindings } from '../env.ts';
import type { RateLimiter } from '../rate-limit/object.ts';
import type { SessionObject } from './object.ts';

type Methods<T, K extends keyof T> = { [P in K]: T[P] };

export type SessionApi = Methods<
  SessionObject,
  | 'create'
  | 'authenticate'
  | 'status'
  | 'keyRef'
  | 'admitServerKey'
  | 'commitKey'
  | 'startUpload'
  | 'uploadStatus'
  | 'beginPart'
  | 'endPart'
  | 'completeUpload'
  | 'mayUploadInputs'
  | 'commitInputs'
  | 'prepare'
  | 'run'
  | 'progress'
  | 'result'
  | 'remove'
>;
export type RateLimiterApi = Methods<RateLimiter, 'take' | 'acquireSlot' | 'releaseSlot'>;

/** The stub of a session's object (its id is derived from the random session id). */
export function sessionStub(env: Bindings, sessionId: string): SessionApi {
  return env.SESSIONS.get(env.SESSIONS.idFromName(sessionId)) as unknown as SessionApi;
}

/** The rate limiter object of one subject (`ip:…`, `tenant:…`). */
export function rateLimiterStub(env: Bindings, subject: string): RateLimiterApi {
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(subject)) as unknown as RateLimiterApi;
}

/**
 * After a key or inputs are stored, lets the session hand what it holds to the evaluator once
 * the response is sent (best effort: the run retries anything that did not make it).
 */
export function prepareInBackground(c: Context<AppEnv>): void {
  const { sessionId, credential } = c.get('session');
  c.executionCtx.waitUntil(
    sessionStub(c.env, sessionId)
      .prepare(credential)
      .catch(() => undefined),
  );
}
