import init, * as tfhe from '/node_modules/tfhe/tfhe.js';

await init();
const start = performance.now();
const params = new tfhe.ShortintParameters(tfhe.ShortintParametersName.PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128);
const clientKey = tfhe.Shortint.new_client_key(params);
const serverKey = tfhe.Shortint.new_compressed_server_key(clientKey);
const bytes = tfhe.Shortint.serialize_compressed_server_key(serverKey);
postMessage({ ms: performance.now() - start, bytes: bytes.length });
