/**
 * The run queue: bounded length, fixed concurrency, FIFO positions, cancellation, and graceful
 * close (queued jobs fail with `shutting_down`, running ones finish within the grace period or
 * are aborted through their signal).
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../../protocol/errors.ts';
import { JobQueue } from '../../../../evaluator/service/jobs/job-queue.ts';

/** A job that runs until released (or aborted). */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  let started = false;
  const task = async (signal: AbortSignal) => {
    started = true;
    await new Promise<void>((resolve, reject) => {
      void opened.then(resolve);
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    });
    return 'done';
  };
  return {
    task,
    open,
    get started() {
      return started;
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('JobQueue', () => {
  it('runs at most `concurrency` jobs, keeps FIFO positions and refuses past the bound', async () => {
    const positions: string[][] = [];
    const q = new JobQueue({ concurrency: 2, maxQueued: 2, onQueueChange: (k) => positions.push([...k]) });
    const g = [gate(), gate(), gate(), gate()];
    const results = g.map((x, i) => q.submit(`j${i}`, x.task));
    await tick();
    expect(g.map((x) => x.started)).toEqual([true, true, false, false]);
    expect([q.position('j2'), q.position('j3')]).toEqual([0, 1]);
    // Two slots busy with jobs of the assumed 5 s: one should end within 3 s.
    expect(() => q.submit('j4', gate().task)).toThrow(
      expect.objectContaining({
        status: 503,
        code: 'queue_full',
        extra: { retriable: true, details: { maxQueued: 2, retryAfterSeconds: 3 } },
      }),
    );
    g[0]!.open();
    await expect(results[0]).resolves.toBe('done');
    await tick();
    expect(g[2]!.started).toBe(true);
    expect(q.position('j3')).toBe(0);
    expect(positions.at(-1)).toEqual(['j3']);
    for (const x of g) x.open();
    await Promise.all(results);
    expect(q.runningCount + q.queuedCount).toBe(0);
  });

  it('cancels a queued job without running it, and aborts a running one', async () => {
    const q = new JobQueue({ concurrency: 1, maxQueued: 5 });
    const first = gate();
    const second = gate();
    const r1 = q.submit('a', first.task);
    const r2 = q.submit('b', second.task);
    q.cancel('b', new ApiError(404, 'session_not_found', 'gone'));
    await expect(r2).rejects.toMatchObject({ code: 'session_not_found' });
    await tick();
    q.cancel('a', new ApiError(410, 'session_expired', 'expired'));
    await expect(r1).rejects.toMatchObject({ code: 'session_expired' });
    expect(second.started).toBe(false);
  });

  it('closes gracefully: fails queued jobs, lets running ones finish within the grace period', async () => {
    const q = new JobQueue({ concurrency: 1, maxQueued: 5 });
    const running = gate();
    const r1 = q.submit('a', running.task);
    const r2 = q.submit('b', gate().task);
    await tick();
    const closed = q.close(5_000);
    await expect(r2).rejects.toMatchObject({ status: 503, code: 'shutting_down' });
    expect(() => q.submit('c', gate().task)).toThrow(expect.objectContaining({ code: 'shutting_down' }));
    running.open();
    await expect(r1).resolves.toBe('done');
    await closed;
  });

  it('aborts running jobs after the grace period', async () => {
    const q = new JobQueue({ concurrency: 1, maxQueued: 5 });
    const stuck = gate();
    const r1 = q.submit('a', stuck.task);
    await tick();
    const t0 = performance.now();
    await q.close(50);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    await expect(r1).rejects.toMatchObject({ code: 'shutting_down' });
  });
});
