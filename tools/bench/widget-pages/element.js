// Times the element's key-generation stage as an applicant meets it in `prepare="submit"` mode,
// from the check's start to the keys being ready in the page. `?warm` first lets the element load
// the worker and wasm, as it does when the applicant focuses the form; without it, their loading
// is part of the time. (The other modes generate the keys before the click.)
const manifest = await (await fetch('/model/artifacts/manifest.json')).json();
await customElements.whenDefined('blind-score');
const el = document.createElement('blind-score');
el.setAttribute('gateway-url', `${location.origin}/no-gateway`);
el.setAttribute('publishable-key', 'pk_bench');
el.setAttribute('mode', 'demo');
el.setAttribute('prepare', 'submit');
el.addEventListener('blind-score:error', (e) => {
  // The bench has no gateway: the session request after key generation fails, as expected. An
  // error before that (a manifest the element refuses, the wasm) ends the run with its code.
  if (!window.benchResult) window.benchResult = { error: e.detail.code };
});
el.manifest = manifest;
document.body.append(el);
await el.updateComplete;
if (new URLSearchParams(location.search).has('warm')) {
  // Focusing the form starts the warm-up; its promise (private to the element) says when the
  // worker and wasm are loaded.
  el.renderRoot.querySelector('input, select')?.focus();
  await el.warm();
}
let start = 0;
el.addEventListener('blind-score:progress', (e) => {
  if (e.detail.stage !== 'keygen') return;
  if (e.detail.fraction === null) start = performance.now();
  if (e.detail.fraction === 1) window.benchResult = { ms: performance.now() - start };
});
void el.start();
