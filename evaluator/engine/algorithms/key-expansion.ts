/**
 * Server-key expansion (tfhe-rs `decompress_seeded_lwe_keyswitch_key`,
 * `par_decompress_seeded_lwe_bootstrap_key` + `convert_standard_lwe_bootstrap_key_to_fourier`,
 * `decompress_seeded_lwe_ciphertext_list`): every seeded object's masks are regenerated from its
 * compression seed (the mask of row t starts at mask word t·(mask words per row)), joined with
 * the stored bodies, and the bootstrap key is moved to the Fourier domain.
 *
 * Large outputs are allocated on SharedArrayBuffers so worker threads can share one expanded key.
 */
import type { CompressedServerKey, ServerKey } from '../entities/server-key.ts';
import { SERVER_KEY_FORMAT } from '../entities/server-key.ts';
import { fillMaskWords, forEachMaskChunk } from '../csprng/aes-ctr.ts';
import { fftPlan, forwardNegacyclic } from '../fft/negacyclic.ts';
import { bigLweDimension } from '../params/parameters.ts';

function sharedUint32(length: number): Uint32Array {
  return new Uint32Array(new SharedArrayBuffer(length * 4));
}

function sharedFloat64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(length * 8));
}

export function expandServerKey(compressed: CompressedServerKey): ServerKey {
  const params = compressed.params;
  const { lweDimension: n, glweDimension: k, polynomialSize: N, ksLevel, pbsLevel } = params;
  const K = bigLweDimension(params);
  const size = n + 1;

  // Keyswitch key: K·L rows of n mask words (from the stream) + 1 body, split into low/high halves.
  const rows = K * ksLevel;
  const kskLo = sharedUint32(rows * size);
  const kskHi = sharedUint32(rows * size);
  forEachMaskChunk(compressed.keyswitchKey.seed, 0, rows * n, (chunk, first) => {
    const count = chunk.length / 2;
    let t = Math.floor(first / n);
    let w = first - t * n;
    for (let s = 0; s < count; s++) {
      const dst = t * size + w;
      kskLo[dst] = chunk[2 * s]!;
      kskHi[dst] = chunk[2 * s + 1]!;
      if (++w === n) {
        w = 0;
        t++;
      }
    }
  });
  const kskBodies = compressed.keyswitchKey.bodies;
  for (let t = 0; t < rows; t++) {
    kskLo[t * size + n] = kskBodies[2 * t]!;
    kskHi[t * size + n] = kskBodies[2 * t + 1]!;
  }

  // Bootstrap key: for GGSW i, level ℓ, row r, a GLWE of k stream mask polynomials + a stored body.
  const plan = fftPlan(N);
  const M = N / 2;
  const glweRows = n * pbsLevel * (k + 1);
  const fourierBootstrapKey = sharedFloat64(glweRows * (k + 1) * N);
  const mask = new Uint32Array(2 * k * N);
  const poly = new Float64Array(N);
  const bskBodies = compressed.bootstrapKey.bodies;
  for (let row = 0; row < glweRows; row++) {
    fillMaskWords(compressed.bootstrapKey.seed, row * k * N, k * N, mask, 0);
    for (let p = 0; p <= k; p++) {
      const src = p < k ? mask : bskBodies;
      const off = p < k ? p * N : row * N;
      // Torus element → signed integer → double (as tfhe-rs's forward_as_torus does).
      for (let c = 0; c < N; c++) poly[c] = (src[2 * (off + c) + 1]! | 0) * 4294967296 + src[2 * (off + c)]!;
      const dst = (row * (k + 1) + p) * N;
      forwardNegacyclic(plan, poly, fourierBootstrapKey, dst, dst + M);
    }
  }

  // Drift technique: the encryptions of zero, as whole LWE ciphertexts.
  let modulusSwitchZeros: Uint32Array | null = null;
  const zeros = compressed.modulusSwitchZeros;
  if (zeros) {
    const count = zeros.bodies.length / 2;
    modulusSwitchZeros = sharedUint32(2 * count * size);
    for (let t = 0; t < count; t++) {
      fillMaskWords(zeros.seed, t * n, n, modulusSwitchZeros, t * size);
      modulusSwitchZeros[2 * (t * size + n)] = zeros.bodies[2 * t]!;
      modulusSwitchZeros[2 * (t * size + n) + 1] = zeros.bodies[2 * t + 1]!;
    }
  }

  return {
    format: SERVER_KEY_FORMAT,
    params,
    keyswitchKeyLo: kskLo,
    keyswitchKeyHi: kskHi,
    fourierBootstrapKey,
    modulusSwitchZeros,
  };
}
