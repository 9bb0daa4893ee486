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
 * All sizes are cross-checked (the KSK input dimension is k·N, the BSK holds one GGSW per small
 * key coefficient, …) before any body is referenced.
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
import { EngineError } from '../errors.ts';
import type { CompressedServerKey, CompressionSeed } from '../entities/server-key.ts';
import type { ModulusSwitchConfig, ShortintParameters } from '../params/parameters.ts';
import { aliasWords, engineReader, type BincodeReader } from './bincode.ts';
import { readCompressionSeed, readKeyswitchBootstrapOrder } from './common.ts';

/** Upper bound on any key vector: 2^27 words is 1 GiB of u64, far above every real parameter set. */
const MAX_KEY_WORDS = 2 ** 27;
/** Largest decomposition precision β·L the engine's digit extraction represents exactly. */
const MAX_DECOMPOSITION_BITS = 52;

const WHAT = 'CompressedServerKey';

function isPowerOfTwo(v: number): boolean {
  return Number.isInteger(v) && v > 0 && (v & (v - 1)) === 0;
}

function decomposition(r: BincodeReader, which: string): { baseLog: number; level: number } {
  const baseLog = r.u64InRange(`${which} decomposition base log`, 1, 63);
  const level = r.u64InRange(`${which} decomposition level count`, 1, 64);
  if (baseLog * level > MAX_DECOMPOSITION_BITS) {
    throw new EngineError(
      'unsupported',
      `${WHAT}: ${which} decomposition ${baseLog}×${level} keeps more than ${MAX_DECOMPOSITION_BITS} bits`,
    );
  }
  return { baseLog, level };
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
  const r = engineReader(bytes, WHAT);
  const ap = r.tag('atomic pattern', ['Standard', 'KeySwitch32']);
  if (ap !== 0) throw new EngineError('unsupported', `${WHAT}: the KeySwitch32 atomic pattern is not supported`);

  // Seeded LWE keyswitch key (bodies only).
  const kskCount = r.vecLength('keyswitch key bodies', MAX_KEY_WORDS);
  const kskView = r.u64WordsView(kskCount, 'keyswitch key bodies');
  const ks = decomposition(r, 'keyswitch');
  const kskOutputSize = r.u64InRange('keyswitch output LWE size', 2, 2 ** 15);
  const kskSeed = readCompressionSeed(r, 'keyswitch key');
  r.nativeModulus('keyswitch key');

  // Seeded LWE bootstrap key: a seeded GGSW list.
  const bskKind = r.tag('bootstrapping key', ['Classic', 'MultiBit']);
  if (bskKind !== 0) throw new EngineError('unsupported', `${WHAT}: multi-bit bootstrapping keys are not supported`);
  const bskCount = r.vecLength('bootstrap key bodies', MAX_KEY_WORDS);
  const bskView = r.u64WordsView(bskCount, 'bootstrap key bodies');
  const glweSize = r.u64InRange('GLWE size', 2, 9);
  const polynomialSize = r.u64InRange('polynomial size', 16, 2 ** 16);
  if (!isPowerOfTwo(polynomialSize)) {
    throw new EngineError('invalid_value', `${WHAT}: polynomial size ${polynomialSize} is not a power of two`);
  }
  const pbs = decomposition(r, 'bootstrap');
  const bskSeed = readCompressionSeed(r, 'bootstrap key');
  r.nativeModulus('bootstrap key');

  // Modulus-switch configuration.
  const msKind = r.tag('modulus switch configuration', ['Standard', 'DriftTechniqueNoiseReduction', 'CenteredMeanNoiseReduction']);
  let modulusSwitch: ModulusSwitchConfig;
  let zeros: { view: Uint8Array; lweSize: number; seed: CompressionSeed } | null = null;
  if (msKind === 1) {
    const count = r.vecLength('modulus switch zeros bodies', MAX_KEY_WORDS);
    const view = r.u64WordsView(count, 'modulus switch zeros bodies');
    const lweSize = r.u64InRange('modulus switch zeros LWE size', 2, 2 ** 15);
    const seed = readCompressionSeed(r, 'modulus switch zeros');
    r.nativeModulus('modulus switch zeros');
    const msBound = r.f64('ms_bound');
    const msRSigmaFactor = r.f64('ms_r_sigma_factor');
    const msInputVariance = r.f64('ms_input_variance');
    for (const [name, v] of [
      ['ms_bound', msBound],
      ['ms_r_sigma_factor', msRSigmaFactor],
      ['ms_input_variance', msInputVariance],
    ] as const) {
      if (!Number.isFinite(v) || v < 0)
        throw new EngineError('invalid_value', `${WHAT}: ${name} = ${v} is not a finite non-negative number`);
    }
    if (count === 0) throw new EngineError('invalid_length', `${WHAT}: the drift technique needs at least one encryption of zero`);
    zeros = { view, lweSize, seed };
    modulusSwitch = { kind: 'drift', zerosCount: count, msBound, msRSigmaFactor, msInputVariance };
  } else {
    modulusSwitch = { kind: msKind === 0 ? 'standard' : 'centered_mean' };
  }
  readKeyswitchBootstrapOrder(r, WHAT);
  const messageModulus = r.u64InRange('message modulus', 2, 2 ** 16);
  const carryModulus = r.u64InRange('carry modulus', 1, 2 ** 16);
  const maxDegree = r.u64InRange('max degree', 1, 2 ** 32);
  const maxNoiseLevel = r.u64InRange('max noise level', 1, 2 ** 32);
  r.end();

  // Cross-checks between the parts, before referencing any body.
  const k = glweSize - 1;
  const bigDimension = k * polynomialSize;
  const n = kskOutputSize - 1;
  const p = messageModulus * carryModulus;
  if (!isPowerOfTwo(messageModulus) || !isPowerOfTwo(carryModulus)) {
    throw new EngineError('unsupported', `${WHAT}: message/carry moduli ${messageModulus}/${carryModulus} must be powers of two`);
  }
  if (p > polynomialSize) {
    throw new EngineError('invalid_value', `${WHAT}: cleartext space ${p} exceeds the polynomial size ${polynomialSize}`);
  }
  if (maxDegree > p - 1) {
    throw new EngineError('invalid_value', `${WHAT}: max degree ${maxDegree} exceeds message·carry − 1 = ${p - 1}`);
  }
  if (kskCount !== bigDimension * ks.level) {
    throw new EngineError(
      'invalid_length',
      `${WHAT}: keyswitch key has ${kskCount} bodies, expected k·N·ks_level = ${bigDimension}·${ks.level}`,
    );
  }
  const ggswWords = pbs.level * glweSize * polynomialSize;
  if (bskCount !== n * ggswWords) {
    throw new EngineError(
      'invalid_length',
      `${WHAT}: bootstrap key has ${bskCount} body words, expected n·pbs_level·(k+1)·N = ${n}·${ggswWords}`,
    );
  }
  if (zeros && zeros.lweSize !== n + 1) {
    throw new EngineError('invalid_length', `${WHAT}: modulus switch zeros have LWE size ${zeros.lweSize}, expected n+1 = ${n + 1}`);
  }

  const params: ShortintParameters = {
    lweDimension: n,
    glweDimension: k,
    polynomialSize,
    pbsBaseLog: pbs.baseLog,
    pbsLevel: pbs.level,
    ksBaseLog: ks.baseLog,
    ksLevel: ks.level,
    messageModulus,
    carryModulus,
    maxDegree,
    maxNoiseLevel,
    modulusSwitch,
  };
  return {
    params,
    keyswitchKey: { bodies: aliasWords(kskView), seed: kskSeed },
    bootstrapKey: { bodies: aliasWords(bskView), seed: bskSeed },
    modulusSwitchZeros: zeros ? { bodies: aliasWords(zeros.view), seed: zeros.seed } : null,
  };
}
