// The element's own crypto worker (the built chunk named by ?worker=), asked alternately for keys
// made by the engine's generator and by tfhe's own, in one page. Each time runs from the worker's
// `server_key` step (client and public keys are made before it) to the keys reaching the page.
const params = new URLSearchParams(location.search);
const worker = new Worker(params.get('worker'), { type: 'module', name: 'blind-score-crypto' });
const runs = Number(params.get('runs') ?? 3);
let nextId = 1;

function request(body, onProgress) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const listener = (e) => {
      if (e.data?.id !== id) return;
      if (e.data.type === 'progress') return onProgress?.(e.data.step, e.data.fraction);
      worker.removeEventListener('message', listener);
      if (e.data.type === 'done') resolve(e.data.value);
      else reject(new Error(`${e.data.error?.code}: ${e.data.error?.message}`));
    };
    worker.addEventListener('message', listener);
    worker.postMessage({ ...body, id });
  });
}

async function timeKeygen(serverKeyGenerator) {
  let start;
  const keys = await request({ type: 'keygen', paramSet: 'tuniform', cacheName: null, serverKeyGenerator }, (step) => {
    if (step === 'server_key' && start === undefined) start = performance.now();
  });
  const ms = performance.now() - start;
  if (keys.serverKeyGenerator !== serverKeyGenerator) throw new Error(`asked for ${serverKeyGenerator}, got ${keys.serverKeyGenerator}`);
  return { ms, bytes: keys.serverKey.byteLength };
}

try {
  await request({ type: 'warm' });
  const own = [];
  const tfhe = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so a change in machine load hits both series alike.
    for (const generator of i % 2 === 0 ? ['engine', 'tfhe'] : ['tfhe', 'engine']) {
      const r = await timeKeygen(generator);
      (generator === 'engine' ? own : tfhe).push(r.ms);
      bytes = r.bytes;
    }
  }
  window.benchResult = { ms: own.reduce((a, b) => a + b, 0), own, tfhe, bytes };
} catch (e) {
  window.benchResult = { error: String(e) };
} finally {
  worker.terminate();
}
