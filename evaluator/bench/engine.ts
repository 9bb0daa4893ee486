/**
 * Engine figures per parameter set, with keys made by node-tfhe at bench time: median PBS and
 * keyswitch time on one core (≥ 20 runs each), key expansion time, and the memory one expanded
 * key takes. Every PBS result is decrypted by node-tfhe, so a fast wrong engine cannot post a
 * figure.
 */
import * as tfhe from 'node-tfhe';
import {
  createLookupTable,
  deserializeCompressedCiphertext,
  deserializeCompressedServerKey,
  expandServerKey,
  keyswitchCiphertext,
  parameterSetName,
  programmableBootstrap,
  serializeCiphertext,
  serverKeyByteLength,
} from '../engine/index.ts';

const RUNS = Math.max(20, Number(process.env.BENCH_RUNS ?? 20));
const EXPANSION_RUNS = Math.max(3, Number(process.env.BENCH_EXPANSION_RUNS ?? 5));

const SETS = {
  tuniform: tfhe.ShortintParametersName.PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
  gaussian: tfhe.ShortintParametersName.V1_1_PARAM_MESSAGE_2_CARRY_2_KS_PBS_GAUSSIAN_2M128,
} as const;

/** Process CPU time in ms: on a shared machine it tracks one core's work better than wall time. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function benchSet(name: keyof typeof SETS): Promise<Record<string, unknown>> {
  const clientKey = tfhe.Shortint.new_client_key(new tfhe.ShortintParameters(SETS[name]));
  const serverKeyBytes = tfhe.Shortint.serialize_compressed_server_key(tfhe.Shortint.new_compressed_server_key(clientKey));

  // Memory of one expanded key first, while the heap holds nothing else of this set.
  gc();
  const before = process.memoryUsage();
  const key = expandServerKey(deserializeCompressedServerKey(serverKeyBytes));
  gc();
  const after = process.memoryUsage();

  // Key expansion time (parse + CSPRNG + Fourier transform).
  const expansion: number[] = [];
  for (let r = 0; r < EXPANSION_RUNS; r++) {
    const t = performance.now();
    expandServerKey(deserializeCompressedServerKey(serverKeyBytes));
    expansion.push(performance.now() - t);
    gc();
  }

  const lut = createLookupTable(key.params, (v) => (v * 7 + 3) % 16);
  const inputs = Array.from({ length: 4 }, (_, m) =>
    deserializeCompressedCiphertext(
      tfhe.Shortint.serialize_compressed_ciphertext(tfhe.Shortint.encrypt_compressed(clientKey, BigInt(m))),
      key.params,
    ),
  );
  // Warm-up, and a correctness gate on every timed result.
  for (const ct of inputs) programmableBootstrap(key, ct, lut);
  const pbs: number[] = [];
  const pbsCpu: number[] = [];
  let wrong = 0;
  for (let r = 0; r < RUNS; r++) {
    const m = r % 4;
    const c = cpuMs();
    const t = performance.now();
    const out = programmableBootstrap(key, inputs[m]!, lut);
    pbs.push(performance.now() - t);
    pbsCpu.push(cpuMs() - c);
    const dec = tfhe.Shortint.decrypt(clientKey, tfhe.Shortint.deserialize_ciphertext(serializeCiphertext(out)));
    if (Number(dec) !== ((m * 7 + 3) % 16) % 4) wrong++;
  }
  const keyswitch: number[] = [];
  const keyswitchCpu: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const c = cpuMs();
    const t = performance.now();
    keyswitchCiphertext(key, inputs[r % 4]!);
    keyswitch.push(performance.now() - t);
    keyswitchCpu.push(cpuMs() - c);
  }
  return {
    parameterSet: parameterSetName(key.params),
    runs: RUNS,
    pbsMsMedian: round(median(pbs)),
    pbsMsMin: round(Math.min(...pbs)),
    pbsCpuMsMedian: round(median(pbsCpu)),
    pbsPath: key.memory ? 'wasm-simd' : 'typescript',
    keyswitchMsMedian: round(median(keyswitch)),
    keyswitchMsMin: round(Math.min(...keyswitch)),
    keyswitchCpuMsMedian: round(median(keyswitchCpu)),
    keyExpansionMsMedian: round(median(expansion)),
    keyExpansionRuns: EXPANSION_RUNS,
    expandedKeyBytes: serverKeyByteLength(key),
    expandedKeyRssDeltaBytes: after.rss - before.rss,
    expandedKeyArrayBuffersDeltaBytes: after.arrayBuffers - before.arrayBuffers,
    heapUsedDeltaBytes: after.heapUsed - before.heapUsed,
    gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
    wrongDecryptions: wrong,
  };
}

export async function bench(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(SETS) as Array<keyof typeof SETS>) out[name] = await benchSet(name);
  return out;
}
