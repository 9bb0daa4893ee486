/**
 * The evaluator's rules, independent of HTTP: session lifecycle, what a session may hold and
 * when, admission against the memory budget, and running the circuit through the job queue.
 * Routes call these methods and serialize what they return.
 */
import { ApiError } from '../../protocol/errors.ts';
import {
  EncryptedResult,
  type CreateSessionRequest,
  type InputsAccepted,
  type Party,
  type PartyUpload,
  type ReadyResponse,
  type RunProgress,
  type ServerKeyAccepted,
  type SessionStatus,
  EvaluatorApiError,
} from '../../protocol/evaluator-api.ts';
import { deferredCollector } from '../circuit/reclaim-memory.ts';
import type { BackendProgress, EvaluationBackend, Precomputed } from './backend.ts';
import type { EvaluatorConfig } from './config.ts';
import { ExpandedKeyCache } from './keys/expanded-key-cache.ts';
import { MemoryBudget, type StoredReservation } from './keys/memory-budget.ts';
import type { ServerKeyFrame } from '../../protocol/server-key.ts';
import type { Logger } from './log.ts';
import { JobQueue } from './jobs/job-queue.ts';
import { isTerminal, type Session } from './sessions/session.ts';
import { SessionStore, type EndReason } from './sessions/store.ts';

/** Expected resident size of one expanded key until one is measured (spec: ~120–130 MB). */
const INITIAL_EXPANDED_KEY_ESTIMATE = 160 * 1024 * 1024;
/**
 * Most precomputations one session may start (each new set of early inputs starts one): bounds
 * the work a party can cause by re-uploading without ever asking for a run.
 */
const MAX_PRECOMPUTATIONS_PER_SESSION = 8;
/** How long a request to reclaim freed memory waits, so a run's end and its session's deletion share one collection. */
const RECLAIM_DELAY_MS = 100;

export type ServiceConfig = Pick<
  EvaluatorConfig,
  'maxConcurrentRuns' | 'maxQueuedRuns' | 'sessionTtlMs' | 'memoryBudgetBytes' | 'preexpandKeys' | 'shutdownGraceMs'
>;

export interface EvaluatorServiceOptions<K> {
  config: ServiceConfig;
  backend: EvaluationBackend<K>;
  log: Logger;
  now?: () => number;
}

export class EvaluatorService<K = unknown> {
  readonly budget: MemoryBudget;
  private readonly store: SessionStore;
  private readonly keys: ExpandedKeyCache<K>;
  private readonly queue: JobQueue;
  private readonly backend: EvaluationBackend<K>;
  private readonly log: Logger;
  private readonly config: ServiceConfig;
  /** Collects garbage soon after keys or session data were let go (see `circuit/reclaim-memory.ts`). */
  private readonly reclaim = deferredCollector(RECLAIM_DELAY_MS);
  private shuttingDown = false;
  /** Precomputations in flight in the whole service (see `precompute`). */
  private precomputing = 0;

  constructor(opts: EvaluatorServiceOptions<K>) {
    this.config = opts.config;
    this.backend = opts.backend;
    this.log = opts.log;
    this.budget = new MemoryBudget(opts.config.memoryBudgetBytes, () => opts.config.maxConcurrentRuns * this.keys.estimateBytes);
    this.keys = new ExpandedKeyCache<K>({
      expand: (bytes) => this.backend.expandServerKey(bytes),
      budget: this.budget,
      log: this.log,
      initialEstimateBytes: INITIAL_EXPANDED_KEY_ESTIMATE,
      onRelease: this.reclaim,
      onExpanded: (sessionId) => this.onKeyExpanded(sessionId),
    });
    this.queue = new JobQueue({
      concurrency: opts.config.maxConcurrentRuns,
      maxQueued: opts.config.maxQueuedRuns,
      onQueueChange: (ids) => this.onQueueChange(ids),
    });
    this.store = new SessionStore({
      ttlMs: opts.config.sessionTtlMs,
      budget: this.budget,
      onEnd: (s, reason) => this.onSessionEnd(s, reason),
      ...(opts.now ? { now: opts.now } : {}),
    });
  }

  get model() {
    return this.backend.model;
  }

  /** Counters for logs and benchmarks (no session data). */
  stats() {
    return {
      sessions: this.store.size,
      queuedRuns: this.queue.queuedCount,
      runningRuns: this.queue.runningCount,
      storedBytes: this.budget.stored,
      expandedBytes: this.budget.expanded,
      keys: this.keys.stats(),
    };
  }

  readiness(): ReadyResponse {
    const checks = { model: true, workers: this.backend.ready(), accepting: !this.shuttingDown && this.queue.accepting };
    return { ready: checks.model && checks.workers && checks.accepting, checks };
  }

  createSession(id: string, req: CreateSessionRequest): { status: SessionStatus; created: boolean } {
    this.refuseWhenShuttingDown();
    if (req.modelVersion !== this.model.modelVersion) {
      throw new EvaluatorApiError(409, 'model_version_mismatch', 'the session was prepared for another model version', {
        details: { served: this.model.modelVersion },
      });
    }
    const { session, created } = this.store.create(id, req.modelVersion, req.ttlSeconds === undefined ? undefined : req.ttlSeconds * 1000);
    return { status: this.status(session), created };
  }

  sessionStatus(id: string): SessionStatus {
    return this.status(this.store.get(id));
  }

  deleteSession(id: string): void {
    this.store.delete(id);
  }

  /**
   * Admits a server key of up to `bytes` to a session before any byte is read, and reserves
   * those bytes in the memory budget until {@link acceptServerKey} takes them over. The caller
   * must release the reservation when the upload ends (releasing after acceptance does nothing),
   * so a failed or abandoned upload gives its bytes back.
   * @throws {ApiError} 409 `server_key_exists`, 503 `memory_exhausted` or `shutting_down`
   */
  reserveServerKey(id: string, bytes: number): StoredReservation {
    this.refuseWhenShuttingDown();
    const session = this.store.get(id);
    if (session.serverKey) throw new EvaluatorApiError(409, 'server_key_exists', 'this session already has a server key');
    const reservation = this.budget.tryReserve(bytes);
    if (reservation === undefined) {
      throw new EvaluatorApiError(503, 'memory_exhausted', 'the evaluator has no memory for another key now', { retriable: true });
    }
    return reservation;
  }

  /** Stores a key whose frame was checked while it streamed, charging it to its reservation. */
  acceptServerKey(id: string, bytes: Uint8Array, frame: ServerKeyFrame, reservation: StoredReservation): ServerKeyAccepted {
    const session = this.store.get(id);
    if (session.serverKey) throw new EvaluatorApiError(409, 'server_key_exists', 'this session already has a server key');
    if (frame.paramSet !== this.model.paramSet) {
      throw this.keyRefused(
        id,
        new EvaluatorApiError(
          422,
          'key_parameter_mismatch',
          `server key is for ${frame.paramSet ?? 'an unsupported parameter set'}, the model uses ${this.model.paramSet}`,
          { details: { expected: this.model.paramSet, ...(frame.paramSet ? { received: frame.paramSet } : {}) } },
        ),
      );
    }
    this.store.adopt(session, reservation, bytes.length);
    session.serverKey = { bytes, paramSet: frame.paramSet };
    session.keyRefusal = undefined;
    if (this.config.preexpandKeys) this.keys.prefetch(id, bytes);
    this.precompute(session);
    return { bytes: bytes.length, paramSet: frame.paramSet };
  }

  putInputs(id: string, party: Party, inputs: PartyUpload, bodyBytes: number): InputsAccepted {
    this.refuseWhenShuttingDown();
    const session = this.store.get(id);
    if (inputs.party !== party) {
      throw new EvaluatorApiError(400, 'party_mismatch', `body is for party ${inputs.party}, path is for ${party}`);
    }
    if (inputs.modelVersion !== session.modelVersion) {
      throw new EvaluatorApiError(409, 'model_version_mismatch', 'inputs were encrypted for another model version');
    }
    const state = session.progress.state;
    if (state === 'queued' || state === 'running') {
      throw new EvaluatorApiError(409, 'run_started', 'inputs cannot change while a run is queued or running');
    }
    this.backend.checkInputs(inputs);
    // New inputs after a run ended make the next run: the previous result no longer applies.
    if (state === 'succeeded') {
      if (session.result) this.store.account(session, -session.result.bytes);
      session.nextRun();
    }
    this.store.account(session, bodyBytes - (session.inputs.get(party)?.bytes ?? 0));
    session.inputs.set(party, { value: inputs, bytes: bodyBytes });
    // Work done ahead with this party's earlier inputs is of no use any more.
    if (session.precomputed?.value.inputs.has(party)) this.dropPrecomputed(session);
    this.precompute(session);
    const required = this.model.parties;
    return { party, received: required.filter((p) => session.inputs.has(p)), missing: session.missingParties(required) };
  }

  /**
   * Enqueues the session's run. Idempotent while it is queued, running or done; a failed run may
   * be started again.
   */
  startRun(id: string): { progress: RunProgress; started: boolean } {
    const session = this.store.get(id);
    if (session.progress.state !== 'idle' && session.progress.state !== 'failed') {
      return { progress: session.progress, started: false };
    }
    if (!session.serverKey) throw new EvaluatorApiError(409, 'missing_server_key', 'the server key has not been uploaded');
    const missingParties = session.missingParties(this.model.parties);
    if (missingParties.length > 0) {
      throw new EvaluatorApiError(409, 'missing_inputs', `inputs missing from: ${missingParties.join(', ')}`, {
        details: { missingParties },
      });
    }
    // submit() throws queue_full / shutting_down before anything changes.
    const outcome = this.queue.submit(id, (signal) => this.execute(session, signal));
    if (session.progress.state === 'idle' || session.progress.state === 'failed') {
      session.setProgress({
        state: 'queued',
        stage: 'queued',
        completed: 0,
        total: 0,
        fraction: 0,
        queuePosition: this.queue.position(id) ?? 0,
      });
    }
    outcome.then(
      () => {},
      (err: unknown) => this.fail(session, err),
    );
    return { progress: session.progress, started: true };
  }

  result(id: string): EncryptedResult {
    const session = this.store.get(id);
    if (session.result) return session.result.value;
    if (session.progress.state === 'failed') {
      throw new EvaluatorApiError(500, 'run_failed', 'the run failed; start it again', {
        retriable: true,
        details: { error: session.progress.error },
      });
    }
    throw new EvaluatorApiError(409, 'result_not_ready', `the run is ${session.progress.state}`, {
      retriable: session.progress.state !== 'idle',
    });
  }

  /** Current progress now and every change after, until the run ends or the session does. */
  subscribe(id: string, fn: (p: RunProgress) => void): { current: RunProgress; unsubscribe: () => void } {
    const session = this.store.get(id);
    return { current: session.progress, unsubscribe: session.subscribe(fn) };
  }

  /** Graceful shutdown: refuse new work, let runs finish within the grace period, free everything. */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.log.info(this.stats(), 'shutting down');
    await this.queue.close(this.config.shutdownGraceMs);
    this.store.close();
    await this.backend.close();
  }

  private async execute(session: Session, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    const key = session.serverKey;
    const compressed = key?.bytes;
    if (!key || !compressed) throw new EvaluatorApiError(409, 'missing_server_key', 'the server key has not been uploaded');
    session.setProgress({ state: 'running', stage: 'expanding_key', completed: 0, total: 0, fraction: 0 });
    const lease = await this.keys.acquire(session.id, compressed);
    const keyMs = performance.now() - started;
    try {
      signal.throwIfAborted();
      const inputs = Object.fromEntries([...session.inputs].map(([p, v]) => [p, v.value])) as Record<Party, PartyUpload>;
      const value = await this.backend
        .run({
          key: lease.key,
          inputs,
          signal,
          onProgress: this.progressReporter(session),
          ...(session.precomputed ? { precomputed: session.precomputed.value } : {}),
        })
        .catch((e: unknown) => {
          // A cancelled run fails with the reason it was cancelled for (expired, deleted, shutdown).
          signal.throwIfAborted();
          throw e;
        });
      signal.throwIfAborted();
      const checked = EncryptedResult.parse(value);
      const bytes = JSON.stringify(checked).length;
      this.store.account(session, bytes);
      session.result = { value: checked, bytes };
      session.setProgress({ state: 'succeeded', stage: 'done', completed: 1, total: 1, fraction: 1 });
      this.log.info(
        {
          sessionId: session.id,
          keyMs: Math.round(keyMs),
          expandedNow: lease.expandedNow,
          runMs: Math.round(performance.now() - started - keyMs),
        },
        'run succeeded',
      );
    } finally {
      // The expanded key stays cached for the session's next run (evicted when memory is short).
      lease.release();
    }
  }

  /** Turns backend progress into monotone, throttled run progress (at most ~100 events). */
  private progressReporter(session: Session): (p: BackendProgress) => void {
    let last = session.progress;
    return ({ stage, completed, total }) => {
      const fraction = Math.max(last.fraction, total > 0 ? Math.min(1, completed / total) : 0);
      if (stage === last.stage && fraction - last.fraction < 0.01 && completed !== total) return;
      last = { state: 'running', stage, completed, total, fraction };
      session.setProgress(last);
    };
  }

  /**
   * Starts, best effort, the part of the next run that the inputs present so far determine
   * (`EvaluationBackend.precompute`), while some party's inputs are still missing: never a whole
   * run before it is asked for. Only on a key already expanded (a precomputation never expands
   * or evicts a key: it starts when the key's expansion ends, if the inputs are there), at most
   * `maxConcurrentRuns` at once in the service and {@link MAX_PRECOMPUTATIONS_PER_SESSION} per
   * session. Replaces one over fewer uploads. Failures only mean the run does it all.
   */
  private precompute(session: Session): void {
    const present = new Map([...session.inputs].map(([party, v]) => [party, v.value]));
    const current = session.precomputed?.value;
    const state = session.progress.state;
    if (
      this.shuttingDown ||
      !session.serverKey ||
      present.size === 0 ||
      session.missingParties(this.model.parties).length === 0 ||
      state === 'queued' ||
      state === 'running' ||
      (current !== undefined && current.inputs.size === present.size) ||
      session.precomputations >= MAX_PRECOMPUTATIONS_PER_SESSION ||
      this.precomputing >= this.config.maxConcurrentRuns
    ) {
      return;
    }
    const lease = this.keys.lease(session.id);
    if (lease === undefined) return;
    const t0 = performance.now();
    let started: Precomputed | undefined;
    try {
      started = this.backend.precompute({ key: lease.key, inputs: present });
      if (started !== undefined) this.store.account(session, started.bytes);
    } catch (err) {
      started?.cancel();
      started = undefined;
      this.log.warn({ sessionId: session.id, err: errorName(err) }, 'precomputation not started');
    }
    if (started === undefined) {
      lease.release();
      return;
    }
    const value = started;
    session.precomputations++;
    this.precomputing++;
    this.dropPrecomputed(session); // over fewer parties' inputs
    session.precomputed = { value, bytes: value.bytes };
    value.done
      .then(
        () =>
          this.log.info(
            {
              sessionId: session.id,
              parties: [...value.inputs.keys()],
              bootstraps: value.bootstraps,
              ms: Math.round(performance.now() - t0),
            },
            'precomputed',
          ),
        (err: unknown) => {
          if (session.precomputed?.value === value) this.dropPrecomputed(session);
          this.log.debug({ sessionId: session.id, err: errorName(err) }, 'precomputation stopped');
        },
      )
      .finally(() => {
        this.precomputing--;
        lease.release();
      });
  }

  /** A session's key is expanded: work ahead of its run may start now. */
  private onKeyExpanded(sessionId: string): void {
    try {
      this.precompute(this.store.get(sessionId));
    } catch {
      // The session ended meanwhile: nothing to do.
    }
  }

  /** Cancels and forgets the session's precomputation, giving its memory back. */
  private dropPrecomputed(session: Session): void {
    const p = session.precomputed;
    if (!p) return;
    session.precomputed = undefined;
    p.value.cancel();
    this.store.account(session, -p.bytes);
  }

  private fail(session: Session, err: unknown): void {
    if (isTerminal(session.progress) && session.progress.state === 'failed') return;
    const apiError =
      err instanceof ApiError
        ? err
        : new EvaluatorApiError(500, 'run_failed', 'the run failed', { details: { cause: err instanceof Error ? err.name : 'unknown' } });
    if (!(err instanceof ApiError))
      this.log.error({ sessionId: session.id, err: errorName(err), stack: (err as Error)?.stack }, 'run failed');
    else this.log.warn({ sessionId: session.id, code: apiError.code }, 'run failed');
    session.setProgress({ ...session.progress, state: 'failed', stage: 'failed', error: apiError.toBody() });
  }

  private onQueueChange(ids: readonly string[]): void {
    ids.forEach((id, i) => {
      let session: Session;
      try {
        session = this.store.get(id);
      } catch {
        return;
      }
      if (session.progress.state === 'queued' && session.progress.queuePosition !== i) {
        session.setProgress({ ...session.progress, queuePosition: i });
      }
    });
  }

  private onSessionEnd(session: Session, reason: EndReason): void {
    const error =
      reason === 'expired'
        ? new EvaluatorApiError(410, 'session_expired', 'session expired and its data was deleted')
        : reason === 'deleted'
          ? new EvaluatorApiError(404, 'session_not_found', 'session was deleted')
          : new EvaluatorApiError(503, 'shutting_down', 'the evaluator is shutting down', { retriable: true });
    this.queue.cancel(session.id, error);
    this.keys.drop(session.id);
    this.reclaim(); // the session's compressed key and ciphertexts
    // Wake progress streams so they close with the reason.
    if (!isTerminal(session.progress))
      session.setProgress({ ...session.progress, state: 'failed', stage: 'failed', error: error.toBody() });
    this.log.info({ sessionId: session.id, reason }, 'session ended');
  }

  /**
   * Records why a key upload was refused (the caller's upload may have been cut short before it
   * could read the answer: it reads the status instead); returns the error to throw.
   */
  keyRefused(id: string, error: ApiError): ApiError {
    try {
      this.store.get(id).keyRefusal = error.toBody();
    } catch {
      // The session is gone: nothing to record.
    }
    return error;
  }

  private status(session: Session): SessionStatus {
    return session.status(this.model.parties, session.serverKey ? this.keys.state(session.id) : 'none');
  }

  private refuseWhenShuttingDown(): void {
    if (this.shuttingDown) throw new EvaluatorApiError(503, 'shutting_down', 'the evaluator is shutting down', { retriable: true });
  }
}

function errorName(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : 'unknown error';
}
