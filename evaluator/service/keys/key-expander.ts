/**
 * Expands server keys on a dedicated worker thread (one at a time, so expansions never take more
 * than one core from running circuits). The worker starts on first use and restarts after a crash.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker, workerEntry } from '../../circuit/worker-thread.ts';
import { serverKeyByteLength, type ServerKey } from '../../../fhe/index.ts';
import type { Expanded } from './expanded-key-cache.ts';
import { ExpandReply } from './expand-protocol.ts';
import { EvaluatorApiError } from '../../../protocol/evaluator-api.ts';

export class KeyExpander {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (k: Expanded<ServerKey>) => void; reject: (e: unknown) => void }>();

  /** @throws {ApiError} 422 `invalid_server_key` when the engine refuses the key */
  expand(compressed: Uint8Array): Promise<Expanded<ServerKey>> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Upload buffers are SharedArrayBuffer-backed, so this shares rather than copies; never
      // transferred, since the session keeps its compressed bytes for re-expansion.
      worker.postMessage({ id, bytes: compressed });
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.failAll(new EvaluatorApiError(503, 'shutting_down', 'the evaluator is shutting down', { retriable: true }));
    await w?.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = startWorker(workerEntry(import.meta.url, 'expand-worker'));
    w.unref();
    w.on('message', (m: unknown) => this.onReply(m));
    w.on('error', (e) => {
      if (this.worker === w) this.worker = undefined;
      this.failAll(e);
    });
    w.on('exit', () => {
      if (this.worker === w) this.worker = undefined;
      this.failAll(new Error('key expansion worker exited'));
    });
    this.worker = w;
    return w;
  }

  private onReply(message: unknown): void {
    const reply = ExpandReply.parse(message);
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (reply.ok) {
      const key = reply.key as unknown as ServerKey;
      p.resolve({ key, bytes: serverKeyByteLength(key) });
    } else if (reply.error.code !== undefined) {
      p.reject(
        new EvaluatorApiError(422, 'invalid_server_key', `server key refused by the engine: ${reply.error.message}`, {
          details: { engineCode: reply.error.code },
        }),
      );
    } else {
      p.reject(new Error(`key expansion failed: ${reply.error.name}: ${reply.error.message}`));
    }
  }

  private failAll(err: unknown): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
