/**
 * Starts the crypto worker in the single-file build: the bundle is its own worker script (the
 * entry checks which global it runs in), so a strict `script-src 'self'` / `worker-src 'self'`
 * policy covers both and no `blob:` URL is needed.
 */
export function spawnCryptoWorker(): Worker {
  return new Worker(import.meta.url, { type: 'module', name: 'blind-score-crypto' });
}
