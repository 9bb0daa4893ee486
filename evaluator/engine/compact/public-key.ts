/**
 * `TfheCompactPublicKey.serialize()` bytes of tfhe 1.6.1 (bincode), read for their parameters
 * only — the key itself is used by the encrypting side's node-tfhe / tfhe client:
 *
 *   LweCompactPublicKey { GlweCiphertext { data: Vec<u64> (mask a, body b = −a·s + e), polynomial_size,
 *                         ciphertext_modulus } },
 *   CompactPublicKeyEncryptionParameters { encryption_lwe_dimension,
 *     encryption_noise_distribution: Gaussian { std: f64, mean: f64 } | TUniform { bound_log2: u32 },
 *     message_modulus, carry_modulus, ciphertext_modulus, expansion_kind, zk_scheme },
 *   tag: bytes
 *
 * Browser-safe (no Node imports), so clients may import this module directly.
 */
import { EngineError } from '../errors.ts';
import { BincodeReader } from '../serialize/bincode.ts';
import { readNativeCiphertextModulus, readStandardKsPbsAtomicPattern } from '../serialize/common.ts';
import { MAX_TAG_BYTES } from './serialize.ts';

const WHAT = 'CompactPublicKey';

/** What a compact public key encrypts to. */
export interface CompactPublicKeyInfo {
  /** d: dimension of the ciphertexts it produces (k·N when it belongs to the computation parameters). */
  readonly lweDimension: number;
  readonly noise:
    | { readonly kind: 'tuniform'; readonly boundLog2: number }
    | { readonly kind: 'gaussian'; readonly std: number; readonly mean: number };
  readonly messageModulus: number;
  readonly carryModulus: number;
  /** `no_casting`: lists expand straight into ciphertexts of the computation key; `requires_casting`: they need a casting key. */
  readonly expansion: 'no_casting' | 'requires_casting';
  readonly zkScheme: 'not_supported' | 'v1' | 'v2';
}

function isPowerOfTwo(v: number): boolean {
  return v > 0 && (v & (v - 1)) === 0;
}

/**
 * Parses and checks the whole key (lengths, moduli, enum tags) and returns its parameters.
 * @throws EngineError `truncated`, `trailing_bytes`, `invalid_length`, `invalid_value`, `unsupported`.
 */
export function readCompactPublicKeyInfo(bytes: Uint8Array): CompactPublicKeyInfo {
  const r = new BincodeReader(bytes, WHAT);
  const words = r.vecLength('key data', 2 ** 18);
  r.u64WordsView(words, 'key data');
  const polynomialSize = r.u64InRange('polynomial size', 1, 2 ** 16);
  readNativeCiphertextModulus(r, WHAT);
  const lweDimension = r.u64InRange('encryption LWE dimension', 1, 2 ** 16);
  const noiseTag = r.tag('noise distribution', ['Gaussian', 'TUniform']);
  let noise: CompactPublicKeyInfo['noise'];
  if (noiseTag === 0) {
    const std = r.f64('Gaussian standard deviation');
    const mean = r.f64('Gaussian mean');
    if (!Number.isFinite(std) || std <= 0 || !Number.isFinite(mean)) {
      throw new EngineError('invalid_value', `${WHAT}: Gaussian noise (std ${std}, mean ${mean}) is not a distribution`);
    }
    noise = { kind: 'gaussian', std, mean };
  } else {
    const boundLog2 = r.u32('TUniform bound log2');
    if (boundLog2 > 63) throw new EngineError('invalid_value', `${WHAT}: TUniform bound 2^${boundLog2} exceeds the 64-bit torus`);
    noise = { kind: 'tuniform', boundLog2 };
  }
  const messageModulus = r.u64InRange('message modulus', 2, 2 ** 16);
  const carryModulus = r.u64InRange('carry modulus', 1, 2 ** 16);
  readNativeCiphertextModulus(r, `${WHAT} parameters`);
  const expansionTag = r.tag('expansion kind', ['RequiresCasting', 'NoCasting']);
  if (expansionTag === 1) readStandardKsPbsAtomicPattern(r, WHAT);
  const zk = r.tag('zk scheme', ['ZkNotSupported', 'V1', 'V2']);
  const tagLength = r.u64InRange('tag length', 0, MAX_TAG_BYTES);
  r.rawBytes(tagLength, 'tag');
  r.end();

  if (!isPowerOfTwo(polynomialSize) || polynomialSize !== lweDimension) {
    throw new EngineError('invalid_value', `${WHAT}: polynomial size ${polynomialSize} must be a power of two equal to the encryption dimension ${lweDimension}`);
  }
  if (words !== 2 * polynomialSize) {
    throw new EngineError('invalid_length', `${WHAT}: ${words} key words, a key of dimension ${lweDimension} has ${2 * polynomialSize}`);
  }
  return {
    lweDimension,
    noise,
    messageModulus,
    carryModulus,
    expansion: expansionTag === 1 ? 'no_casting' : 'requires_casting',
    zkScheme: (['not_supported', 'v1', 'v2'] as const)[zk]!,
  };
}

/** What a compact public key must encrypt to, for a parameter set. */
export interface ExpectedCompactPublicKey {
  readonly lweDimension: number;
  readonly messageModulus: number;
  readonly carryModulus: number;
  readonly noise: CompactPublicKeyInfo['noise']['kind'];
}

/**
 * Why a key does not fit a parameter set (empty when it does): dimension, moduli, noise family,
 * and whether its lists expand without a casting key — the only lists the engine takes.
 */
export function compactPublicKeyProblems(info: CompactPublicKeyInfo, expected: ExpectedCompactPublicKey): string[] {
  return [
    info.lweDimension !== expected.lweDimension ? `dimension ${info.lweDimension}, expected ${expected.lweDimension}` : '',
    info.messageModulus !== expected.messageModulus || info.carryModulus !== expected.carryModulus
      ? `message/carry modulus ${info.messageModulus}/${info.carryModulus}, expected ${expected.messageModulus}/${expected.carryModulus}`
      : '',
    info.noise.kind !== expected.noise ? `${info.noise.kind} noise, expected ${expected.noise}` : '',
    info.expansion !== 'no_casting' ? 'its lists need a casting key (dedicated public-key parameters)' : '',
  ].filter((p) => p !== '');
}
