/**
 * Reads `Shortint.serialize_client_key` bytes of tfhe 1.6.1 (bincode, no version header):
 *
 *   AtomicPatternClientKey::Standard (u32 0) {
 *     glwe_secret_key { data: Vec<u64> (k·N bits), polynomial_size },
 *     lwe_secret_key { data: Vec<u64> (n bits) },
 *     parameters: PBSParameters::PBS (u32 0) ClassicPBSParameters {
 *       lwe_dimension, glwe_dimension, polynomial_size,
 *       lwe_noise_distribution, glwe_noise_distribution: DynamicDistribution
 *         (u32 0 Gaussian { std: f64, mean: f64 } | u32 1 TUniform { bound_log2: u32 }),
 *       pbs_base_log, pbs_level, ks_base_log, ks_level, message_modulus, carry_modulus,
 *       max_noise_level (u64 each), log2_p_fail: f64, ciphertext_modulus (u128, u64 bits),
 *       encryption_key_choice (u32: 0 Big, 1 Small),
 *       modulus_switch_noise_reduction_params: ModulusSwitchType (u32 0 Standard |
 *         1 DriftTechniqueNoiseReduction { zeros_count: u64, ms_bound, ms_r_sigma_factor,
 *         ms_input_variance: f64 } | 2 CenteredMeanNoiseReduction) },
 *     wopbs_parameters: Option (u8 0 None) }
 *
 * The secret bits are copied out; the caller zeroes them after use (`zeroClientSecrets`).
 * Reading them never branches on their values (validity is folded into one flag checked at the end).
 */
import { EngineError } from '../errors.ts';
import type { ModulusSwitchConfig, ShortintParameters } from '../params/parameters.ts';
import { parameterSetName } from '../params/known-sets.ts';
import { engineReader, type BincodeReader } from '../serialize/bincode.ts';

/** A noise distribution as tfhe-rs `DynamicDistribution<u64>` states it. */
export type NoiseDistribution =
  /** Standard deviation (and mean) as fractions of the modulus 2^64. */
  | { readonly kind: 'gaussian'; readonly std: number; readonly mean: number }
  /** Uniform on [−2^b, 2^b], the end points with half the weight (tfhe-rs `TUniform`). */
  | { readonly kind: 'tuniform'; readonly boundLog2: number };

export interface KeygenParameters {
  /** The server key's parameters, as `deserializeCompressedServerKey` will read them back. */
  readonly params: ShortintParameters;
  /** Noise of the keyswitching key and the drift-technique encryptions of zero (small-key LWE). */
  readonly lweNoise: NoiseDistribution;
  /** Noise of the bootstrapping key (GLWE). */
  readonly glweNoise: NoiseDistribution;
}

export interface ClientSecrets extends KeygenParameters {
  /** Big LWE key (the GLWE key flattened), k·N bits, one per byte. */
  readonly glweKey: Uint8Array;
  /** Small LWE key, n bits, one per byte. */
  readonly lweKey: Uint8Array;
}

const WHAT = 'shortint ClientKey';
const MAX_KEY_BITS = 2 ** 17;

/** Overwrites the secret bits (call once keys are made). */
export function zeroClientSecrets(s: ClientSecrets): void {
  s.glweKey.fill(0);
  s.lweKey.fill(0);
}

function readSecretBits(r: BincodeReader, what: string, field: string): Uint8Array {
  const count = r.vecLength(field, MAX_KEY_BITS);
  const view = r.u64WordsView(count, field);
  const bits = new Uint8Array(count);
  let notBits = 0;
  for (let i = 0; i < count; i++) {
    const o = 8 * i;
    const low = view[o]!;
    bits[i] = low & 1;
    notBits |= (low >>> 1) | view[o + 1]! | view[o + 2]! | view[o + 3]! | view[o + 4]! | view[o + 5]! | view[o + 6]! | view[o + 7]!;
  }
  if (notBits !== 0) {
    bits.fill(0);
    throw new EngineError('invalid_value', `${what}: ${field} holds a word that is not a bit: not a binary secret key`);
  }
  return bits;
}

/** The secret keys a shortint `ClientKey` opens with, one bit per byte (copies: the caller zeroes them). */
export interface ClientKeySecretBits {
  /** Big LWE key (the GLWE key flattened), k·N bits. */
  readonly glweKey: Uint8Array;
  /** N, as the GLWE secret key states it. */
  readonly polynomialSize: number;
  /** Small LWE key, n bits. */
  readonly lweKey: Uint8Array;
}

/**
 * Reads the opening of a shortint `ClientKey` (atomic pattern, GLWE secret key and its N, LWE
 * secret key), up to its parameters; `r.pos` is then where they start. A high-level
 * `TfheClientKey` opens the same way (`fhe/compact/client-key.ts`), so `what` names the object.
 */
export function readClientKeySecretBits(r: BincodeReader, what: string): ClientKeySecretBits {
  const ap = r.tag('atomic pattern', ['Standard', 'KeySwitch32']);
  if (ap !== 0) throw new EngineError('unsupported', `${what}: the KeySwitch32 atomic pattern is not supported`);
  const glweKey = readSecretBits(r, what, 'GLWE secret key');
  try {
    const polynomialSize = r.u64InRange('GLWE secret key polynomial size', 1, 2 ** 16);
    const lweKey = readSecretBits(r, what, 'LWE secret key');
    return { glweKey, polynomialSize, lweKey };
  } catch (e) {
    glweKey.fill(0);
    throw e;
  }
}

function readDistribution(r: BincodeReader, field: string): NoiseDistribution {
  const kind = r.tag(`${field} kind`, ['Gaussian', 'TUniform']);
  if (kind === 0) {
    const std = r.f64(`${field} standard deviation`);
    const mean = r.f64(`${field} mean`);
    if (!Number.isFinite(std) || std <= 0 || std >= 2 ** -10 || mean !== 0) {
      throw new EngineError('invalid_value', `${WHAT}: ${field} Gaussian(std ${std}, mean ${mean}) is not a usable noise distribution`);
    }
    return { kind: 'gaussian', std, mean };
  }
  const boundLog2 = r.u32(`${field} bound`);
  if (boundLog2 > 50) throw new EngineError('invalid_value', `${WHAT}: ${field} TUniform bound 2^${boundLog2} exceeds 2^50`);
  return { kind: 'tuniform', boundLog2 };
}

/**
 * Parses the client key and the parameters the compressed server key is made of.
 * @throws {EngineError} `truncated`, `trailing_bytes`, `invalid_value`, `invalid_length` for bytes
 *   that are not a tfhe 1.6.1 shortint client key; `unsupported` for a valid key of a parameter
 *   set this generator does not make keys for (only the sets the engine evaluates).
 */
export function readClientSecrets(bytes: Uint8Array): ClientSecrets {
  if (!(bytes instanceof Uint8Array)) throw new EngineError('invalid_argument', `${WHAT}: expected a Uint8Array`);
  const r = engineReader(bytes, WHAT);
  const { glweKey, polynomialSize: keyPolynomialSize, lweKey } = readClientKeySecretBits(r, WHAT);
  try {
    const pbsKind = r.tag('PBS parameters kind', ['PBS', 'MultiBitPBS']);
    if (pbsKind !== 0) throw new EngineError('unsupported', `${WHAT}: multi-bit PBS parameters are not supported`);
    const n = r.u64InRange('lwe_dimension', 1, MAX_KEY_BITS);
    const k = r.u64InRange('glwe_dimension', 1, 8);
    const N = r.u64InRange('polynomial_size', 16, 2 ** 16);
    const lweNoise = readDistribution(r, 'lwe_noise_distribution');
    const glweNoise = readDistribution(r, 'glwe_noise_distribution');
    const pbsBaseLog = r.u64InRange('pbs_base_log', 1, 63);
    const pbsLevel = r.u64InRange('pbs_level', 1, 64);
    const ksBaseLog = r.u64InRange('ks_base_log', 1, 63);
    const ksLevel = r.u64InRange('ks_level', 1, 64);
    const messageModulus = r.u64InRange('message_modulus', 2, 2 ** 16);
    const carryModulus = r.u64InRange('carry_modulus', 1, 2 ** 16);
    const maxNoiseLevel = r.u64InRange('max_noise_level', 1, 2 ** 32);
    r.f64('log2_p_fail');
    r.nativeModulus(`${WHAT} ciphertext`);
    const keyChoice = r.tag('encryption_key_choice', ['Big', 'Small']);
    if (keyChoice !== 0) throw new EngineError('unsupported', `${WHAT}: PBS-KS keys (encryption key choice Small) are not supported`);
    const msKind = r.tag('modulus switch type', ['Standard', 'DriftTechniqueNoiseReduction', 'CenteredMeanNoiseReduction']);
    let modulusSwitch: ModulusSwitchConfig;
    if (msKind === 1) {
      const zerosCount = r.u64InRange('modulus_switch_zeros_count', 1, 2 ** 20);
      const msBound = r.f64('ms_bound');
      const msRSigmaFactor = r.f64('ms_r_sigma_factor');
      const msInputVariance = r.f64('ms_input_variance');
      modulusSwitch = { kind: 'drift', zerosCount, msBound, msRSigmaFactor, msInputVariance };
    } else {
      modulusSwitch = { kind: msKind === 0 ? 'standard' : 'centered_mean' };
    }
    const wopbs = r.u8('wopbs_parameters option');
    if (wopbs !== 0) throw new EngineError('unsupported', `${WHAT}: keys with WoPBS parameters are not supported`);
    r.end();

    if (keyPolynomialSize !== N || glweKey.length !== k * N || lweKey.length !== n) {
      throw new EngineError(
        'invalid_length',
        `${WHAT}: secret keys of ${glweKey.length} (N = ${keyPolynomialSize}) and ${lweKey.length} bits do not fit k·N = ${k * N}, n = ${n}`,
      );
    }
    const params: ShortintParameters = {
      lweDimension: n,
      glweDimension: k,
      polynomialSize: N,
      pbsBaseLog,
      pbsLevel,
      ksBaseLog,
      ksLevel,
      messageModulus,
      carryModulus,
      maxDegree: messageModulus * carryModulus - 1,
      maxNoiseLevel,
      modulusSwitch,
    };
    const name = parameterSetName(params);
    if (!SUPPORTED_SETS.includes(name)) {
      throw new EngineError(
        'unsupported',
        `${WHAT}: parameter set ${name} is not one this generator makes keys for (${SUPPORTED_SETS.join(', ')})`,
      );
    }
    return { params, lweNoise, glweNoise, glweKey, lweKey };
  } catch (e) {
    glweKey.fill(0);
    lweKey.fill(0);
    throw e;
  }
}

/** The tfhe-rs sets keys are made for: the two the engine evaluates and is tested with. */
export const SUPPORTED_SETS: readonly string[] = [
  'PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128',
  'V1_1_PARAM_MESSAGE_2_CARRY_2_KS_PBS_GAUSSIAN_2M128',
];
