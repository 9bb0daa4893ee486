/**
 * Full garbage collections on demand, so a dropped server key's memory goes back to the system
 * when its session is done rather than whenever V8 next collects.
 *
 * An expanded key (~124 MB) lives in one shared `WebAssembly.Memory`. Its backing store is freed
 * only after every thread that received the key (the expansion worker, the main thread, each
 * bootstrap worker) has collected its handle, and those isolates allocate too little JavaScript
 * to collect on their own: measured with `BENCH_SECTIONS=service npm run bench`, every finished
 * session left ~130 MB resident (four sessions: +520 MB) until some unrelated allocation forced
 * a collection. A collection of a worker's small heap takes a few milliseconds.
 *
 * The collector is the one `--expose-gc` installs. Without that flag it is obtained as Jest's
 * leak detector does: set the V8 flag, which takes effect for contexts created afterwards, and
 * read `gc` from a fresh `vm` context (it collects the whole isolate, not only that context).
 * The flag is not reset, since threads may do this concurrently.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collector: (() => void) | undefined;

function gcFunction(): () => void {
  if (collector) return collector;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') {
    collector = exposed as () => void;
  } else {
    setFlagsFromString('--expose-gc');
    collector = runInNewContext('gc') as () => void;
  }
  return collector;
}

/** Runs a full, synchronous garbage collection of this thread's isolate. */
export function collectGarbage(): void {
  gcFunction()();
}

/**
 * Coalesces requests for a collection into one, run `delayMs` after the first request (for the
 * main thread, where a collection pauses request handling for some milliseconds).
 * @example
 * const reclaim = deferredCollector(100);
 * cache.drop(sessionId);
 * reclaim();
 */
export function deferredCollector(delayMs: number): () => void {
  gcFunction(); // fail at startup, not at the first dropped key
  let timer: NodeJS.Timeout | undefined;
  return function requestCollection() {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      collectGarbage();
    }, delayMs);
    timer.unref();
  };
}
