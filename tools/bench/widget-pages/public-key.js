// What the compact public key adds to key generation, in a bare module worker, wasm loaded.
const worker = new Worker('/tools/bench/widget-pages/public-key.worker.js', { type: 'module' });
window.benchResult = await new Promise((resolve) => {
  worker.onmessage = (e) => resolve(e.data);
  worker.onerror = (e) => resolve({ error: e.message || 'worker failed' });
});
