/**
 * Worker-thread entry of the bootstrap pool: holds the keys it is given and runs one
 * programmable bootstrap per request with the engine, and collects garbage when it drops a key.
 *
 * Bundled builds must emit this file as its own entry, `pbs-worker.js`, next to the module that
 * contains `pool.ts` (see `PBS_WORKER_URL` there).
 */
import { parentPort } from 'node:worker_threads';
import { EngineError, programmableBootstrap, type ServerKey } from '../../fhe/index.ts';
import { collectGarbage } from './reclaim-memory.ts';
import type { WorkerRequest, WorkerResponse } from './worker-protocol.ts';

const port = parentPort;
if (port === null) throw new Error('pbs-worker must run in a worker thread');

const keys = new Map<number, ServerKey>();

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
      let reply: WorkerResponse;
      try {
        const key = keys.get(msg.keyId);
        if (key === undefined) throw new Error(`no key ${msg.keyId} in this worker`);
        reply = { type: 'done', taskId: msg.taskId, ct: programmableBootstrap(key, msg.ct, msg.lut) };
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        reply = {
          type: 'failed',
          taskId: msg.taskId,
          name: err instanceof EngineError ? 'EngineError' : err.name,
          ...(err instanceof EngineError ? { code: err.code } : {}),
          message: err.message,
        };
      }
      port.postMessage(reply);
      return;
    }
  }
});
