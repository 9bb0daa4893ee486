/**
 * A Lit reactive controller that owns the element's crypto worker: started on the first request,
 * terminated when the element leaves the page or the applicant cancels. Terminating is the only
 * way to stop a key generation, which is one long wasm call.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { BlindScoreError } from '../errors.ts';
import { spawnCryptoWorker } from './spawn-worker.ts';
import {
  WORKER_RESULT_SCHEMAS,
  WorkerMessage,
  type WorkerRequest,
  type WorkerRequestType,
  type WorkerResults,
  type WorkerStep,
} from './worker-protocol.ts';

type RequestOf<T extends WorkerRequestType> = Omit<Extract<WorkerRequest, { type: T }>, 'id'>;

interface Pending {
  type: WorkerRequestType;
  resolve: (value: unknown) => void;
  reject: (error: BlindScoreError) => void;
  onProgress?: ((step: WorkerStep, fraction: number) => void) | undefined;
}

export class CryptoWorkerController implements ReactiveController {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(host: ReactiveControllerHost) {
    host.addController(this);
  }

  hostConnected(): void {
    // Nothing to do yet: the worker (and tfhe's 5 MB wasm) loads on the first request.
  }

  hostDisconnected(): void {
    this.terminate('the element left the page');
  }

  /** Whether a worker is running (it holds the client key while it lives). */
  get started(): boolean {
    return this.worker !== undefined;
  }

  /** Sends one request; resolves with its parsed result or rejects with a {@link BlindScoreError}. */
  request<T extends WorkerRequestType>(
    request: RequestOf<T> & { type: T },
    onProgress?: (step: WorkerStep, fraction: number) => void,
  ): Promise<WorkerResults[T]> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<WorkerResults[T]>((resolve, reject) => {
      this.pending.set(id, { type: request.type, resolve: resolve as (v: unknown) => void, reject, onProgress });
      worker.postMessage({ ...request, id });
    });
  }

  /** Stops the worker and rejects every pending request with `cancelled`. The client key is lost. */
  cancel(): void {
    this.terminate('cancelled', 'cancelled');
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = spawnCryptoWorker();
    worker.addEventListener('message', (e: MessageEvent<unknown>) => this.handleMessage(e.data));
    worker.addEventListener('error', (e: ErrorEvent) => {
      e.preventDefault();
      this.terminate(`the crypto worker failed: ${e.message || 'could not start'}`, 'worker_crashed');
    });
    worker.addEventListener('messageerror', () => this.terminate('unreadable message from the crypto worker', 'worker_crashed'));
    this.worker = worker;
    return worker;
  }

  private handleMessage(data: unknown): void {
    const parsed = WorkerMessage.safeParse(data);
    if (!parsed.success) return;
    const msg = parsed.data;
    const pending = this.pending.get(msg.id);
    if (!pending) return;
    if (msg.type === 'progress') {
      pending.onProgress?.(msg.step, msg.fraction);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.type === 'failed') {
      pending.reject(new BlindScoreError(msg.error.code, msg.error.message));
      return;
    }
    const value = WORKER_RESULT_SCHEMAS[pending.type].safeParse(msg.value);
    if (value.success) pending.resolve(value.data);
    else pending.reject(new BlindScoreError('worker_crashed', `malformed ${pending.type} result from the crypto worker`));
  }

  private terminate(message: string, code = 'cancelled'): void {
    this.worker?.terminate();
    this.worker = undefined;
    for (const p of this.pending.values()) p.reject(new BlindScoreError(code, message));
    this.pending.clear();
  }
}
