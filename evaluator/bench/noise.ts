/**
 * Output-noise audit of the bootstrap paths (part of the `engine` bench section): fresh node-tfhe
 * encryptions are bootstrapped on the default kernel variant (`relaxed` fused multiply-add where
 * the runtime has it) and on the `plain` SIMD kernels (bit-identical to the TypeScript path), and
 * the first few also on the exact-u64 `reference`; each blind rotation's accumulator is decrypted
 * with the client key and compared with the ideal one (`blindRotationNoise`: N samples per
 * bootstrap, coefficient 0 being the output's noise).
 *
 * Reported per path: the noise variance (log2, torus units of 2^−64), its ratio to the reference
 * on the same inputs, the variance of the difference to the reference (the path's own rounding
 * error), and an estimated failure probability of the next bootstrap: a Gaussian tail of the
 * phase error right before blind rotation against the decoding margin Δ/2, the error's variance
 * being ν²·σ²_out (ν = the key's max noise level, the worst input the checked operations allow)
 * plus what keyswitch and modulus switch add (measured on these outputs).
 *
 * The keyswitch is audited the same way: on every run, the default path's PBS output is
 * keyswitched exactly (`plain` kernels) and with the KSK's high halves (`relaxed` kernels), and the
 * error right after the keyswitch (torus units) and right before the next blind rotation (units of
 * 1/2N) is measured for both; the failure estimate of each keyswitch uses its own measured error.
 */
import * as tfhe from 'node-tfhe';
import {
  blindRotationNoise,
  createLookupTable,
  deserializeCiphertext,
  kernelVariant,
  keyswitchedPhaseError,
  keyswitchHi32Supported,
  log2GaussianTail,
  programmableBootstrap,
  sampleVariance,
  selectKernelVariant,
  switchedPhaseError,
  type BlindRotationPath,
  type SecretKeyBits,
  type ServerKey,
} from '../../fhe/index.ts';

export interface NoiseOptions {
  /** Bootstraps audited on each fast path (≥ 1,000 for the published figures). */
  runs: number;
  /** Of those, how many also run the exact reference (about 1 s each on one core). */
  referenceRuns: number;
}

/** Running sums for a variance over many samples. */
class Moments {
  n = 0;
  private sum = 0;
  private sumSq = 0;
  add(xs: ArrayLike<number>): void {
    for (let i = 0; i < xs.length; i++) {
      this.sum += xs[i]!;
      this.sumSq += xs[i]! * xs[i]!;
    }
    this.n += xs.length;
  }
  get variance(): number {
    const mean = this.sum / this.n;
    return (this.sumSq - this.n * mean * mean) / (this.n - 1);
  }
}

const round = (x: number, digits = 3) => Number(x.toFixed(digits));
const SWITCHED_RUNS = 200;

/** The paired keyswitch difference's mean: z-score and log2 of a 95% bound on |mean|. */
function addedErrorMean(diff: readonly number[]): { addedErrorMeanZ: number; log2AddedErrorMeanBound95: number } {
  const { mean, variance } = sampleVariance(diff);
  const standardError = Math.sqrt(variance / diff.length);
  return {
    addedErrorMeanZ: round(mean / standardError),
    log2AddedErrorMeanBound95: round(Math.log2(Math.abs(mean) + 1.96 * standardError)),
  };
}

export function measureNoise(
  key: ServerKey,
  clientKey: tfhe.ShortintClientKey,
  secrets: SecretKeyBits,
  options: NoiseOptions,
): Record<string, unknown> {
  const p = key.params;
  const space = p.messageModulus * p.carryModulus;
  const table = Array.from({ length: space }, (_, v) => (v * 7 + 3) % space);
  const lut = createLookupTable(p, table);
  const fast = [kernelVariant(), ...(kernelVariant() === 'plain' ? [] : (['plain'] as const))] as BlindRotationPath[];
  const all = new Map(fast.map((path) => [path, new Moments()]));
  const output = new Map(fast.map((path) => [path, [] as number[]]));
  // Paired with the reference, on the inputs the reference also ran.
  const paired = new Map<BlindRotationPath, { path: Moments; difference: Moments }>(
    fast.map((path) => [path, { path: new Moments(), difference: new Moments() }]),
  );
  const reference = new Moments();
  const switched: number[] = [];
  // Per keyswitch: the error after the keyswitch (torus units) and after the modulus switch (1/2N).
  const keyswitches = { exact: 'plain', hi32: 'relaxed' } as const;
  const ksAudit = Object.fromEntries(
    Object.keys(keyswitches).map((name) => [name, { keyswitched: [] as number[], switched: [] as number[] }]),
  ) as Record<keyof typeof keyswitches, { keyswitched: number[]; switched: number[] }>;
  const ksDifference: number[] = [];
  // Only where the relaxed kernels' keyswitch differs from the exact one.
  const ksAudited = keyswitchHi32Supported(p) && selectKernelVariant('relaxed') && selectKernelVariant(fast[0]! as 'plain' | 'relaxed');
  const delta = 2n ** 63n / BigInt(space);
  for (let r = 0; r < options.runs; r++) {
    const m = r % p.messageModulus;
    const ct = deserializeCiphertext(tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.encrypt(clientKey, BigInt(m))), p);
    const ref = r < options.referenceRuns ? blindRotationNoise(key, ct, lut, 'reference', secrets) : null;
    if (ref) reference.add(ref);
    for (const path of fast) {
      const noise = blindRotationNoise(key, ct, lut, path, secrets);
      all.get(path)!.add(noise);
      output.get(path)!.push(noise[0]!);
      if (ref) {
        paired.get(path)!.path.add(noise);
        paired.get(path)!.difference.add(noise.map((x, j) => x - ref[j]!));
      }
    }
    // Noise right before the next blind rotation, on this output (the default path's): on every
    // run for both keyswitches when the relaxed kernels exist (1,000 samples pin a variance of ~20
    // to ±4.5%), else on the first 200 (±10%, a few bits of the tail estimate at most).
    if (!ksAudited && r >= SWITCHED_RUNS) continue;
    const out = programmableBootstrap(key, ct, lut);
    const plaintext = BigInt(table[m]!) * delta;
    if (!ksAudited) {
      switched.push(switchedPhaseError(key, out, plaintext, secrets));
      continue;
    }
    const before = kernelVariant();
    for (const [name, variant] of Object.entries(keyswitches) as [keyof typeof keyswitches, 'plain' | 'relaxed'][]) {
      selectKernelVariant(variant);
      ksAudit[name].keyswitched.push(keyswitchedPhaseError(key, out, plaintext, secrets));
      ksAudit[name].switched.push(switchedPhaseError(key, out, plaintext, secrets));
      if (variant === before) switched.push(ksAudit[name].switched.at(-1)!);
    }
    selectKernelVariant(before);
    ksDifference.push(ksAudit.hi32.keyswitched.at(-1)! - ksAudit.exact.keyswitched.at(-1)!);
  }
  const twoN = 2 * p.polynomialSize;
  const scale = twoN / 2 ** 64; // torus units → units of 1/2N
  const margin = twoN / (4 * space); // Δ/2 in units of 1/2N
  const nu = p.maxNoiseLevel;
  const switchedVariance = sampleVariance(switched).variance;
  const defaultOutput = all.get(fast[0]!)!.variance;
  // What keyswitch and modulus switch add to a PBS output's noise.
  const ksMsVariance = Math.max(0, switchedVariance - defaultOutput * scale * scale);
  const log2PFail = (outputVariance: number, ksMs = ksMsVariance) =>
    round(log2GaussianTail(margin, Math.sqrt(nu * nu * outputVariance * scale * scale + ksMs)), 1);
  // Each path with its own keyswitch: the exact one for the reference and plain, the high halves for relaxed.
  const ksMsOf = (name: keyof typeof keyswitches) =>
    Math.max(0, sampleVariance(ksAudit[name].switched).variance - defaultOutput * scale * scale);
  const ksMsFor = (path: BlindRotationPath) => (ksAudited ? ksMsOf(path === 'relaxed' ? 'hi32' : 'exact') : ksMsVariance);
  const paths: Record<string, unknown> = {};
  if (options.referenceRuns > 0) {
    paths.reference = {
      bootstraps: Math.min(options.referenceRuns, options.runs),
      samples: reference.n,
      log2Variance: round(Math.log2(reference.variance)),
      log2PFailEstimate: log2PFail(reference.variance, ksMsFor('reference')),
    };
  }
  for (const path of fast) {
    const pair = paired.get(path)!;
    const outputVariance = sampleVariance(output.get(path)!).variance;
    paths[path] = {
      bootstraps: options.runs,
      samples: all.get(path)!.n,
      log2Variance: round(Math.log2(all.get(path)!.variance)),
      log2OutputVariance: round(Math.log2(outputVariance)),
      ...(options.referenceRuns > 0
        ? {
            varianceRatioToReference: round(pair.path.variance / reference.variance),
            log2DifferenceToReferenceVariance: round(Math.log2(pair.difference.variance)),
          }
        : {}),
      log2PFailEstimate: log2PFail(all.get(path)!.variance, ksMsFor(path)),
    };
  }
  const keyswitch = ksAudited
    ? {
        samples: ksDifference.length,
        ...Object.fromEntries(
          Object.entries(ksAudit).map(([name, audit]) => {
            const sv = sampleVariance(audit.switched).variance;
            return [
              name,
              {
                log2KeyswitchedErrorVariance: round(Math.log2(sampleVariance(audit.keyswitched).variance)),
                switchedPhaseErrorVariance: round(sv),
                log2PFailEstimate: log2PFail(all.get(fast[0]!)!.variance, ksMsOf(name as keyof typeof keyswitches)),
              },
            ];
          }),
        ),
        log2AddedErrorVariance: round(Math.log2(sampleVariance(ksDifference).variance)),
        // A mean shift moves every phase toward one decoding boundary, so it is reported on its
        // own: the mean over its standard error (|z| < 2 expected for a zero-mean error), and a
        // 95% bound on |mean| in torus units (log2), to set against the margin Δ/2.
        ...addedErrorMean(ksDifference),
        // What the high halves add, as a share of the exact keyswitch + modulus switch error.
        addedToSwitchedVarianceRatio: (sampleVariance(ksDifference).variance * scale * scale) / ksMsOf('exact'),
        switchedVarianceRatio: round(sampleVariance(ksAudit.hi32.switched).variance / sampleVariance(ksAudit.exact.switched).variance),
      }
    : null;
  return {
    noiseVarianceRatio: options.referenceRuns > 0 ? round(paired.get(fast[0]!)!.path.variance / reference.variance) : null,
    noise: {
      defaultPath: fast[0],
      lookupTable: '(7v + 3) mod p',
      paths,
      switchedPhaseErrorVariance: round(switchedVariance),
      switchedPhaseErrorSamples: switched.length,
      keyswitchModulusSwitchVariance: round(ksMsVariance),
      keyswitch,
      decodingMargin: margin,
      maxNoiseLevel: nu,
      failureModel: 'Gaussian tail of ν²·σ²_out·(2N/2^64)² + σ²_ks+ms against Δ/2, in units of 1/2N',
    },
  };
}
