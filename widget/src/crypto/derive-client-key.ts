/**
 * The shortint client key inside a high-level `TfheClientKey`, so one secret serves both the
 * compact public key (parties encrypt under it) and the compressed server key the evaluator reads.
 *
 * tfhe 1.6.1's `TfheClientKey.serialize()` (bincode, little-endian) opens with exactly the bytes
 * `Shortint.serialize_client_key` writes for a key of the same block parameters:
 *
 *   u32 atomic-pattern tag (0 = Standard) · u64 count + count u64 words (GLWE secret, k·N bits) ·
 *   u64 polynomial size N · u64 count + count u64 words (LWE secret, n bits) · parameters
 *
 * and then the high-level key's own fields. The cut is checked against a template (the
 * `Shortint.serialize_client_key` bytes of any key of the set): same dimensions, and every
 * parameter byte identical. Only the secret bits come from the high-level key.
 *
 * The evaluator's engine has its own reader of this layout; the browser suite cross-checks the
 * two on real keys and on corrupted ones (`tests/browser/derive-client-key.test.ts`).
 */

/** Why a key could not be cut (the engine's `EngineError` codes for the same failures). */
export type KeyLayoutErrorCode = 'truncated' | 'invalid_length' | 'invalid_value' | 'unsupported' | 'parameter_mismatch';

export class KeyLayoutError extends Error {
  override readonly name = 'KeyLayoutError';
  constructor(
    readonly code: KeyLayoutErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Bound on a secret key's length, checked before reading it (2_2 sets: k·N = 2048, n ≤ 1024). */
const MAX_SECRET_BITS = 1 << 17;

interface SecretLayout {
  /** Byte offset of the parameters, just past the LWE secret. */
  paramsStart: number;
  glweBits: number;
  polynomialSize: number;
  lweBits: number;
}

function readSecretLayout(bytes: Uint8Array, what: string): SecretLayout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const take = (n: number, field: string): number => {
    if (at + n > bytes.byteLength) {
      throw new KeyLayoutError('truncated', `${what}: ${bytes.byteLength} bytes end inside the ${field}`);
    }
    const start = at;
    at += n;
    return start;
  };
  const u64 = (field: string, max: number, code: KeyLayoutErrorCode): number => {
    const v = view.getBigUint64(take(8, field), true);
    if (v > BigInt(max)) throw new KeyLayoutError(code, `${what}: ${field} ${v} exceeds ${max}`);
    return Number(v);
  };
  const secret = (field: string): number => {
    const bits = u64(`${field} length`, MAX_SECRET_BITS, 'invalid_length');
    const start = take(bits * 8, field);
    // Secret keys are binary: each u64 word holds 0 or 1, so anything else is not such a key.
    for (let w = 0; w < bits; w++) {
      const o = start + w * 8;
      if (view.getUint32(o + 4, true) !== 0 || view.getUint32(o, true) > 1) {
        throw new KeyLayoutError('invalid_value', `${what}: ${field} word ${w} is not a bit`);
      }
    }
    return bits;
  };

  const pattern = view.getUint32(take(4, 'atomic-pattern tag'), true);
  if (pattern !== 0) {
    throw new KeyLayoutError(pattern === 1 ? 'unsupported' : 'invalid_value', `${what}: atomic pattern ${pattern} is not Standard (0)`);
  }
  const glweBits = secret('GLWE secret key');
  const polynomialSize = u64('polynomial size', 1 << 16, 'invalid_value');
  if (polynomialSize === 0) throw new KeyLayoutError('invalid_value', `${what}: polynomial size 0`);
  const lweBits = secret('LWE secret key');
  if (glweBits % polynomialSize !== 0) {
    throw new KeyLayoutError(
      'invalid_length',
      `${what}: a GLWE key of ${glweBits} bits is not whole polynomials of size ${polynomialSize}`,
    );
  }
  return { paramsStart: at, glweBits, polynomialSize, lweBits };
}

/**
 * `Shortint.serialize_client_key`-format bytes holding the secret of a high-level client key.
 * @param highLevelKey `TfheClientKey.serialize()` bytes of a key made from the set's custom parameters.
 * @param template `Shortint.serialize_client_key` bytes of any key of the same set (its secret is ignored).
 * @returns a fresh copy; the caller zeroes it when done.
 * @throws KeyLayoutError `parameter_mismatch` when the keys belong to different sets, another code when malformed.
 */
export function deriveShortintClientKey(highLevelKey: Uint8Array, template: Uint8Array): Uint8Array {
  const hl = readSecretLayout(highLevelKey, 'TfheClientKey');
  const tpl = readSecretLayout(template, 'shortint ClientKey template');
  if (hl.glweBits !== tpl.glweBits || hl.polynomialSize !== tpl.polynomialSize || hl.lweBits !== tpl.lweBits) {
    throw new KeyLayoutError(
      'parameter_mismatch',
      `TfheClientKey: k·N = ${hl.glweBits}, N = ${hl.polynomialSize}, n = ${hl.lweBits}; ` +
        `the template: k·N = ${tpl.glweBits}, N = ${tpl.polynomialSize}, n = ${tpl.lweBits}`,
    );
  }
  // Equal dimensions put the parameters at the same offset in both.
  if (highLevelKey.byteLength < template.byteLength) {
    throw new KeyLayoutError(
      'truncated',
      `TfheClientKey: ${highLevelKey.byteLength} bytes cannot hold a shortint key of ${template.byteLength}`,
    );
  }
  for (let i = tpl.paramsStart; i < template.byteLength; i++) {
    if (highLevelKey[i] !== template[i]) {
      throw new KeyLayoutError('parameter_mismatch', `TfheClientKey: its parameters differ from the template's at byte ${i}`);
    }
  }
  return highLevelKey.slice(0, template.byteLength);
}
