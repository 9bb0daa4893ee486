// tfhe's own time for the same keys, in a bare module worker, wasm already loaded.
const worker = new Worker('/tools/bench/widget-pages/tfhe-own.worker.js', { type: 'module' });
window.benchResult = await new Promise((resolve) => {
  worker.onmessage = (e) => resolve(e.data);
  worker.onerror = (e) => resolve({ error: e.message || 'worker failed' });
});
