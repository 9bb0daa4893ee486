/**
 * Streaming frame check of an uploaded `shortint::CompressedServerKey` (tfhe-rs 1.6.1 bincode,
 * as `Shortint.serialize_compressed_server_key` writes it).
 *
 * The key is ~30 MB and arrives in chunks. The length of each data vector comes before its data,
 * so the total size the key claims is known a few kilobytes into the stream, long before its end.
 * {@link readServerKeyFrame} re-reads the fixed-size fields of whatever prefix has arrived (a few
 * dozen reads, skipping the data vectors), so an upload can be refused as soon as its own header
 * fields contradict each other, the cap, or the declared Content-Length, and must end exactly
 * where those fields say it ends. The engine still checks every value before using the key.
 *
 * Layout (bincode: u32/u64/u128 little-endian, `Vec<T>` = u64 count then items):
 * atomic-pattern tag u32 · seeded KSK {Vec<u64> bodies, base_log, level, output_lwe_size, seed,
 * modulus} · bootstrap-key tag u32 · seeded BSK {Vec<u64> bodies, glwe_size, N, base_log, level,
 * seed, modulus} · modulus-switch tag u32 [+ seeded zeros list and three f64 when tag = 1] ·
 * pbs_order u32 · message_modulus · carry_modulus · max_degree · max_noise_level (u64 each).
 */
import type { ParamSetName } from '../../../protocol/evaluator-api.ts';

/** The facts of a complete, self-consistent key frame. */
export interface ServerKeyFrame {
  /** The supported parameter set these dimensions match, or `null` for any other. */
  paramSet: ParamSetName | null;
  totalBytes: number;
  lweDimension: number;
  glweDimension: number;
  polynomialSize: number;
  ksBaseLog: number;
  ksLevel: number;
  pbsBaseLog: number;
  pbsLevel: number;
  modulusSwitch: 'standard' | 'drift' | 'centered_mean';
  driftZeros: number;
  messageModulus: number;
  carryModulus: number;
}

/** Either the frame is complete, or at least `minTotalBytes` are needed (the key says so). */
export type FrameState = { complete: true; frame: ServerKeyFrame } | { complete: false; minTotalBytes: number };

/** The bytes contradict the format; `message` says which field, never any key material. */
export class ServerKeyFrameError extends Error {
  override readonly name = 'ServerKeyFrameError';
}

/** Signals that the prefix ends before the field at `needed`. */
class NeedMore {
  constructor(readonly needed: number) {}
}

const MODULUS_SWITCH = ['standard', 'drift', 'centered_mean'] as const;

/** Dimensions of the supported sets (spec §10); everything else is `paramSet: null`. */
const PARAM_SETS: Record<ParamSetName, Omit<ServerKeyFrame, 'paramSet' | 'totalBytes'>> = {
  tuniform: {
    lweDimension: 918,
    glweDimension: 1,
    polynomialSize: 2048,
    ksBaseLog: 4,
    ksLevel: 4,
    pbsBaseLog: 23,
    pbsLevel: 1,
    modulusSwitch: 'centered_mean',
    driftZeros: 0,
    messageModulus: 4,
    carryModulus: 4,
  },
  gaussian: {
    lweDimension: 866,
    glweDimension: 1,
    polynomialSize: 2048,
    ksBaseLog: 3,
    ksLevel: 5,
    pbsBaseLog: 23,
    pbsLevel: 1,
    modulusSwitch: 'drift',
    driftZeros: 1446,
    messageModulus: 4,
    carryModulus: 4,
  },
};

/** Sequential reader over the arrived prefix; a read past it throws {@link NeedMore}. */
class Cursor {
  private readonly view: DataView;
  offset = 0;
  constructor(
    bytes: Uint8Array,
    private readonly length: number,
    private readonly maxBytes: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, length);
  }
  private need(n: number): number {
    const at = this.offset;
    if (at + n > this.length) throw new NeedMore(at + n);
    this.offset += n;
    return at;
  }
  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  /** A u64 that must fit a safe integer (sizes, counts, small parameters). */
  u64(field: string): number {
    const at = this.need(8);
    const hi = this.view.getUint32(at + 4, true);
    if (hi >= 0x20_0000) throw new ServerKeyFrameError(`${field} is out of range`);
    return hi * 2 ** 32 + this.view.getUint32(at, true);
  }
  u128IsZero(): boolean {
    const at = this.need(16);
    for (let i = 0; i < 16; i += 4) if (this.view.getUint32(at + i, true) !== 0) return false;
    return true;
  }
  skip(n: number, field: string): void {
    // Refuse before waiting for bytes that could never be accepted.
    if (this.offset + n > this.maxBytes) {
      throw new ServerKeyFrameError(`${field} claims ${n} bytes, more than a key may have`);
    }
    this.offset += n;
  }
  /** A `Vec<u64>`: returns its word count and skips its data. */
  words(field: string): number {
    const count = this.u64(`${field} length`);
    this.skip(count * 8, field);
    return count;
  }
}

function expect(ok: boolean, message: string): void {
  if (!ok) throw new ServerKeyFrameError(message);
}

function readSeed(c: Cursor, field: string): void {
  const kind = c.u32();
  if (kind === 0) c.skip(16, `${field} seed`);
  else if (kind === 1) {
    const len = c.u64(`${field} xof seed length`);
    expect(len <= 64, `${field} xof seed is too long`);
    c.skip(len, `${field} xof seed`);
  } else throw new ServerKeyFrameError(`${field} seed kind ${kind} is unknown`);
  c.skip(16, `${field} aes index`);
  expect(c.u64(`${field} byte index`) < 16, `${field} byte index must be < 16`);
}

function readModulus(c: Cursor, field: string): void {
  expect(c.u128IsZero(), `${field} ciphertext modulus must be native (2^64)`);
  expect(c.u64(`${field} scalar bits`) === 64, `${field} scalar bits must be 64`);
}

function readDecomposition(c: Cursor, field: string): { baseLog: number; level: number } {
  const baseLog = c.u64(`${field} base log`);
  const level = c.u64(`${field} level count`);
  expect(baseLog >= 1 && level >= 1 && baseLog * level <= 64, `${field} decomposition ${baseLog}×${level} is invalid`);
  return { baseLog, level };
}

const isPowerOfTwo = (v: number) => v > 0 && (v & (v - 1)) === 0;

function parse(c: Cursor): ServerKeyFrame {
  expect(c.u32() === 0, 'atomic pattern must be Standard (0)');

  const kskWords = c.words('keyswitch key');
  const ks = readDecomposition(c, 'keyswitch key');
  const outputLweSize = c.u64('keyswitch output size');
  expect(outputLweSize >= 2 && outputLweSize <= 1 << 16, 'keyswitch output size is out of range');
  readSeed(c, 'keyswitch key');
  readModulus(c, 'keyswitch key');

  expect(c.u32() === 0, 'bootstrap key must be Classic (0)');
  const bskWords = c.words('bootstrap key');
  const glweSize = c.u64('glwe size');
  const polynomialSize = c.u64('polynomial size');
  expect(glweSize >= 2 && glweSize <= 16, 'glwe size is out of range');
  expect(isPowerOfTwo(polynomialSize) && polynomialSize >= 256 && polynomialSize <= 1 << 16, 'polynomial size is invalid');
  const pbs = readDecomposition(c, 'bootstrap key');
  readSeed(c, 'bootstrap key');
  readModulus(c, 'bootstrap key');

  const lweDimension = outputLweSize - 1;
  const glweDimension = glweSize - 1;
  expect(kskWords === glweDimension * polynomialSize * ks.level, 'keyswitch key length does not match its dimensions');
  expect(bskWords === lweDimension * pbs.level * glweSize * polynomialSize, 'bootstrap key length does not match its dimensions');

  const msTag = c.u32();
  const modulusSwitch = MODULUS_SWITCH[msTag];
  if (modulusSwitch === undefined) throw new ServerKeyFrameError(`modulus switch kind ${msTag} is unknown`);
  let driftZeros = 0;
  if (modulusSwitch === 'drift') {
    driftZeros = c.words('drift zeros');
    expect(driftZeros >= 1, 'drift zeros list is empty');
    expect(c.u64('drift zeros lwe size') === outputLweSize, 'drift zeros lwe size does not match the keyswitch output');
    readSeed(c, 'drift zeros');
    readModulus(c, 'drift zeros');
    c.skip(24, 'drift parameters');
  }

  expect(c.u32() === 0, 'pbs order must be KeyswitchBootstrap (0)');
  const messageModulus = c.u64('message modulus');
  const carryModulus = c.u64('carry modulus');
  expect(isPowerOfTwo(messageModulus) && isPowerOfTwo(carryModulus), 'message and carry moduli must be powers of two');
  expect(c.u64('max degree') === messageModulus * carryModulus - 1, 'max degree must be message × carry − 1');
  c.u64('max noise level');

  const dims = {
    lweDimension,
    glweDimension,
    polynomialSize,
    ksBaseLog: ks.baseLog,
    ksLevel: ks.level,
    pbsBaseLog: pbs.baseLog,
    pbsLevel: pbs.level,
    modulusSwitch,
    driftZeros,
    messageModulus,
    carryModulus,
  };
  const matches = (set: typeof dims) => (Object.keys(dims) as (keyof typeof dims)[]).every((k) => set[k] === dims[k]);
  const paramSet = (Object.keys(PARAM_SETS) as ParamSetName[]).find((name) => matches(PARAM_SETS[name])) ?? null;
  return { paramSet, totalBytes: c.offset, ...dims };
}

/**
 * Reads the frame of the first `length` bytes of `bytes`.
 *
 * @param maxBytes refuse at once a key whose fields claim more than this
 * @returns the complete frame when `length` covers it exactly; otherwise the least total size
 *   the fields read so far imply
 * @throws {ServerKeyFrameError} on a contradiction, or when `length` exceeds the frame
 */
export function readServerKeyFrame(bytes: Uint8Array, length: number, maxBytes: number): FrameState {
  const c = new Cursor(bytes, length, maxBytes);
  let frame: ServerKeyFrame;
  try {
    frame = parse(c);
  } catch (e) {
    if (e instanceof NeedMore) return { complete: false, minTotalBytes: e.needed };
    throw e;
  }
  if (length > frame.totalBytes) {
    throw new ServerKeyFrameError(`key has ${length - frame.totalBytes} bytes after its last field`);
  }
  return { complete: true, frame };
}
