/**
 * The single-file build's entry. The same file runs twice: in the page it defines
 * `<blind-score>`; started as the element's crypto worker (see `spawn-worker.self.ts`) it runs
 * the worker instead. Each side is loaded lazily, so neither evaluates the other's code (Lit
 * needs `document`, which a worker lacks).
 */

const inWorker = typeof WorkerGlobalScope !== 'undefined' && globalThis instanceof WorkerGlobalScope;

if (inWorker) {
  void import('./crypto/crypto-worker-main.ts').then((m) => m.startCryptoWorker());
} else {
  void import('./blind-score.ts');
}
