/**
 * The engine's one error type. Every rejected input (malformed bytes, a ciphertext that does not
 * belong to the key, an operation that would overflow the carry or noise budget) surfaces as an
 * {@link EngineError} with a machine-readable {@link EngineErrorCode}; the engine never lets a
 * RangeError, a typed-array allocation failure or an infinite loop escape on bad input.
 */

/** Why the engine refused an input. */
export type EngineErrorCode =
  /** The bytes end before a field the format requires. */
  | 'truncated'
  /** Bytes remain after the last field of the object. */
  | 'trailing_bytes'
  /** A valid tfhe-rs variant this engine does not implement (multi-bit PBS, KeySwitch32, XOF seeds, …). */
  | 'unsupported'
  /** A length prefix or array length that is inconsistent with the parameters or the byte count. */
  | 'invalid_length'
  /** A field outside its domain: unknown enum tag, scalar bits ≠ 64, non-binary parameter, … */
  | 'invalid_value'
  /** A ciphertext and a key (or two ciphertexts) built for different parameters. */
  | 'parameter_mismatch'
  /** The result's degree would exceed the key's max_degree (carry space would overflow). */
  | 'degree_overflow'
  /** The result's noise level would exceed the key's max_noise_level. */
  | 'noise_overflow'
  /** A JavaScript argument of the wrong shape: non-integer scalar, lookup table of the wrong size, … */
  | 'invalid_argument';

/** A typed, clear refusal. `code` is stable; `message` is for humans and names the offending values. */
export class EngineError extends Error {
  readonly code: EngineErrorCode;

  constructor(code: EngineErrorCode, message: string) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
  }
}

/** True when `e` is an {@link EngineError}, optionally of the given code. */
export function isEngineError(e: unknown, code?: EngineErrorCode): e is EngineError {
  return e instanceof EngineError && (code === undefined || e.code === code);
}
