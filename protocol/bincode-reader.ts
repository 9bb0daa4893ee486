/**
 * Bounds-checked reads of tfhe-rs's bincode 1.3 encoding (default options: little-endian
 * fixed-width integers, u64 length prefixes, u32 enum tags; no version tags, no header): the one
 * reader of every binary format, here (public keys, compact lists) and in the FHE engine
 * (`fhe/serialize`: ciphertexts, keys). Browser- and workerd-safe.
 *
 * Every read is bounds-checked first, and a length prefix is compared with a bound and with the
 * bytes that remain before anything is allocated, so hostile input costs at most a copy of
 * itself. Every failure names the object, the field and the offset, and is raised through the
 * reader's own error type, so each format keeps its typed error.
 */

/** The codes a reader raises itself. */
export type BincodeErrorCode =
  /** The bytes end before a field the format requires. */
  | 'truncated'
  /** Bytes remain after the object's last field. */
  | 'trailing_bytes'
  /** A length prefix is absurd or does not match the dimension. */
  | 'invalid_length'
  /** A field outside its domain: unknown enum tag, scalar bits ≠ 64, N ≠ d, … */
  | 'invalid_value'
  /** A valid tfhe-rs variant the engine does not implement (custom modulus, KeySwitch32, …). */
  | 'unsupported';

/**
 * Why a format reader refused its bytes: the reader's codes, or `parameter_mismatch` for a
 * well-formed object of another parameter set. Each is also an `EngineErrorCode`, so the engine
 * rethrows a format error unchanged.
 */
export type FormatErrorCode = BincodeErrorCode | 'parameter_mismatch';

/** A refused binary object: a stable `code` and a message naming what is wrong; each format names its subclass. */
export class FormatError extends Error {
  constructor(
    readonly code: FormatErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type BincodeErrorFactory = (code: BincodeErrorCode, message: string) => Error;

export class BincodeReader {
  pos = 0;
  private readonly view: DataView;

  /** `what` names the object in messages ("CompactPublicKey"). */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
    private readonly fail: BincodeErrorFactory,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Claims `n` bytes and returns their offset. */
  take(n: number, field: string): number {
    if (this.remaining < n) {
      throw this.fail('truncated', `${this.what}: ${field} needs ${n} bytes at offset ${this.pos}, only ${this.remaining} remain`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(field: string): number {
    return this.view.getUint8(this.take(1, field));
  }

  u32(field: string): number {
    return this.view.getUint32(this.take(4, field), true);
  }

  u64(field: string): bigint {
    return this.view.getBigUint64(this.take(8, field), true);
  }

  /** A u128 as two u64 words, low first. */
  u128(field: string): bigint {
    const lo = this.u64(field);
    const hi = this.u64(field);
    return (hi << 64n) | lo;
  }

  f64(field: string): number {
    return this.view.getFloat64(this.take(8, field), true);
  }

  /** A u64 in [min, max] (max ≤ 2^53), as a number. */
  u64InRange(field: string, min: number, max: number): number {
    const v = this.u64(field);
    if (v < BigInt(min) || v > BigInt(max)) throw this.fail('invalid_value', `${this.what}: ${field} = ${v} is outside [${min}, ${max}]`);
    return Number(v);
  }

  /** A count or length prefix: above `max` it is absurd (`invalid_length`), refused before anything is allocated. */
  lengthPrefix(field: string, max: number): number {
    const v = this.u64(field);
    if (v > BigInt(max)) throw this.fail('invalid_length', `${this.what}: ${field} is ${v}, more than the ${max} allowed`);
    return Number(v);
  }

  /**
   * A `Vec<u64>` length prefix: above `maxCount` it is absurd (`invalid_length`); one within the
   * bound whose words do not fit the remaining bytes is `truncated`.
   */
  vecLength(field: string, maxCount: number): number {
    const count = this.lengthPrefix(`${field} length`, maxCount);
    if (this.remaining < count * 8) {
      throw this.fail(
        'truncated',
        `${this.what}: ${field} (${count} words) needs ${count * 8} bytes at offset ${this.pos}, only ${this.remaining} remain`,
      );
    }
    return count;
  }

  /** A view (no copy) of the next `count` u64 words' bytes. */
  u64WordsView(count: number, field: string): Uint8Array {
    const at = this.take(count * 8, field);
    return this.bytes.subarray(at, at + count * 8);
  }

  /** Copies the next `count` u64 words into little-endian u32 pairs (length 2·count). */
  u64Words(count: number, field: string, out = new Uint32Array(2 * count)): Uint32Array {
    new Uint8Array(out.buffer, out.byteOffset, count * 8).set(this.u64WordsView(count, field));
    return out;
  }

  /** The next `n` bytes, copied. */
  rawBytes(n: number, field: string): Uint8Array {
    const at = this.take(n, field);
    return this.bytes.slice(at, at + n);
  }

  /** A u32 enum tag, one of `known` (declaration order from 0). */
  tag(field: string, known: readonly string[]): number {
    const t = this.u32(field);
    if (t >= known.length) {
      throw this.fail(
        'invalid_value',
        `${this.what}: unknown ${field} variant ${t} (tfhe 1.6.1 knows ${known.map((k, i) => `${i}=${k}`).join(', ')})`,
      );
    }
    return t;
  }

  /**
   * tfhe-rs `CiphertextModulus<u64>` (u128 modulus, 0 = native 2^64; u64 scalar bits): only the
   * native modulus is accepted. `field` names it in messages.
   */
  nativeModulus(field: string): void {
    const modulus = this.u128(`${field} modulus`);
    const scalarBits = this.u64(`${field} scalar bits`);
    if (scalarBits !== 64n) throw this.fail('invalid_value', `${field}: scalar bits ${scalarBits}, expected 64 (u64 ciphertexts)`);
    if (modulus !== 0n) throw this.fail('unsupported', `${field}: custom modulus ${modulus}; only the native modulus 2^64 is supported`);
  }

  /** The object must end exactly here. */
  end(): void {
    if (this.remaining !== 0) {
      throw this.fail(
        'trailing_bytes',
        `${this.what}: ${this.remaining} unexpected bytes after the last field (the object ends at offset ${this.pos})`,
      );
    }
  }
}
