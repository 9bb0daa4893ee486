/**
 * Engine figures per parameter set, with keys made by node-tfhe at bench time, in tfhe-rs's
 * terms: `pbs*` is the PBS alone (`programmable_bootstrap_lwe_ciphertext`: modulus switch, blind
 * rotation, sample extraction), `keyswitch*` the keyswitch alone, `ksPbs*` both (shortint
 * `apply_lookup_table`, what `programmableBootstrap` does). Per operation: median and minimum
 * wall time and median process CPU time over ≥ 20 runs on one core, the three interleaved run by
 * run so they see the same machine load. Also key expansion time and the memory one expanded
 * key takes.
 *
 * Correctness gate: each run's keyswitch output is the input of that run's PBS, and every PBS and
 * KS-PBS result is decrypted by node-tfhe (`wrongDecryptions` counts failures, must be 0), so a
 * fast wrong engine cannot post a figure.
 */
import * as tfhe from 'node-tfhe';
import {
  createLookupTable,
  deserializeCompressedCiphertext,
  deserializeCompressedServerKey,
  expandServerKey,
  bootstrapKeyswitched,
  keyswitchCiphertext,
  parameterSetName,
  programmableBootstrap,
  serializeCiphertext,
  serverKeyByteLength,
  type Ciphertext,
} from '../../fhe/index.ts';

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

/** Wall and CPU times of one operation over the runs. */
class Timings {
  private readonly wall: number[] = [];
  private readonly cpu: number[] = [];

  time<T>(op: () => T): T {
    const c = cpuMs();
    const t = performance.now();
    const out = op();
    this.wall.push(performance.now() - t);
    this.cpu.push(cpuMs() - c);
    return out;
  }

  /** `<name>MsMedian`, `<name>MsMin` (wall) and `<name>CpuMsMedian`. */
  summary(name: string): Record<string, number> {
    return {
      [`${name}MsMedian`]: round(median(this.wall)),
      [`${name}MsMin`]: round(Math.min(...this.wall)),
      [`${name}CpuMsMedian`]: round(median(this.cpu)),
    };
  }
}

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
  const expected = (m: number) => ((m * 7 + 3) % 16) % 4;
  const decrypts = (out: Ciphertext, m: number) =>
    Number(tfhe.Shortint.decrypt(clientKey, tfhe.Shortint.deserialize_ciphertext(serializeCiphertext(out)))) === expected(m);
  // Warm-up.
  for (const ct of inputs) bootstrapKeyswitched(key, keyswitchCiphertext(key, ct).slice(), lut);
  for (const ct of inputs) programmableBootstrap(key, ct, lut);
  const keyswitch = new Timings();
  const pbs = new Timings();
  const ksPbs = new Timings();
  let wrong = 0;
  for (let r = 0; r < RUNS; r++) {
    const m = r % 4;
    // The keyswitch result is scratch: copied (untimed) before the PBS reads it.
    const small = keyswitch.time(() => keyswitchCiphertext(key, inputs[m]!)).slice();
    if (!decrypts(pbs.time(() => bootstrapKeyswitched(key, small, lut)), m)) wrong++;
    if (!decrypts(ksPbs.time(() => programmableBootstrap(key, inputs[m]!, lut)), m)) wrong++;
  }
  return {
    parameterSet: parameterSetName(key.params),
    runs: RUNS,
    pbsPath: key.memory ? 'wasm-simd' : 'typescript',
    ...pbs.summary('pbs'),
    ...keyswitch.summary('keyswitch'),
    ...ksPbs.summary('ksPbs'),
    keyExpansionMsMedian: round(median(expansion)),
    keyExpansionRuns: EXPANSION_RUNS,
    expandedKeyBytes: serverKeyByteLength(key),
    expandedKeyRssDeltaBytes: after.rss - before.rss,
    expandedKeyArrayBuffersDeltaBytes: after.arrayBuffers - before.arrayBuffers,
    heapUsedDeltaBytes: after.heapUsed - before.heapUsed,
    gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
    checkedDecryptions: 2 * RUNS,
    wrongDecryptions: wrong,
  };
}

export async function bench(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(SETS) as Array<keyof typeof SETS>) out[name] = await benchSet(name);
  return out;
}
