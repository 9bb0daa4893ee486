/**
 * The applicant's compact public key, as every tier reads it: the gateway checks an upload
 * before storing it, party backends check the key they are about to encrypt under, and the
 * evaluator's engine reads the same parameters (`fhe/compact/public-key.ts`
 * delegates here).
 *
 * Bytes are `TfheCompactPublicKey.serialize()` of tfhe 1.6.1 (bincode 1.3 default options:
 * little-endian fixed-width integers, u64 length prefixes, u32 enum tags), read for their
 * parameters only:
 *
 *   LweCompactPublicKey { GlweCiphertext { data: Vec<u64> (mask a, body b = −a·s + e),
 *                         polynomial_size, ciphertext_modulus } },
 *   CompactPublicKeyEncryptionParameters { encryption_lwe_dimension,
 *     encryption_noise_distribution: Gaussian { std: f64, mean: f64 } | TUniform { bound_log2: u32 },
 *     message_modulus, carry_modulus, ciphertext_modulus,
 *     expansion_kind: RequiresCasting | NoCasting(AtomicPatternKind), zk_scheme },
 *   tag: bytes
 *
 * Pure TypeScript over `Uint8Array` and `DataView`: browsers, Workers and Node alike.
 */
import { BincodeReader, FormatError, type FormatErrorCode } from './bincode-reader.ts';
import { BIG_LWE_DIMENSION } from './ciphertexts.ts';

/** Why a key was refused (see `FormatErrorCode`; `parameter_mismatch`: see {@link checkCompactPublicKey}). */
export type CompactPublicKeyErrorCode = FormatErrorCode;

/** A refused compact public key. */
export class CompactPublicKeyError extends FormatError {
  override readonly name = 'CompactPublicKeyError';
}

export function isCompactPublicKeyError(e: unknown): e is CompactPublicKeyError {
  return e instanceof CompactPublicKeyError;
}

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

/** What a compact public key must encrypt to, for a parameter set (its lists must also expand without casting). */
export interface ExpectedCompactPublicKey {
  readonly lweDimension: number;
  readonly messageModulus: number;
  readonly carryModulus: number;
  readonly noise: CompactPublicKeyInfo['noise']['kind'];
}

/**
 * The one table of accepted keys, by the manifest's parameter set id: the key is the high-level
 * client key's own (custom block parameters, as the widget makes it), so it encrypts at k·N with
 * the set's moduli and noise family, and its lists expand without a casting key.
 */
export const COMPACT_PUBLIC_KEY_SHAPES = {
  tuniform: { lweDimension: BIG_LWE_DIMENSION, messageModulus: 4, carryModulus: 4, noise: 'tuniform' },
  gaussian: { lweDimension: BIG_LWE_DIMENSION, messageModulus: 4, carryModulus: 4, noise: 'gaussian' },
} as const satisfies Record<string, ExpectedCompactPublicKey>;
export type CompactPublicKeySetId = keyof typeof COMPACT_PUBLIC_KEY_SHAPES;

const WHAT = 'CompactPublicKey';
/** Key data words accepted before anything is read (2·N for N ≤ 2^16 is 2^17). */
const MAX_KEY_WORDS = 2 ** 18;
/** The tag is never interpreted; a long one is refused rather than skipped. */
const MAX_TAG_BYTES = 1024;

/**
 * Parses and checks the whole key (lengths, moduli, enum tags) and returns its parameters.
 * @throws CompactPublicKeyError `truncated`, `trailing_bytes`, `invalid_length`, `invalid_value`, `unsupported`.
 */
export function readCompactPublicKeyInfo(bytes: Uint8Array): CompactPublicKeyInfo {
  const r = new BincodeReader(bytes, WHAT, (code, message) => new CompactPublicKeyError(code, message));
  const words = r.u64('key data length');
  if (words > BigInt(MAX_KEY_WORDS)) {
    throw new CompactPublicKeyError('invalid_length', `${WHAT}: key data declares ${words} words, more than the ${MAX_KEY_WORDS} allowed`);
  }
  r.take(Number(words) * 8, `key data (${words} words)`);
  const polynomialSize = r.u64InRange('polynomial size', 1, 2 ** 16);
  r.nativeModulus(WHAT);
  const lweDimension = r.u64InRange('encryption LWE dimension', 1, 2 ** 16);
  let noise: CompactPublicKeyInfo['noise'];
  if (r.tag('noise distribution', ['Gaussian', 'TUniform']) === 0) {
    const std = r.f64('Gaussian standard deviation');
    const mean = r.f64('Gaussian mean');
    if (!Number.isFinite(std) || std <= 0 || !Number.isFinite(mean)) {
      throw new CompactPublicKeyError('invalid_value', `${WHAT}: Gaussian noise (std ${std}, mean ${mean}) is not a distribution`);
    }
    noise = { kind: 'gaussian', std, mean };
  } else {
    const boundLog2 = r.u32('TUniform bound log2');
    if (boundLog2 > 63) throw new CompactPublicKeyError('invalid_value', `${WHAT}: TUniform bound 2^${boundLog2} exceeds the 64-bit torus`);
    noise = { kind: 'tuniform', boundLog2 };
  }
  const messageModulus = r.u64InRange('message modulus', 2, 2 ** 16);
  const carryModulus = r.u64InRange('carry modulus', 1, 2 ** 16);
  r.nativeModulus(`${WHAT} parameters`);
  const noCasting = r.tag('expansion kind', ['RequiresCasting', 'NoCasting']) === 1;
  if (noCasting) {
    if (r.tag('atomic pattern', ['Standard', 'KeySwitch32']) !== 0) {
      throw new CompactPublicKeyError('unsupported', `${WHAT}: the KeySwitch32 atomic pattern is not supported`);
    }
    if (r.tag('PBS order', ['KeyswitchBootstrap', 'BootstrapKeyswitch']) !== 0) {
      throw new CompactPublicKeyError('unsupported', `${WHAT}: the BootstrapKeyswitch PBS order is not supported`);
    }
  }
  const zk = r.tag('zk scheme', ['ZkNotSupported', 'V1', 'V2']);
  r.take(r.u64InRange('tag length', 0, MAX_TAG_BYTES), 'tag');
  r.end();

  if ((polynomialSize & (polynomialSize - 1)) !== 0 || polynomialSize !== lweDimension) {
    throw new CompactPublicKeyError(
      'invalid_value',
      `${WHAT}: polynomial size ${polynomialSize} must be a power of two equal to the encryption dimension ${lweDimension}`,
    );
  }
  if (Number(words) !== 2 * polynomialSize) {
    throw new CompactPublicKeyError(
      'invalid_length',
      `${WHAT}: ${words} key words, a key of dimension ${lweDimension} has ${2 * polynomialSize}`,
    );
  }
  return {
    lweDimension,
    noise,
    messageModulus,
    carryModulus,
    expansion: noCasting ? 'no_casting' : 'requires_casting',
    zkScheme: (['not_supported', 'v1', 'v2'] as const)[zk]!,
  };
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

/**
 * Reads a key and checks it against a parameter set of {@link COMPACT_PUBLIC_KEY_SHAPES}.
 * `setName` names the set in the message (e.g. the manifest's `tfheName`).
 * @throws CompactPublicKeyError a parse code, or `parameter_mismatch` listing every difference.
 * @example
 * const info = checkCompactPublicKey(bytes, manifest.parameterSet.id, manifest.parameterSet.tfheName);
 */
export function checkCompactPublicKey(bytes: Uint8Array, setId: CompactPublicKeySetId, setName: string = setId): CompactPublicKeyInfo {
  const info = readCompactPublicKeyInfo(bytes);
  const problems = compactPublicKeyProblems(info, COMPACT_PUBLIC_KEY_SHAPES[setId]);
  if (problems.length > 0) throw new CompactPublicKeyError('parameter_mismatch', `not a key of ${setName}: ${problems.join('; ')}`);
  return info;
}
