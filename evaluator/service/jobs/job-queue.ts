import { EvaluatorApiError } from '../../../protocol/evaluator-api.ts';

/** A unit of work; it should stop soon after `signal` aborts. */
export type JobTask<T> = (signal: AbortSignal) => Promise<T>;

interface Job<T> {
  readonly key: string;
  readonly task: JobTask<T>;
  readonly controller: AbortController;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export interface JobQueueOptions {
  concurrency: number;
  maxQueued: number;
  /** Told whenever positions in the queue change (after a submit, start, cancel or close). */
  onQueueChange?: (queuedKeys: readonly string[]) => void;
  /** Assumed duration of a job until one has finished (default 5 s). */
  initialJobMs?: number;
}

/** Weight of the latest job in the moving average of durations. */
const DURATION_WEIGHT = 0.3;
/** Bounds of the advertised wait, in seconds. */
const RETRY_AFTER_MIN_SECONDS = 1;
const RETRY_AFTER_MAX_SECONDS = 300;

export class JobQueue {
  private readonly queued: Job<unknown>[] = [];
  private readonly running = new Map<string, { job: Job<unknown>; done: Promise<void> }>();
  private closing = false;
  /** Exponential moving average of finished jobs' durations. */
  private jobMs: number;

  constructor(private readonly opts: JobQueueOptions) {
    this.jobMs = opts.initialJobMs ?? 5_000;
  }

  get runningCount(): number {
    return this.running.size;
  }
  get queuedCount(): number {
    return this.queued.length;
  }
  get accepting(): boolean {
    return !this.closing;
  }

  /** Position of a queued job (0 = next to start), or undefined if it is not queued. */
  position(key: string): number | undefined {
    const i = this.queued.findIndex((j) => j.key === key);
    return i < 0 ? undefined : i;
  }

  /**
   * Seconds until a full queue should have a free place: the next running job to end frees a
   * slot, which the first queued job takes. With `concurrency` slots busy, one ends every recent
   * average duration / `concurrency`, on average.
   */
  retryAfterSeconds(): number {
    const seconds = Math.ceil(this.jobMs / this.opts.concurrency / 1000);
    return Math.min(RETRY_AFTER_MAX_SECONDS, Math.max(RETRY_AFTER_MIN_SECONDS, seconds));
  }

  /**
   * Enqueues a job under a unique key (a session id) and returns its outcome.
   * @throws {ApiError} 503 `queue_full` or `shutting_down`, synchronously
   */
  submit<T>(key: string, task: JobTask<T>): Promise<T> {
    if (this.closing) throw new EvaluatorApiError(503, 'shutting_down', 'the evaluator is shutting down', { retriable: true });
    if (this.running.has(key) || this.position(key) !== undefined) {
      // e.g. a deleted session's run still unwinding when a new session reuses its id.
      throw new EvaluatorApiError(409, 'run_started', 'a run for this session is still in progress', { retriable: true });
    }
    const canStartNow = this.running.size < this.opts.concurrency;
    if (!canStartNow && this.queued.length >= this.opts.maxQueued) {
      throw new EvaluatorApiError(503, 'queue_full', `run queue is full (${this.opts.maxQueued} waiting)`, {
        retriable: true,
        details: { maxQueued: this.opts.maxQueued, retryAfterSeconds: this.retryAfterSeconds() },
      });
    }
    return new Promise<T>((resolve, reject) => {
      const job: Job<T> = { key, task, controller: new AbortController(), resolve, reject };
      this.queued.push(job as Job<unknown>);
      this.pump();
    });
  }

  /** Removes a queued job (it fails with `reason`) or aborts a running one. */
  cancel(key: string, reason: unknown): void {
    const i = this.queued.findIndex((j) => j.key === key);
    if (i >= 0) {
      const [job] = this.queued.splice(i, 1);
      job?.reject(reason);
      this.changed();
      return;
    }
    this.running.get(key)?.job.controller.abort(reason);
  }

  /**
   * Stops taking jobs, fails queued ones, waits up to `graceMs` for running ones, then aborts them
   * and waits for them to settle.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    const shutting = new EvaluatorApiError(503, 'shutting_down', 'the evaluator is shutting down', { retriable: true });
    for (const job of this.queued.splice(0)) job.reject(shutting);
    this.changed();
    const allDone = Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      allDone.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    if (!inTime) {
      for (const { job } of this.running.values()) job.controller.abort(shutting);
      await allDone;
    }
  }

  private pump(): void {
    while (this.running.size < this.opts.concurrency && this.queued.length > 0) {
      const job = this.queued.shift()!;
      this.running.set(job.key, { job, done: this.execute(job) });
    }
    this.changed();
  }

  private async execute(job: Job<unknown>): Promise<void> {
    // Let pump() register the job as running before its task can settle.
    await Promise.resolve();
    const started = performance.now();
    try {
      job.resolve(await job.task(job.controller.signal));
      this.jobMs += DURATION_WEIGHT * (performance.now() - started - this.jobMs);
    } catch (err) {
      job.reject(err);
    } finally {
      this.running.delete(job.key);
      if (!this.closing) this.pump();
    }
  }

  private changed(): void {
    this.opts.onQueueChange?.(this.queued.map((j) => j.key));
  }
}
