// The client-key step both ways, interleaved: tfhe's bare shortint client key, and the widget's
// key set (src/crypto/tfhe-client.ts: high-level client key, its compact public key, the
// fixed-seed template, the shortint key cut out of the high-level one). The compressed server key
// after either is the same call on a key of the same parameters, so it is not repeated here.
import init, * as tfhe from '/node_modules/tfhe/tfhe.js';

await init();
const params = () => new tfhe.ShortintParameters(tfhe.ShortintParametersName.PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128);
const REPS = 15;
const shortint = [];
const widget = [];
const publicKey = [];
let publicKeyBytes = 0;
for (let i = 0; i < REPS; i++) {
  let start = performance.now();
  const p = params();
  tfhe.Shortint.new_client_key(p).free();
  p.free();
  shortint.push(performance.now() - start);

  start = performance.now();
  const q = params();
  const config = tfhe.TfheConfigBuilder.with_custom_parameters(q).build();
  const hl = tfhe.TfheClientKey.generate(config);
  config.free();
  const pkStart = performance.now();
  const cpk = tfhe.TfheCompactPublicKey.new(hl);
  publicKeyBytes = cpk.serialize().length;
  cpk.free();
  publicKey.push(performance.now() - pkStart);
  const hlBytes = hl.serialize();
  hl.free();
  const template = tfhe.Shortint.new_client_key_from_seed_and_parameters(0n, 0n, q);
  const templateBytes = tfhe.Shortint.serialize_client_key(template);
  template.free();
  q.free();
  tfhe.Shortint.deserialize_client_key(hlBytes.slice(0, templateBytes.length)).free();
  widget.push(performance.now() - start);
}
const median = (xs) => Number([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(1));
postMessage({
  ms: median(widget) - median(shortint),
  reps: REPS,
  publicKeyBytes,
  medianShortintClientKeyMs: median(shortint),
  medianWidgetKeySetMs: median(widget),
  medianCompactPublicKeyMs: median(publicKey),
});
