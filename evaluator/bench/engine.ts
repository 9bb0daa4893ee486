/**
 * Engine figures per parameter set, with keys made by node-tfhe at bench time, in tfhe-rs's
 * terms: `pbs*` is the PBS alone (`programmable_bootstrap_lwe_ciphertext`: modulus switch, blind
 * rotation, sample extraction), `keyswitch*` the keyswitch alone, `ksPbs*` both (shortint
 * `apply_lookup_table`, what `programmableBootstrap` does). Per operation: median and minimum
 * wall time and median process CPU time over ≥ 20 runs on one core, interleaved run by run so
 * they see the same machine load. Also: KS-PBS with the plain SIMD kernels when the default is
 * relaxed SIMD (`ksPbsPlain*`), batched KS-PBS per ciphertext for batches of 4 and 8
 * (`batchKsPbsMsPerCiphertext`), key expansion time, the memory one expanded key takes, and the
 * output-noise audit (`noise.ts`: `noiseVarianceRatio`, default path / exact reference), and the
 * blind rotation's arithmetic floor on this core (`floor.ts`: `blindRotationFloorMs`, from its
 * counted f64x2 instructions and this core's measured peak rate of them).
 *
 * Correctness gate: each run's keyswitch output is the input of that run's PBS, and every PBS and
 * KS-PBS result (batches included) is decrypted by node-tfhe (`wrongDecryptions` counts failures,
 * must be 0), so a fast wrong engine cannot post a figure.
 *
 * env: BENCH_RUNS (≥ 20), BENCH_EXPANSION_RUNS, BENCH_NOISE_RUNS (bootstraps audited per fast
 * path, default 1,000), BENCH_NOISE_REFERENCE_RUNS (of those, also on the exact reference,
 * default 16: ~1 s each, N = 2048 samples each).
 */
import * as tfhe from 'node-tfhe';
import {
  createLookupTable,
  deserializeCompressedCiphertext,
  deserializeCompressedServerKey,
  expandServerKey,
  bootstrapKeyswitched,
  keyswitchCiphertext,
  kernelVariant,
  parameterSetName,
  programmableBootstrap,
  programmableBootstrapBatch,
  readClientKeySecrets,
  selectKernelVariant,
  serializeCiphertext,
  serverKeyByteLength,
  type Ciphertext,
} from '../../fhe/index.ts';
import { arithmeticFloor } from './floor.ts';
import { measureNoise } from './noise.ts';

const RUNS = Math.max(20, Number(process.env.BENCH_RUNS ?? 20));
const EXPANSION_RUNS = Math.max(3, Number(process.env.BENCH_EXPANSION_RUNS ?? 5));
const NOISE_RUNS = Math.max(1, Number(process.env.BENCH_NOISE_RUNS ?? 1000));
const NOISE_REFERENCE_RUNS = Math.max(0, Math.min(NOISE_RUNS, Number(process.env.BENCH_NOISE_REFERENCE_RUNS ?? 16)));
const BATCHES = [4, 8] as const;

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

  /** Times `op`; `per` divides the figures (ciphertexts in a batch). */
  time<T>(op: () => T, per = 1): T {
    const c = cpuMs();
    const t = performance.now();
    const out = op();
    this.wall.push((performance.now() - t) / per);
    this.cpu.push((cpuMs() - c) / per);
    return out;
  }

  get medianWall(): number {
    return round(median(this.wall));
  }

  get medianCpu(): number {
    return round(median(this.cpu));
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
  const inputs = Array.from({ length: 8 }, (_, i) =>
    deserializeCompressedCiphertext(
      tfhe.Shortint.serialize_compressed_ciphertext(tfhe.Shortint.encrypt_compressed(clientKey, BigInt(i % 4))),
      key.params,
    ),
  );
  const expected = (m: number) => ((m * 7 + 3) % 16) % 4;
  const decrypts = (out: Ciphertext, m: number) =>
    Number(tfhe.Shortint.decrypt(clientKey, tfhe.Shortint.deserialize_ciphertext(serializeCiphertext(out)))) === expected(m);
  const variant = kernelVariant();
  const comparePlain = key.memory !== null && variant !== 'plain';
  const withPlain = <T>(op: () => T): T => {
    selectKernelVariant('plain');
    try {
      return op();
    } finally {
      selectKernelVariant(variant);
    }
  };
  // Warm-up.
  for (const ct of inputs) bootstrapKeyswitched(key, keyswitchCiphertext(key, ct).slice(), lut);
  for (const ct of inputs) programmableBootstrap(key, ct, lut);
  if (comparePlain) withPlain(() => programmableBootstrap(key, inputs[0]!, lut));
  for (const size of BATCHES)
    programmableBootstrapBatch(
      key,
      inputs.slice(0, size),
      inputs.slice(0, size).map(() => lut),
    );
  const keyswitch = new Timings();
  const pbs = new Timings();
  const ksPbs = new Timings();
  const ksPbsPlain = new Timings();
  const batch = new Map(BATCHES.map((size) => [size, new Timings()]));
  let wrong = 0;
  let checked = 0;
  const check = (out: Ciphertext, m: number) => {
    checked++;
    if (!decrypts(out, m)) wrong++;
  };
  for (let r = 0; r < RUNS; r++) {
    const m = r % 4;
    // The keyswitch result is scratch: copied (untimed) before the PBS reads it.
    const small = keyswitch.time(() => keyswitchCiphertext(key, inputs[m]!)).slice();
    check(
      pbs.time(() => bootstrapKeyswitched(key, small, lut)),
      m,
    );
    check(
      ksPbs.time(() => programmableBootstrap(key, inputs[m]!, lut)),
      m,
    );
    if (comparePlain)
      check(
        ksPbsPlain.time(() => withPlain(() => programmableBootstrap(key, inputs[m]!, lut))),
        m,
      );
    for (const size of BATCHES) {
      const cts = inputs.slice(0, size);
      const outs = batch.get(size)!.time(
        () =>
          programmableBootstrapBatch(
            key,
            cts,
            cts.map(() => lut),
          ),
        size,
      );
      for (const [i, out] of outs.entries()) check(out, i % 4);
    }
  }
  const perBatch = (f: (t: Timings) => number) => Object.fromEntries(BATCHES.map((size) => [size, f(batch.get(size)!)]));
  const noiseStart = performance.now();
  const noise = measureNoise(key, clientKey, readClientKeySecrets(tfhe.Shortint.serialize_client_key(clientKey)), {
    runs: NOISE_RUNS,
    referenceRuns: NOISE_REFERENCE_RUNS,
  });
  const floor = key.memory ? await arithmeticFloor(key.params, variant === 'relaxed') : null;
  return {
    parameterSet: parameterSetName(key.params),
    runs: RUNS,
    pbsPath: key.memory ? 'wasm-simd' : 'typescript',
    kernelVariant: key.memory ? variant : null,
    ...pbs.summary('pbs'),
    ...keyswitch.summary('keyswitch'),
    ...ksPbs.summary('ksPbs'),
    ...(comparePlain ? ksPbsPlain.summary('ksPbsPlain') : {}),
    batchKsPbsMsPerCiphertext: perBatch((t) => t.medianWall),
    batchKsPbsCpuMsPerCiphertext: perBatch((t) => t.medianCpu),
    ...noise,
    ...(floor ?? {}),
    noiseAuditSeconds: round((performance.now() - noiseStart) / 1000, 1),
    keyExpansionMsMedian: round(median(expansion)),
    keyExpansionRuns: EXPANSION_RUNS,
    expandedKeyBytes: serverKeyByteLength(key),
    expandedKeyRssDeltaBytes: after.rss - before.rss,
    expandedKeyArrayBuffersDeltaBytes: after.arrayBuffers - before.arrayBuffers,
    heapUsedDeltaBytes: after.heapUsed - before.heapUsed,
    gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
    checkedDecryptions: checked,
    wrongDecryptions: wrong,
  };
}

export async function bench(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(SETS) as Array<keyof typeof SETS>) out[name] = await benchSet(name);
  return out;
}
