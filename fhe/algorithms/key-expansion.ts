/**
 * Server-key expansion (tfhe-rs `decompress_seeded_lwe_keyswitch_key`,
 * `par_decompress_seeded_lwe_bootstrap_key` + `convert_standard_lwe_bootstrap_key_to_fourier`,
 * `decompress_seeded_lwe_ciphertext_list`): every seeded object's masks are regenerated from its
 * compression seed (the mask of row t starts at mask word t·(mask words per row)), joined with
 * the stored bodies, and the bootstrap key is moved to the Fourier domain.
 *
 * Large outputs are allocated on SharedArrayBuffers so worker threads can share one expanded key.
 * The compressed bodies are only read, never written: they are usually views into the caller's
 * serialized key (`deserializeCompressedServerKey`), and the expanded key keeps no reference to
 * them, so the upload, the expanded key and nothing else are alive while a key expands.
 */
import { randomUUID } from 'node:crypto';
import type { CompressedServerKey, ServerKey } from '../entities/server-key.ts';
import { SERVER_KEY_FORMAT } from '../entities/server-key.ts';
import type { ShortintParameters } from '../params/parameters.ts';
import { wasmPbsSupported, wasmScratchLayout } from './pbs-wasm.ts';
import { fillMaskWords, forEachMaskChunk } from '../csprng/aes-ctr.ts';
import { fftPlan, forwardNegacyclic } from '../fft/negacyclic.ts';
import { bigLweDimension } from '../params/parameters.ts';
import { TWO32 } from '../entities/torus.ts';

/** Scratch slots per key: the number of threads that can run the wasm path on it at once. */
const SCRATCH_SLOTS = 16;

interface KeyArrays {
  memory: WebAssembly.Memory | null;
  scratchSlots: ServerKey['scratchSlots'];
  kskLo: Uint32Array;
  kskHi: Uint32Array;
  bsk: Float64Array;
  zeros: Uint32Array | null;
}

/**
 * Allocates the key's arrays: inside one shared WebAssembly.Memory (with the scratch slots of
 * the wasm path) when the runtime supports it, else in plain SharedArrayBuffers.
 */
function allocateKeyArrays(params: ShortintParameters, kskWords: number, bskDoubles: number, zerosWords: number): KeyArrays {
  if (wasmPbsSupported(params)) {
    let at = 64 * Math.ceil((4 * SCRATCH_SLOTS) / 64); // slot flags first
    const take = (bytes: number) => {
      const start = at;
      at += 64 * Math.ceil(bytes / 64);
      return start;
    };
    const lo = take(4 * kskWords);
    const hi = take(4 * kskWords);
    const bsk = take(8 * bskDoubles);
    const zeros = take(8 * zerosWords);
    const slotSize = wasmScratchLayout(params).size;
    at = 65536 * Math.ceil(at / 65536);
    const slots = take(SCRATCH_SLOTS * slotSize);
    const pages = Math.ceil(at / 65536);
    try {
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
      const buffer = memory.buffer;
      return {
        memory,
        scratchSlots: { flags: 0, offset: slots, size: slotSize, count: SCRATCH_SLOTS },
        kskLo: new Uint32Array(buffer, lo, kskWords),
        kskHi: new Uint32Array(buffer, hi, kskWords),
        bsk: new Float64Array(buffer, bsk, bskDoubles),
        zeros: zerosWords > 0 ? new Uint32Array(buffer, zeros, 2 * zerosWords) : null,
      };
    } catch {
      // No room for a shared wasm memory of this size: fall through to the TypeScript layout.
    }
  }
  return {
    memory: null,
    scratchSlots: null,
    kskLo: new Uint32Array(new SharedArrayBuffer(4 * kskWords)),
    kskHi: new Uint32Array(new SharedArrayBuffer(4 * kskWords)),
    bsk: new Float64Array(new SharedArrayBuffer(8 * bskDoubles)),
    zeros: zerosWords > 0 ? new Uint32Array(new SharedArrayBuffer(8 * zerosWords)) : null,
  };
}

export function expandServerKey(compressed: CompressedServerKey): ServerKey {
  const params = compressed.params;
  const { lweDimension: n, glweDimension: k, polynomialSize: N, ksLevel, pbsLevel } = params;
  const K = bigLweDimension(params);
  const size = n + 1;

  const rows = K * ksLevel;
  const glweRows = n * pbsLevel * (k + 1);
  const zerosCount = compressed.modulusSwitchZeros ? compressed.modulusSwitchZeros.bodies.length / 2 : 0;
  const arrays = allocateKeyArrays(params, rows * size, glweRows * (k + 1) * N, zerosCount * size);

  // Keyswitch key: K·L rows of n mask words (from the stream) + 1 body, split into low/high halves.
  const { kskLo, kskHi } = arrays;
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
  const fourierBootstrapKey = arrays.bsk;
  const mask = new Uint32Array(2 * k * N);
  const poly = new Float64Array(N);
  const bskBodies = compressed.bootstrapKey.bodies;
  for (let row = 0; row < glweRows; row++) {
    fillMaskWords(compressed.bootstrapKey.seed, row * k * N, k * N, mask, 0);
    for (let p = 0; p <= k; p++) {
      const src = p < k ? mask : bskBodies;
      const off = p < k ? p * N : row * N;
      // Torus element → signed integer → double (as tfhe-rs's forward_as_torus does).
      for (let c = 0; c < N; c++) poly[c] = (src[2 * (off + c) + 1]! | 0) * TWO32 + src[2 * (off + c)]!;
      const dst = (row * (k + 1) + p) * N;
      forwardNegacyclic(plan, poly, fourierBootstrapKey, dst, dst + M);
    }
  }

  // Drift technique: the encryptions of zero, as whole LWE ciphertexts.
  const modulusSwitchZeros = arrays.zeros;
  const zeros = compressed.modulusSwitchZeros;
  if (zeros && modulusSwitchZeros) {
    for (let t = 0; t < zerosCount; t++) {
      fillMaskWords(zeros.seed, t * n, n, modulusSwitchZeros, t * size);
      modulusSwitchZeros[2 * (t * size + n)] = zeros.bodies[2 * t]!;
      modulusSwitchZeros[2 * (t * size + n) + 1] = zeros.bodies[2 * t + 1]!;
    }
  }

  return {
    format: SERVER_KEY_FORMAT,
    keyId: randomUUID(),
    params,
    memory: arrays.memory,
    scratchSlots: arrays.scratchSlots,
    keyswitchKeyLo: kskLo,
    keyswitchKeyHi: kskHi,
    fourierBootstrapKey,
    modulusSwitchZeros,
  };
}
