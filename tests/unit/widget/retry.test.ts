/**
 * The widget's retry timing (widget/src/api/retry.ts) and the resumable upload's part layout:
 * which failures are retried, how long the client waits (never less than the server's
 * `Retry-After`, jittered, bounded), and the byte range of each part.
 */
import { describe, expect, it } from 'vitest';
import { SERVER_KEY_UPLOAD } from '../../../protocol/public-api.ts';
import { partRange } from '../../../widget/src/api/resumable-upload.ts';
import { DEFAULT_RETRY, isTransient, parseRetryAfter, pause, retryDelayMs } from '../../../widget/src/api/retry.ts';
import { BlindScoreError } from '../../../widget/src/errors.ts';

const busy = (retryAfterMs?: number) => new BlindScoreError('evaluator_unavailable', 'busy', true, 503, retryAfterMs);

describe('retry', () => {
  it('retries network errors and 429/502/503/504, nothing else', () => {
    expect(isTransient(new BlindScoreError('network_error', 'x', true))).toBe(true);
    for (const status of [429, 502, 503, 504]) expect(isTransient(new BlindScoreError('c', 'x', true, status))).toBe(true);
    for (const status of [400, 401, 404, 409, 410, 413, 422, 500])
      expect(isTransient(new BlindScoreError('c', 'x', false, status))).toBe(false);
    expect(isTransient(new BlindScoreError('cancelled', 'cancelled'))).toBe(false);
    expect(isTransient(new Error('plain'))).toBe(false);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('-1')).toBeUndefined();
    const now = Date.parse('2026-12-01T12:00:00Z');
    expect(parseRetryAfter('Tue, 01 Dec 2026 12:00:05 GMT', now)).toBe(5000);
  });

  it('backs off exponentially with full jitter, capped', () => {
    const e = new BlindScoreError('network_error', 'x', true);
    expect(retryDelayMs(e, 1, DEFAULT_RETRY, () => 0.999)).toBeLessThan(DEFAULT_RETRY.baseDelayMs);
    expect(retryDelayMs(e, 3, DEFAULT_RETRY, () => 0.999)).toBeCloseTo(DEFAULT_RETRY.baseDelayMs * 4 * 0.999);
    expect(retryDelayMs(e, 3, DEFAULT_RETRY, () => 0)).toBe(0);
    const long = { ...DEFAULT_RETRY, attempts: 20 };
    expect(retryDelayMs(e, 15, long, () => 1)).toBe(DEFAULT_RETRY.maxDelayMs);
  });

  it('waits at least the server Retry-After', () => {
    for (const r of [0, 0.5, 1]) {
      const d = retryDelayMs(busy(3000), 1, DEFAULT_RETRY, () => r)!;
      expect(d).toBeGreaterThanOrEqual(3000);
      expect(d).toBeLessThan(3000 + DEFAULT_RETRY.baseDelayMs);
    }
  });

  it('gives up past the attempts, on a Retry-After too long, and on errors a retry cannot fix', () => {
    expect(retryDelayMs(busy(), DEFAULT_RETRY.attempts)).toBeNull();
    expect(retryDelayMs(busy(DEFAULT_RETRY.maxRetryAfterMs + 1), 1)).toBeNull();
    expect(retryDelayMs(new BlindScoreError('invalid_part_size', 'x', false, 400), 1)).toBeNull();
  });

  it('wakes early on online or a network change, and rejects when cancelled', async () => {
    const target = new EventTarget();
    const started = performance.now();
    const waiting = pause(60_000, undefined, [target]);
    target.dispatchEvent(new Event('online'));
    await waiting;
    expect(performance.now() - started).toBeLessThan(1000);

    const abort = new AbortController();
    const cancelled = pause(60_000, abort.signal);
    abort.abort();
    await expect(cancelled).rejects.toMatchObject({ code: 'cancelled' });
  });
});

describe('part layout', () => {
  it('cuts a 30 MB key into 5 MiB parts and a shorter last one', () => {
    const total = 30_146_816;
    const partSize = SERVER_KEY_UPLOAD.partSize;
    const partCount = Math.ceil(total / partSize);
    expect(partCount).toBe(6);
    const ranges = Array.from({ length: partCount }, (_, i) => partRange({ partSize, partCount }, i + 1, total));
    expect(ranges[0]).toEqual([0, partSize]);
    expect(ranges.at(-1)).toEqual([5 * partSize, total]);
    // Contiguous, covering every byte once.
    for (const [i, [start]] of ranges.entries()) expect(start).toBe(i === 0 ? 0 : ranges[i - 1]![1]);
  });
});
