/**
 * Starts the crypto worker. The bundler follows this `new URL(…, import.meta.url)` and emits the
 * worker as its own chunk; the single-file build swaps this module for one that starts the
 * bundle itself as the worker.
 */
export function spawnCryptoWorker(): Worker {
  return new Worker(new URL('./crypto.worker.ts', import.meta.url), { type: 'module', name: 'blind-score-crypto' });
}
