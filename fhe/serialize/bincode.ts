/**
 * The engine's side of bincode 1.3 (the layout `Shortint.serialize_*` of tfhe 1.6.1 uses): the
 * shared reader (`protocol/bincode-reader.ts`) raising `EngineError`s, u64 words as the engine's
 * u32 pairs, and the writer of the objects the engine serializes.
 */
import { BincodeReader } from '../../protocol/bincode-reader.ts';
import { EngineError } from '../errors.ts';

export type { BincodeReader };

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // u64 words are stored as little-endian u32 pairs viewed through typed arrays.
  throw new Error('the FHE engine requires a little-endian platform');
}

/** A reader over one serialized object whose failures are `EngineError`s; `what` names the object in messages. */
export function engineReader(bytes: Uint8Array, what: string): BincodeReader {
  return new BincodeReader(bytes, what, (code, message) => new EngineError(code, message));
}

/** Copies serialized u64 words (a view from `BincodeReader.u64WordsView`) into u32 pairs. */
export function copyWords(view: Uint8Array, out = new Uint32Array(view.length / 4)): Uint32Array {
  new Uint8Array(out.buffer, out.byteOffset, view.length).set(view);
  return out;
}

/**
 * Serialized u64 words (a view from `BincodeReader.u64WordsView`) as u32 pairs over the
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
