/**
 * LWE keyswitch from the big key (dimension k·N) to the small key (dimension n), tfhe-rs
 * `core_crypto::algorithms::lwe_keyswitch::keyswitch_lwe_ciphertext` (native modulus):
 *
 *   out = (0, …, 0, b) − Σ_i Σ_j d_{i,j} · KSK[i][j]
 *
 * where d_{i,j} are the signed digits of a_i (digit j pairs with KSK entry j, which encrypts
 * s_big[i]·2^(64−β(L−j))). The phase is preserved up to the decomposition rounding and the KSK noise.
 *
 * u64 arithmetic is split: the KSK is stored as separate low/high u32 arrays; Σ d·lo accumulates
 * exactly in a Float64Array (|d| ≤ 2^(β−1), at most k·N·L terms, far below 2^53) and Σ d·hi
 * wraps in an Int32Array (Math.imul), recombined mod 2^64 once per output word.
 */
import type { ShortintParameters } from '../params/parameters.ts';
import { decomposeWord } from './decomposition.ts';
import { TWO32 } from '../entities/torus.ts';

export interface KeyswitchScratch {
  readonly accLo: Float64Array;
  readonly accHi: Int32Array;
  readonly digits: Int32Array;
}

export function keyswitchScratch(params: ShortintParameters): KeyswitchScratch {
  return {
    accLo: new Float64Array(params.lweDimension + 1),
    accHi: new Int32Array(params.lweDimension + 1),
    digits: new Int32Array(params.ksLevel),
  };
}

/**
 * Keyswitches `input` (k·N+1 words as u32 pairs) into `output` (n+1 words as u32 pairs).
 * `kskLo`/`kskHi`: row t = i·L + j holds n mask words then the body.
 */
export function keyswitchLweCiphertext(
  params: ShortintParameters,
  kskLo: Uint32Array,
  kskHi: Uint32Array,
  input: Uint32Array,
  output: Uint32Array,
  scratch: KeyswitchScratch,
): void {
  const n = params.lweDimension;
  const size = n + 1;
  const inDim = input.length / 2 - 1;
  const { ksBaseLog: baseLog, ksLevel: level } = params;
  const { accLo, accHi, digits } = scratch;
  accLo.fill(0);
  accHi.fill(0);
  accLo[n] = input[2 * inDim]!;
  accHi[n] = input[2 * inDim + 1]! | 0;
  for (let i = 0; i < inDim; i++) {
    decomposeWord(input[2 * i]!, input[2 * i + 1]!, baseLog, level, digits, 0);
    for (let j = 0; j < level; j++) {
      const d = digits[j]!;
      if (d === 0) continue;
      const row = (i * level + j) * size;
      for (let w = 0; w < size; w++) {
        accLo[w] = accLo[w]! - d * kskLo[row + w]!;
        accHi[w] = (accHi[w]! - Math.imul(d, kskHi[row + w]!)) | 0;
      }
    }
  }
  for (let w = 0; w < size; w++) {
    const l = accLo[w]!;
    const carry = Math.floor(l / TWO32);
    output[2 * w] = l - carry * TWO32;
    output[2 * w + 1] = (accHi[w]! + carry) | 0;
  }
}
