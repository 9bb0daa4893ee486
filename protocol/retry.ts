/**
 * When a client of the public API retries: which answers are worth another try, and how long to
 * wait. Shared by the party SDK (and fit for the widget): idempotent steps only (uploads are
 * idempotent by design: a byte-identical repeat answers 200 `duplicate`).
 *
 * - Retriable: 429 and 503 (the gateway's `rate_limited`, `too_many_active_sessions`,
 *   `evaluator_unavailable`), 502 and 504, a network failure, and any 503 that is not the
 *   gateway's JSON error (a proxy or dev server in front of it, e.g. wrangler's
 *   "Your worker restarted mid-request" `text/plain`): the request never reached a decision.
 * - The wait: the answer's `retry-after` (delay-seconds or HTTP-date, RFC 9110 §10.2.3) when it
 *   names one, else exponential backoff from {@link RetryPolicy.baseDelayMs}; either way capped
 *   and spread with jitter so that clients that failed together do not return together.
 * - Bounded: at most {@link RetryPolicy.attempts} tries, and at most {@link RetryPolicy.budgetMs}
 *   of waiting between them (a slow 30 MB upload does not eat the budget of its retry).
 *
 * Browser-safe: no dependencies.
 */

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Give up once the waits between tries would add up to more than this many ms. */
  budgetMs: number;
  /** First backoff step when the answer names no wait. */
  baseDelayMs: number;
  /** Longest single wait, whatever `retry-after` says. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 6, budgetMs: 60_000, baseDelayMs: 250, maxDelayMs: 15_000 };

const RETRIABLE_STATUS = new Set([429, 502, 503, 504]);

/** Whether an answer with this status may succeed if the same request is sent again. */
export function isRetriableStatus(status: number): boolean {
  return RETRIABLE_STATUS.has(status);
}

/**
 * The `retry-after` wait in ms: delay-seconds or an HTTP-date; undefined when absent or
 * malformed. `nowMs` is the client's clock (an HTTP-date in the past means now).
 */
export function parseRetryAfter(header: string | null | undefined, nowMs = Date.now()): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^[0-9]{1,6}$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - nowMs) : undefined;
}

/**
 * How long to wait before try `attempt + 2` (`attempt` counts from 0): the server's wait plus up
 * to a quarter more (at least 100 ms of spread, so `retry-after: 0` from many clients is not a
 * stampede), or "equal jitter" exponential backoff (half the step fixed, half random).
 *
 * @param random uniform in [0, 1) (Math.random is fine: this is spreading, not a secret).
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) {
    const spread = Math.max(100, retryAfterMs / 4);
    return Math.min(policy.maxDelayMs, retryAfterMs + random() * spread);
  }
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return step / 2 + random() * (step / 2);
}

/**
 * The wait before the next try, or undefined to stop: out of tries, or the waits so far
 * (`waitedMs`) and this one would pass the budget.
 */
export function nextRetryDelay(
  policy: RetryPolicy,
  attempt: number,
  waitedMs: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number | undefined {
  if (attempt + 1 >= policy.attempts) return undefined;
  const delay = retryDelayMs(policy, attempt, retryAfterMs, random);
  return waitedMs + delay > policy.budgetMs ? undefined : delay;
}
