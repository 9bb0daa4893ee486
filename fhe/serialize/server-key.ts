/**
 * `shortint::CompressedServerKey` in the bincode layout of `Shortint.serialize_compressed_server_key`
 * (tfhe 1.6.1):
 *
 *   CompressedAtomicPatternServerKey::Standard {
 *     SeededLweKeyswitchKey { data: Vec<u64> (bodies), decomp_base_log, decomp_level_count,
 *                             output_lwe_size, compression_seed, ciphertext_modulus },
 *     ShortintCompressedBootstrappingKey::Classic {
 *       SeededLweBootstrapKey (= SeededGgswCiphertextList) { data, glwe_size, polynomial_size,
 *                             decomp_base_log, decomp_level_count, compression_seed, ciphertext_modulus },
 *       CompressedModulusSwitchConfiguration: Standard | DriftTechniqueNoiseReduction {
 *         SeededLweCiphertextList { data, lwe_size, compression_seed, ciphertext_modulus },
 *         ms_bound, ms_r_sigma_factor, ms_input_variance } | CenteredMeanNoiseReduction },
 *     pbs_order },
 *   message_modulus, carry_modulus, max_degree, max_noise_level
 *
 * The layout is read by the one description of the format, `protocol/server-key.ts` (the same
 * steps the gateway runs while a key streams in): every length, kind and size is cross-checked
 * there (the KSK input dimension is k·N, the BSK holds one GGSW per small key coefficient, …)
 * before any body is referenced. This module adds what the engine itself can compute with
 * (decompositions of ≤ 52 bits, AES-CTR seeds, a cleartext space within the polynomial) and views
 * the bodies at the offsets the layout gives.
 *
 * The bodies are ~30 MB, so the parsed key views them in the input instead of copying them. With
 * tfhe 1.6.1's layout each body vector starts 4 bytes into an 8-byte word (enum tags are u32, so
 * only 4-byte alignment holds) at these offsets into the serialized key, all multiples of 4:
 *
 *   | set                     | KSK bodies | BSK bodies | drift zeros bodies |
 *   | 2_2 TUniform (centered) | 12         | 65,652     | (none)             |
 *   | V1_1 2_2 Gaussian       | 12         | 82,036     | 28,459,236         |
 *
 * So an input starting on a 4-byte boundary (any fresh `ArrayBuffer` or `SharedArrayBuffer`, as
 * the evaluator's upload buffers are) is never copied; other starts cost one copy of each body.
 */
import { readServerKeyLayout, ServerKeyFrameError, type ServerKeySeed, type ServerKeyVector } from '../../protocol/server-key.ts';
import { EngineError } from '../errors.ts';
import type { CompressedServerKey, CompressionSeed } from '../entities/server-key.ts';
import type { ShortintParameters } from '../params/parameters.ts';
import { aliasWords } from './bincode.ts';

/** Upper bound on any key vector: 2^27 words is 1 GiB of u64, far above every real parameter set. */
const MAX_KEY_WORDS = 2 ** 27;
/** A key whose lengths claim more than three such vectors is absurd (`invalid_length`), not truncated. */
const MAX_KEY_BYTES = 3 * MAX_KEY_WORDS * 8;
/** Largest decomposition precision β·L the engine's digit extraction represents exactly. */
const MAX_DECOMPOSITION_BITS = 52;

const WHAT = 'CompressedServerKey';

function refuse(code: EngineError['code'], message: string): never {
  throw new EngineError(code, `${WHAT}: ${message}`);
}

function inRange(name: string, v: number, min: number, max: number): void {
  if (v < min || v > max) refuse('invalid_value', `${name} = ${v} is outside [${min}, ${max}]`);
}

function compressionSeed(seed: ServerKeySeed, field: string): CompressionSeed {
  if (seed.kind !== 'ctr') refuse('unsupported', `${field}: XOF seeds are not produced by tfhe 1.6.1 shortint keys and are not supported`);
  return { seed: seed.seed, firstAesIndex: seed.firstAesIndex, firstByteIndex: seed.firstByteIndex };
}

function decomposition(which: string, baseLog: number, level: number): void {
  inRange(`${which} decomposition base log`, baseLog, 1, 63);
  inRange(`${which} decomposition level count`, level, 1, 64);
  if (baseLog * level > MAX_DECOMPOSITION_BITS) {
    refuse('unsupported', `${which} decomposition ${baseLog}×${level} keeps more than ${MAX_DECOMPOSITION_BITS} bits`);
  }
}

/**
 * Parses `Shortint.serialize_compressed_server_key` bytes (tfhe 1.6.1), checking every length
 * against the bytes that remain and every size against the others before referencing any body.
 *
 * The returned key's `bodies` arrays are views into `bytes` (copies only when `bytes` does not
 * start on a 4-byte boundary): do not modify `bytes` while the parsed key is in use, e.g. until
 * `expandServerKey` returns (the expanded key references nothing of it). The engine itself only
 * reads them.
 *
 * @throws {EngineError} `truncated`, `trailing_bytes`, `invalid_length`, `invalid_value`,
 *   `unsupported`, before any allocation proportional to the declared sizes
 */
export function deserializeCompressedServerKey(bytes: Uint8Array): CompressedServerKey {
  let layout: ReturnType<typeof readServerKeyLayout>;
  try {
    layout = readServerKeyLayout(bytes, MAX_KEY_BYTES);
  } catch (e) {
    if (e instanceof ServerKeyFrameError) refuse(e.code, e.message);
    throw e;
  }
  const { lweDimension: n, glweDimension: k, polynomialSize, messageModulus, carryModulus, maxDegree, maxNoiseLevel } = layout;
  decomposition('keyswitch', layout.ksBaseLog, layout.ksLevel);
  decomposition('bootstrap', layout.pbsBaseLog, layout.pbsLevel);
  inRange('keyswitch output LWE size', n + 1, 2, 2 ** 15);
  inRange('GLWE size', k + 1, 2, 9);
  inRange('message modulus', messageModulus, 2, 2 ** 16);
  inRange('carry modulus', carryModulus, 1, 2 ** 16);
  inRange('max noise level', maxNoiseLevel, 1, 2 ** 32);
  const p = messageModulus * carryModulus;
  if (p > polynomialSize) refuse('invalid_value', `cleartext space ${p} exceeds the polynomial size ${polynomialSize}`);

  const zeros = layout.modulusSwitchZeros;
  if (zeros) {
    for (const [name, v] of [
      ['ms_bound', zeros.msBound],
      ['ms_r_sigma_factor', zeros.msRSigmaFactor],
      ['ms_input_variance', zeros.msInputVariance],
    ] as const) {
      if (!Number.isFinite(v) || v < 0) refuse('invalid_value', `${name} = ${v} is not a finite non-negative number`);
    }
  }

  const params: ShortintParameters = {
    lweDimension: n,
    glweDimension: k,
    polynomialSize,
    pbsBaseLog: layout.pbsBaseLog,
    pbsLevel: layout.pbsLevel,
    ksBaseLog: layout.ksBaseLog,
    ksLevel: layout.ksLevel,
    messageModulus,
    carryModulus,
    maxDegree,
    maxNoiseLevel,
    modulusSwitch: zeros
      ? {
          kind: 'drift',
          zerosCount: zeros.words,
          msBound: zeros.msBound,
          msRSigmaFactor: zeros.msRSigmaFactor,
          msInputVariance: zeros.msInputVariance,
        }
      : { kind: layout.modulusSwitch === 'standard' ? 'standard' : 'centered_mean' },
  };
  const bodies = (v: ServerKeyVector) => aliasWords(bytes.subarray(v.offset, v.offset + v.words * 8));
  return {
    params,
    keyswitchKey: { bodies: bodies(layout.keyswitchKey), seed: compressionSeed(layout.keyswitchKey.seed, 'keyswitch key') },
    bootstrapKey: { bodies: bodies(layout.bootstrapKey), seed: compressionSeed(layout.bootstrapKey.seed, 'bootstrap key') },
    modulusSwitchZeros: zeros ? { bodies: bodies(zeros), seed: compressionSeed(zeros.seed, 'modulus switch zeros') } : null,
  };
}
