/**
 * Worker-thread entry of the bootstrap pool: holds the keys it is given, runs each request's
 * bootstraps as one batch with the engine (`programmableBootstrapBatch`: one pass over the key
 * for up to 8 ciphertexts), and collects garbage when it drops a key.
 *
 * A batch the engine refuses (one bad input refuses the whole batch before any work) is retried
 * one by one, so each bootstrap gets its own result or error.
 *
 * Bundled builds must emit this file as its own entry, `pbs-worker.js`, next to the module that
 * contains `pool.ts` (see `PBS_WORKER_URL` there).
 */
import { parentPort } from 'node:worker_threads';
import {
  EngineError,
  programmableBootstrap,
  programmableBootstrapBatch,
  type Ciphertext,
  type LookupTable,
  type ServerKey,
} from '../../fhe/index.ts';
import { collectGarbage } from './reclaim-memory.ts';
import type { BootstrapOutcome, WorkerRequest, WorkerResponse } from './worker-protocol.ts';

const port = parentPort;
if (port === null) throw new Error('pbs-worker must run in a worker thread');

const keys = new Map<number, ServerKey>();

function failure(e: unknown): BootstrapOutcome {
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    ok: false,
    name: err instanceof EngineError ? 'EngineError' : err.name,
    ...(err instanceof EngineError ? { code: err.code } : {}),
    message: err.message,
  };
}

function bootstrapAll(key: ServerKey, cts: readonly Ciphertext[], luts: readonly LookupTable[]): BootstrapOutcome[] {
  try {
    return programmableBootstrapBatch(key, cts, luts).map((ct) => ({ ok: true, ct }));
  } catch {
    return cts.map((ct, i) => {
      try {
        return { ok: true, ct: programmableBootstrap(key, ct, luts[i]!) };
      } catch (e) {
        return failure(e);
      }
    });
  }
}

port.on('message', (msg: WorkerRequest) => {
  switch (msg.type) {
    case 'key':
      keys.set(msg.keyId, msg.key);
      return;
    case 'drop':
      keys.delete(msg.keyId);
      // This thread's handle is all that may still pin the key's ~124 MB (see reclaim-memory.ts).
      collectGarbage();
      return;
    case 'pbs': {
      const key = keys.get(msg.keyId);
      const outcomes =
        key === undefined
          ? msg.cts.map(() => failure(new Error(`no key ${msg.keyId} in this worker`)))
          : bootstrapAll(key, msg.cts, msg.luts);
      const reply: WorkerResponse = { type: 'done', taskId: msg.taskId, outcomes };
      port.postMessage(reply);
      return;
    }
  }
});
