/**
 * Minimal bincode 1.3 (default options) reader and writer for the shortint objects: fixed-width
 * little-endian integers, u64 length prefixes, u32 enum tags (the layout `Shortint.serialize_*`
 * of tfhe 1.6.1 uses; no version tags, no header).
 *
 * Every read is bounds-checked first, and a length prefix is compared with the bytes that remain
 * before anything is allocated, so hostile input costs at most a copy of itself.
 */
import { EngineError } from '../errors.ts';

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // u64 words are stored as little-endian u32 pairs viewed through typed arrays.
  throw new Error('the FHE engine requires a little-endian platform');
}

/** Sequential reader over one serialized object; `what` names the object in error messages. */
export class BincodeReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  private need(n: number, field: string): void {
    if (this.remaining < n) {
      throw new EngineError('truncated', `${this.what}: ${field} needs ${n} bytes at offset ${this.pos}, only ${this.remaining} remain`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.pos++);
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u64(field: string): bigint {
    this.need(8, field);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  u128(field: string): bigint {
    const lo = this.u64(field);
    const hi = this.u64(field);
    return (hi << 64n) | lo;
  }

  f64(field: string): number {
    this.need(8, field);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A u64 that must lie in [min, max]; returned as a number (max ≤ 2^53). */
  u64InRange(field: string, min: number, max: number): number {
    const v = this.u64(field);
    if (v < BigInt(min) || v > BigInt(max)) {
      throw new EngineError('invalid_value', `${this.what}: ${field} = ${v} is outside [${min}, ${max}]`);
    }
    return Number(v);
  }

  /** A u64 that must equal `expected`. */
  u64Exactly(field: string, expected: number, code: 'invalid_value' | 'invalid_length' | 'parameter_mismatch'): number {
    const v = this.u64(field);
    if (v !== BigInt(expected)) {
      throw new EngineError(code, `${this.what}: ${field} = ${v}, expected ${expected}`);
    }
    return expected;
  }

  /** A u32 enum tag that must be one of `known` (declaration order from 0). */
  tag(field: string, known: readonly string[]): number {
    const t = this.u32(field);
    if (t >= known.length) {
      throw new EngineError(
        'invalid_value',
        `${this.what}: unknown ${field} variant ${t} (tfhe 1.6.1 knows ${known.map((k, i) => `${i}=${k}`).join(', ')})`,
      );
    }
    return t;
  }

  /**
   * Reads a `Vec<u64>` length prefix. A prefix above `maxCount` is refused as absurd
   * (`invalid_length`); one that fits the bound but not the remaining bytes is `truncated`.
   */
  vecLength(field: string, maxCount: number): number {
    const n = this.u64(`${field} length`);
    if (n > BigInt(maxCount)) {
      throw new EngineError('invalid_length', `${this.what}: ${field} declares ${n} words, more than the ${maxCount} allowed`);
    }
    const count = Number(n);
    this.need(count * 8, `${field} (${count} words)`);
    return count;
  }

  /** Copies `count` u64 words into a new array of little-endian u32 pairs (length 2·count). */
  u64Words(count: number, field: string, out = new Uint32Array(2 * count)): Uint32Array {
    this.need(count * 8, field);
    new Uint8Array(out.buffer, out.byteOffset, count * 8).set(this.bytes.subarray(this.pos, this.pos + count * 8));
    this.pos += count * 8;
    return out;
  }

  /** A view (no copy) of the next `count` u64 words' bytes; copy with {@link copyWords} once validated. */
  u64WordsView(count: number, field: string): Uint8Array {
    this.need(count * 8, field);
    const view = this.bytes.subarray(this.pos, this.pos + count * 8);
    this.pos += count * 8;
    return view;
  }

  /** Raw bytes (copied). */
  rawBytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Refuses bytes after the object's last field. */
  end(): void {
    if (this.remaining !== 0) {
      throw new EngineError(
        'trailing_bytes',
        `${this.what}: ${this.remaining} unexpected bytes after the last field (object ends at offset ${this.pos})`,
      );
    }
  }
}

/** Copies serialized u64 words (a view from {@link BincodeReader.u64WordsView}) into u32 pairs. */
export function copyWords(view: Uint8Array, out = new Uint32Array(view.length / 4)): Uint32Array {
  new Uint8Array(out.buffer, out.byteOffset, view.length).set(view);
  return out;
}

/**
 * Serialized u64 words (a view from {@link BincodeReader.u64WordsView}) as u32 pairs over the
 * same memory, without a copy, when they start on a 4-byte boundary (a `Uint32Array` needs one);
 * otherwise a copy. Byte order never forces a copy: this module refuses big-endian platforms, so
 * the little-endian serialized words already are the engine's (low, high) pairs.
 *
 * The result aliases the input: writes to either show in the other.
 */
export function aliasWords(view: Uint8Array): Uint32Array {
  if (view.byteOffset % 4 !== 0) return copyWords(view);
  return new Uint32Array(view.buffer, view.byteOffset, view.length / 4);
}

/** Sequential writer into a buffer of known exact size. */
export class BincodeWriter {
  private pos = 0;
  private readonly view: DataView;
  readonly bytes: Uint8Array;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u32(v: number): void {
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  u64(v: number | bigint): void {
    this.view.setBigUint64(this.pos, BigInt(v), true);
    this.pos += 8;
  }

  u128(v: bigint): void {
    this.u64(v & 0xffff_ffff_ffff_ffffn);
    this.u64(v >> 64n);
  }

  /** Writes little-endian u32 pairs as u64 words. */
  u64Words(words: Uint32Array): void {
    this.bytes.set(new Uint8Array(words.buffer, words.byteOffset, words.byteLength), this.pos);
    this.pos += words.byteLength;
  }

  /** Returns the bytes, checking the size computed up front was exact. */
  finish(): Uint8Array {
    if (this.pos !== this.bytes.length) {
      throw new Error(`serializer wrote ${this.pos} bytes into a ${this.bytes.length}-byte buffer`);
    }
    return this.bytes;
  }
}
