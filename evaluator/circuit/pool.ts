/**
 * A pool of worker threads that run programmable bootstraps, so that independent bootstraps of a
 * circuit run in parallel. Keys are shared with workers (SharedArrayBuffer), not copied; each
 * worker receives a key once and drops it when the last holder releases it. A holder is a run, or
 * whoever keeps the key for later runs (the evaluator's expanded-key cache holds each cached key,
 * so a session's key stays with the workers from its expansion to its eviction: a run neither
 * re-sends it nor makes the workers set it up again, and no worker collects garbage between runs).
 *
 * Workers start on {@link PbsPool.warm} (the evaluator calls it at start-up, so the first run does
 * not wait for threads to load the engine) or lazily, on the first bootstraps.
 *
 * `size: 0` runs bootstraps inline on the calling thread (no workers): the serial reference.
 * Bootstraps are deterministic, so every pool size gives identical bytes.
 *
 * Batching: bootstraps requested in the same turn of the event loop (a circuit level whose inputs
 * became ready together) are queued first and then handed out in batches, one request per free
 * worker, which runs them with `programmableBootstrapBatch` (one pass over the key per batch, the
 * same bits as one by one). The batch size spreads the queue over all workers: with Q queued and
 * W workers, ⌈Q / (W·r)⌉ per batch where r = ⌈Q / (8·W)⌉ rounds keep batches at most `maxBatch`.
 *
 * Priorities: a `background` bootstrap (work done ahead of a run, such as a session's
 * precomputation) goes to a worker only when no run's bootstrap is queued, in batches of at most
 * {@link BACKGROUND_MAX_BATCH}, so a run that arrives meanwhile waits for at most one short batch.
 *
 * Under tsx or vitest (this file is `.ts`) workers load `pbs-worker.ts` through tsx's loader; in
 * a bundled build they load `pbs-worker.js` from the bundle's directory (override with
 * `workerUrl`).
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import {
  EngineError,
  programmableBootstrap,
  type Ciphertext,
  type EngineErrorCode,
  type LookupTable,
  type ServerKey,
} from '../../fhe/index.ts';
import { CircuitError } from './errors.ts';
import type { BootstrapOutcome, WorkerRequest, WorkerResponse } from './worker-protocol.ts';
import { startWorker, workerEntry } from './worker-thread.ts';

/** The worker entry beside this module: `pbs-worker.ts` from source, `pbs-worker.js` when bundled. */
export const PBS_WORKER_URL = workerEntry(import.meta.url, 'pbs-worker');

/** Largest batch of background bootstraps: bounds how long a run's bootstraps wait behind them. */
export const BACKGROUND_MAX_BATCH = 2;

/** `run`: a run waits for it; `background`: work ahead of a run, taken only when no run's is queued. */
export type BootstrapPriority = 'run' | 'background';

export interface PbsPoolOptions {
  /** Worker threads; 0 runs inline on the calling thread. Default: the machine's available parallelism. */
  size?: number;
  /** The worker entry module. Default: {@link PBS_WORKER_URL}. */
  workerUrl?: URL;
  /** Most bootstraps per worker request, 1..64 (1: no batching). Default 8, the engine's batch. */
  maxBatch?: number;
}

/** Runs bootstraps; see {@link createPbsPool}. */
export interface PbsPool {
  /** Worker threads (0 = inline). */
  readonly size: number;
  /**
   * Bootstraps `ct` with `lut` under `key`, on the next free worker. The key must be acquired.
   * @throws EngineError as the engine refuses; CircuitError `aborted`, `worker_failed`, `pool_closed`.
   */
  bootstrap(key: ServerKey, ct: Ciphertext, lut: LookupTable, signal?: AbortSignal, priority?: BootstrapPriority): Promise<Ciphertext>;
  /** Moves queued `background` bootstraps requested with `signal` to `run` priority: a run now waits for them. */
  promote(signal: AbortSignal): void;
  /** Declares a holder of `key` (a run, or a cache keeping it for later runs); pair with {@link PbsPool.releaseKey}. */
  acquireKey(key: ServerKey): void;
  /** Ends a hold on `key`; when no one holds it any more, workers forget it. */
  releaseKey(key: ServerKey): void;
  /** Starts every worker now (idempotent), so the first run does not wait for them to load. */
  warm(): void;
  /** Keys handed to workers so far (one per worker and key held): what a run on a held key does not add to. */
  readonly keyTransfers: number;
  /** Terminates the workers; queued bootstraps fail with `pool_closed`. */
  close(): Promise<void>;
}

interface Task {
  readonly keyId: number;
  readonly key: ServerKey;
  readonly ct: Ciphertext;
  readonly lut: LookupTable;
  readonly signal: AbortSignal | undefined;
  background: boolean;
  readonly resolve: (ct: Ciphertext) => void;
  readonly reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  /** The request in flight (empty when idle). */
  tasks: Task[];
  taskId: number;
  readonly keys: Set<number>;
}

const abortedError = () => new CircuitError('aborted', 'the run was cancelled');

function revive(msg: Extract<BootstrapOutcome, { ok: false }>): Error {
  if (msg.name === 'EngineError') return new EngineError(msg.code as EngineErrorCode, msg.message);
  return new CircuitError('worker_failed', `bootstrap failed in a worker: ${msg.name}: ${msg.message}`);
}

/** Bootstraps on the calling thread, yielding to the event loop between them. */
class InlinePool implements PbsPool {
  readonly size = 0;
  private closed = false;

  async bootstrap(key: ServerKey, ct: Ciphertext, lut: LookupTable, signal?: AbortSignal): Promise<Ciphertext> {
    await new Promise<void>((r) => setImmediate(r));
    if (this.closed) throw new CircuitError('pool_closed', 'the bootstrap pool is closed');
    if (signal?.aborted) throw abortedError();
    return programmableBootstrap(key, ct, lut);
  }

  promote(): void {}
  acquireKey(): void {}
  releaseKey(): void {}
  warm(): void {}
  readonly keyTransfers = 0;

  async close(): Promise<void> {
    this.closed = true;
  }
}

class WorkerPool implements PbsPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private readonly keyIds = new WeakMap<ServerKey, number>();
  private readonly keyRefs = new Map<number, number>();
  private nextKeyId = 1;
  private nextTaskId = 1;
  private closed = false;
  private pumpScheduled = false;
  keyTransfers = 0;

  constructor(
    readonly size: number,
    private readonly workerUrl: URL,
    private readonly maxBatch: number,
  ) {}

  private keyId(key: ServerKey): number {
    let id = this.keyIds.get(key);
    if (id === undefined) {
      id = this.nextKeyId++;
      this.keyIds.set(key, id);
    }
    return id;
  }

  acquireKey(key: ServerKey): void {
    const id = this.keyId(key);
    this.keyRefs.set(id, (this.keyRefs.get(id) ?? 0) + 1);
  }

  releaseKey(key: ServerKey): void {
    const id = this.keyId(key);
    const refs = (this.keyRefs.get(id) ?? 0) - 1;
    if (refs > 0) {
      this.keyRefs.set(id, refs);
      return;
    }
    this.keyRefs.delete(id);
    for (const slot of this.slots) {
      if (slot.keys.delete(id)) this.post(slot, { type: 'drop', keyId: id });
    }
  }

  warm(): void {
    while (!this.closed && this.slots.length < this.size) this.slots.push(this.spawn());
  }

  bootstrap(
    key: ServerKey,
    ct: Ciphertext,
    lut: LookupTable,
    signal?: AbortSignal,
    priority: BootstrapPriority = 'run',
  ): Promise<Ciphertext> {
    if (this.closed) return Promise.reject(new CircuitError('pool_closed', 'the bootstrap pool is closed'));
    if (signal?.aborted) return Promise.reject(abortedError());
    return new Promise((resolve, reject) => {
      this.queue.push({ keyId: this.keyId(key), key, ct, lut, signal, background: priority === 'background', resolve, reject });
      this.schedulePump();
    });
  }

  promote(signal: AbortSignal): void {
    for (const task of this.queue) if (task.signal === signal) task.background = false;
  }

  /** Pumps once the current turn's bootstraps are all queued, so they can share batches. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      if (!this.closed) this.pump();
    });
  }

  private spawn(): Slot {
    const worker = startWorker(this.workerUrl);
    const slot: Slot = { worker, tasks: [], taskId: 0, keys: new Set() };
    worker.on('message', (msg: WorkerResponse) => this.settle(slot, msg));
    worker.on('error', (e) => this.fail(slot, e));
    worker.on('exit', (code) => this.fail(slot, new Error(`worker exited with code ${code}`)));
    worker.unref();
    return slot;
  }

  private post(slot: Slot, msg: WorkerRequest): void {
    slot.worker.postMessage(msg);
  }

  /** Bootstraps per request for `queued` tasks of one priority (see the module comment). */
  private batchSize(queued: number, maxBatch: number): number {
    if (queued === 0) return 1;
    const rounds = Math.ceil(queued / (maxBatch * this.size));
    return Math.max(1, Math.min(maxBatch, Math.ceil(queued / (rounds * this.size))));
  }

  /**
   * Takes the next batch off the queue: the first live run task (a background one only when no
   * run task is queued) and up to `limit − 1` more of its key and priority. Aborted tasks are
   * dropped on the way.
   */
  private takeBatch(limits: { run: number; background: number }): Task[] {
    for (let i = 0; i < this.queue.length; ) {
      const task = this.queue[i]!;
      if (task.signal?.aborted) {
        this.queue.splice(i, 1);
        task.reject(abortedError());
      } else i++;
    }
    const background = !this.queue.some((t) => !t.background);
    const limit = background ? limits.background : limits.run;
    const batch: Task[] = [];
    for (let i = 0; i < this.queue.length && batch.length < limit; ) {
      const task = this.queue[i]!;
      if (task.background === background && (batch.length === 0 || task.keyId === batch[0]!.keyId)) {
        this.queue.splice(i, 1);
        batch.push(task);
      } else {
        i++;
      }
    }
    return batch;
  }

  private pump(): void {
    const background = this.queue.filter((t) => t.background).length;
    const limits = {
      run: this.batchSize(this.queue.length - background, this.maxBatch),
      background: this.batchSize(background, Math.min(this.maxBatch, BACKGROUND_MAX_BATCH)),
    };
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.tasks.length === 0);
      if (slot === undefined) {
        if (this.slots.length >= this.size) return;
        slot = this.spawn();
        this.slots.push(slot);
      }
      const tasks = this.takeBatch(limits);
      if (tasks.length === 0) return;
      const { keyId, key } = tasks[0]!;
      if (!slot.keys.has(keyId)) {
        this.post(slot, { type: 'key', keyId, key });
        slot.keys.add(keyId);
        this.keyTransfers++;
      }
      slot.tasks = tasks;
      slot.taskId = this.nextTaskId++;
      slot.worker.ref(); // a busy worker keeps the process alive until its answer arrives
      this.post(slot, { type: 'pbs', taskId: slot.taskId, keyId, cts: tasks.map((t) => t.ct), luts: tasks.map((t) => t.lut) });
    }
  }

  private settle(slot: Slot, msg: WorkerResponse): void {
    const tasks = slot.tasks;
    if (tasks.length === 0 || msg.taskId !== slot.taskId) return;
    slot.tasks = [];
    slot.worker.unref();
    tasks.forEach((task, i) => {
      const outcome = msg.outcomes[i];
      if (task.signal?.aborted) task.reject(abortedError());
      else if (outcome === undefined) task.reject(new CircuitError('worker_failed', 'a bootstrap worker answered without this bootstrap'));
      else if (outcome.ok) task.resolve(outcome.ct);
      else task.reject(revive(outcome));
    });
    this.schedulePump();
  }

  /** A worker died: fail its task, replace it (unless closing), carry on with the queue. */
  private fail(slot: Slot, e: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    for (const task of slot.tasks) task.reject(new CircuitError('worker_failed', `a bootstrap worker failed: ${e.message}`));
    slot.tasks = [];
    void slot.worker.terminate();
    if (!this.closed) this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) task.reject(new CircuitError('pool_closed', 'the bootstrap pool is closed'));
    const slots = this.slots.splice(0);
    for (const slot of slots) for (const task of slot.tasks) task.reject(new CircuitError('pool_closed', 'the bootstrap pool is closed'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

/**
 * Creates a bootstrap pool. Workers start lazily, on the first bootstraps.
 * @example
 * const pool = createPbsPool({ size: 2 });
 * try { await runCircuit({ plan, serverKey, inputs, pool }); } finally { await pool.close(); }
 */
export function createPbsPool(options: PbsPoolOptions = {}): PbsPool {
  const size = options.size ?? availableParallelism();
  if (!Number.isInteger(size) || size < 0 || size > 256) {
    throw new CircuitError('invalid_inputs', `pool size must be an integer in 0..256, got ${size}`);
  }
  const maxBatch = options.maxBatch ?? 8;
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 64) {
    throw new CircuitError('invalid_inputs', `maxBatch must be an integer in 1..64, got ${maxBatch}`);
  }
  if (size === 0) return new InlinePool();
  return new WorkerPool(size, options.workerUrl ?? PBS_WORKER_URL, maxBatch);
}
