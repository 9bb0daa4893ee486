/**
 * Worker entry: expands compressed server keys with the engine, off the event loop that serves
 * HTTP. One request at a time; replies carry the key or the engine's typed error. The thread
 * collects garbage after each reply, so what an expansion allocated is not left resident.
 */
import { parentPort } from 'node:worker_threads';
import { collectGarbage } from '../../circuit/reclaim-memory.ts';
import { isEngineError, loadServerKey } from '../../../fhe/index.ts';
import { ExpandRequest, type ExpandReply } from './expand-protocol.ts';

const port = parentPort;
if (!port) throw new Error('expand-worker must run as a worker thread');

port.on('message', (message: unknown) => {
  port.postMessage(expand(message));
  // Once the handler has returned, nothing here references the compressed bytes (which the
  // parsed key viewed) or the expanded key: collect now, or this idle thread would keep them resident.
  setImmediate(collectGarbage);
});

function expand(message: unknown): ExpandReply {
  const { id, bytes } = ExpandRequest.parse(message);
  let reply: ExpandReply;
  const started = performance.now();
  try {
    const key = loadServerKey(bytes);
    reply = { id, ok: true, key: key as unknown as Record<string, unknown>, ms: performance.now() - started };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    reply = { id, ok: false, error: { name: err.name, message: err.message, ...(isEngineError(e) ? { code: e.code } : {}) } };
  }
  return reply;
}
