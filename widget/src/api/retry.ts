/**
 * When and how long to wait before trying a request again: on the gateway's 429 and 503 (which
 * carry `Retry-After`), on 502/504 and on network errors. Exponential backoff with full jitter
 * (a random wait between 0 and the cap, so a burst of pages that failed together does not retry
 * together), never shorter than the server's `Retry-After`, bounded in attempts and in wait.
 */
import { isRetriableStatus } from '../../../protocol/retry.ts';
import { BlindScoreError } from '../errors.ts';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Backoff cap of the first retry; doubles each retry up to {@link RetryPolicy.maxDelayMs}. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the error goes to the caller. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 8_000, maxRetryAfterMs: 30_000 };

/** Whether `e` may succeed when the same (idempotent) request is sent again unchanged. */
export function isTransient(e: unknown): boolean {
  if (!(e instanceof BlindScoreError)) return false;
  if (e.code === 'network_error') return true;
  return e.status !== undefined && isRetriableStatus(e.status);
}

/** `Retry-After` (seconds, or an HTTP date) in milliseconds, or `undefined` when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The wait before retry number `retry` (1 = the first retry) of an error, or `null` when the
 * error should go to the caller (not transient, out of attempts, or a `Retry-After` too long).
 */
export function retryDelayMs(e: unknown, retry: number, policy: RetryPolicy = DEFAULT_RETRY, random = Math.random): number | null {
  if (!isTransient(e) || retry >= policy.attempts) return null;
  const retryAfter = (e as BlindScoreError).retryAfterMs;
  if (retryAfter !== undefined && retryAfter > policy.maxRetryAfterMs) return null;
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  const jittered = random() * cap;
  // A server asking for a wait gets at least that, plus a little jitter so the burst spreads.
  return retryAfter === undefined ? jittered : retryAfter + jittered / 4;
}

/**
 * Waits `ms`, or less when `wake` fires first (the browser came back online, or the network
 * changed: worth trying at once). Rejects with `cancelled` when `signal` aborts.
 */
export function pause(ms: number, signal?: AbortSignal, wake?: EventTarget[]): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new BlindScoreError('cancelled', 'cancelled'));
      return;
    }
    const cleanUp = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      for (const t of wake ?? []) {
        t.removeEventListener('online', done);
        t.removeEventListener('change', done);
      }
    };
    const done = () => {
      cleanUp();
      resolve();
    };
    const onAbort = () => {
      cleanUp();
      reject(new BlindScoreError('cancelled', 'cancelled'));
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    for (const t of wake ?? []) {
      t.addEventListener('online', done);
      t.addEventListener('change', done);
    }
  });
}

/** Event targets that announce a network worth retrying on: `online`, and `navigator.connection`'s `change`. */
export function networkWakeTargets(): EventTarget[] {
  const targets: EventTarget[] = [];
  if (typeof globalThis.addEventListener === 'function') targets.push(globalThis as unknown as EventTarget);
  const connection = (globalThis.navigator as (Navigator & { connection?: EventTarget }) | undefined)?.connection;
  if (connection && typeof connection.addEventListener === 'function') targets.push(connection);
  return targets;
}

/** Whether the browser says it is offline (then waiting for `online` beats counting retries). */
export function isOffline(): boolean {
  return globalThis.navigator?.onLine === false;
}

/**
 * Runs `attempt` until it succeeds, retrying transient failures per `policy`. While the browser
 * is offline, waits for it to come back without spending attempts.
 */
export async function withRetry<T>(attempt: () => Promise<T>, signal?: AbortSignal, policy: RetryPolicy = DEFAULT_RETRY): Promise<T> {
  for (let retry = 1; ; retry++) {
    try {
      return await attempt();
    } catch (e) {
      if (signal?.aborted) throw new BlindScoreError('cancelled', 'cancelled');
      const delay = retryDelayMs(e, retry, policy);
      if (delay === null) throw e;
      const offline = isOffline();
      await waitForNetwork(delay, signal);
      // Time spent offline is not the gateway failing: it costs no attempt.
      if (offline) retry--;
    }
  }
}

/** Waits `delay`, and longer while offline (until `online`), waking early on a network change. */
export async function waitForNetwork(delay: number, signal?: AbortSignal): Promise<void> {
  const wake = networkWakeTargets();
  await pause(delay, signal, wake);
  while (isOffline()) await pause(60_000, signal, wake);
}
