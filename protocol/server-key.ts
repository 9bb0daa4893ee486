/**
 * The frame of a `shortint::CompressedServerKey` (tfhe-rs 1.6.1 bincode, as
 * `Shortint.serialize_compressed_server_key` writes it), read while the ~30 MB key streams past:
 * the gateway checks uploads with it before storing them, the evaluator service again on arrival.
 * It is the one description of the format: the engine's parser (`fhe/serialize/server-key.ts`)
 * runs it over a key held in memory ({@link readServerKeyLayout}) and views the data vectors at
 * the offsets it returns, which this reader otherwise only counts.
 *
 * The length of each data vector comes before its data, so every size the key claims is known a
 * few kilobytes in (the bootstrap key's length is at byte 65,644 of a 2_2 TUniform key, 82,028 of
 * a Gaussian one), long before its end: against an expected parameter set, every length and the
 * total size are checked there; the bootstrap key's own dimensions follow its ~30 MB of data and
 * are checked at the end. {@link ServerKeyFrameReader} takes the bytes chunk by chunk, keeps only the
 * fixed-size fields (a few dozen bytes at a time) and skips the data, so a key can be refused as
 * soon as its fields contradict each other, the parameter set expected, the cap or the declared
 * size, and must end exactly where its fields say it ends. Every refusal names the field.
 *
 * Layout (bincode 1.3 default options: u32/u64/u128 little-endian, `Vec<T>` = u64 count then
 * items, enum tags u32, no version tags): atomic-pattern tag · seeded KSK {Vec<u64> bodies,
 * base_log, level, output_lwe_size, seed, modulus} · bootstrap-key tag · seeded BSK {Vec<u64>
 * bodies, glwe_size, N, base_log, level, seed, modulus} · modulus-switch tag [+ seeded zeros list
 * and three f64 when tag = 1] · pbs_order · message_modulus · carry_modulus · max_degree ·
 * max_noise_level (u64 each).
 *
 * Pure TypeScript over `Uint8Array` and `DataView`: browsers, Workers and Node.
 */

import { FormatError, type FormatErrorCode } from './bincode-reader.ts';

/** The FHE parameter sets the engine knows, by the name the evaluator's API uses. */
export type ServerKeyParamSet = 'tuniform' | 'gaussian';

/** The facts of a complete, self-consistent key frame. */
export interface ServerKeyFrame {
  /** The supported parameter set these dimensions match, or `null` for any other. */
  paramSet: ServerKeyParamSet | null;
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

type Dimensions = Omit<ServerKeyFrame, 'paramSet' | 'totalBytes'>;

/** A `CompressionSeed`: a seed for AES-CTR (the kind tfhe 1.6.1 writes) or an XOF seed (not read further). */
export type ServerKeySeed = { kind: 'ctr'; seed: Uint8Array; firstAesIndex: bigint; firstByteIndex: number } | { kind: 'xof' };

/** Where a `Vec<u64>` of data sits in the key: its byte offset and its number of u64 words. */
export interface ServerKeyVector {
  offset: number;
  words: number;
}

/**
 * The whole layout of a complete key: its frame, plus where its data vectors are, their seeds,
 * the drift technique's parameters and the two trailing metadata fields. What the engine needs
 * to reference the key's data without reading its layout again.
 */
export interface ServerKeyLayout extends ServerKeyFrame {
  keyswitchKey: ServerKeyVector & { seed: ServerKeySeed };
  bootstrapKey: ServerKeyVector & { seed: ServerKeySeed };
  /** The drift technique's encryptions of zero and its parameters (`modulusSwitch` = `drift`). */
  modulusSwitchZeros: (ServerKeyVector & { seed: ServerKeySeed; msBound: number; msRSigmaFactor: number; msInputVariance: number }) | null;
  maxDegree: number;
  maxNoiseLevel: number;
}

/** Dimensions of the supported sets (spec §10). */
export const SERVER_KEY_PARAM_SETS: Readonly<Record<ServerKeyParamSet, Dimensions>> = {
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

/**
 * The bytes contradict the format, the parameter set expected or the size declared. `field`
 * names the field machine-readably (`bootstrap_key.length`, `parameter_set`, `size`, …);
 * `message` says what is wrong, never any key material; `code` classifies it as every binary
 * format does (`truncated`, `trailing_bytes`, `invalid_length`, `invalid_value`, `unsupported`,
 * `parameter_mismatch`).
 */
export class ServerKeyFrameError extends FormatError {
  override readonly name = 'ServerKeyFrameError';
  constructor(
    readonly field: string,
    message: string,
    code: FormatErrorCode = 'invalid_value',
  ) {
    super(code, message);
  }
}

/** What the parser asks of the bytes next: `read` n bytes of fields, or `skip` n bytes of data. */
type Step = { read: number } | { skip: number; field: string };
type Steps<T> = Generator<Step, T, Uint8Array>;

const MODULUS_SWITCH = ['standard', 'drift', 'centered_mean'] as const;
/** Bytes of a compression seed of kind 0 (u32 kind, u128 seed, u128 AES index, u64 byte index). */
const SEED_BYTES = 4 + 16 + 16 + 8;
/** An XOF seed (kind 1) replaces the 16-byte seed by a u64 length and at most this many bytes. */
const MAX_XOF_SEED = 64;
/** A native ciphertext modulus: u128 (0 = 2^64) and u64 scalar bits. */
const MODULUS_BYTES = 16 + 8;

/** Messages speak of fields in words (`keyswitch key`), `field` names them by path (`keyswitch_key.length`). */
function fail(field: string, message: string, code?: FormatErrorCode): never {
  throw new ServerKeyFrameError(
    field,
    message.replace(/[a-z]+(?:_[a-z]+)+/g, (name) => name.replace(/_/g, ' ')),
    code ?? (field.endsWith('.length') ? 'invalid_length' : 'invalid_value'),
  );
}

function expect(ok: boolean, field: string, message: string, code?: FormatErrorCode): void {
  if (!ok) fail(field, message, code);
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const isPowerOfTwo = (v: number) => v > 0 && (v & (v - 1)) === 0;

/** The parse, as steps over the byte stream (see {@link ServerKeyFrameReader}). */
function* frameSteps(
  maxBytes: number,
  expected: ServerKeyParamSet | undefined,
  onImplied: (min: number, max: number) => void,
): Steps<ServerKeyLayout> {
  let pos = 0;
  function* bytes(n: number): Steps<Uint8Array> {
    const b = yield { read: n };
    pos += n;
    return b;
  }
  function* u32(): Steps<number> {
    const b = yield { read: 4 };
    pos += 4;
    return view(b).getUint32(0, true);
  }
  /** A u64 that must fit a safe integer (sizes, counts, small parameters). */
  function* u64(field: string): Steps<number> {
    const b = yield { read: 8 };
    pos += 8;
    const hi = view(b).getUint32(4, true);
    if (hi >= 0x20_0000) fail(field, `${field} is out of range`);
    return hi * 2 ** 32 + view(b).getUint32(0, true);
  }
  /** A u32 enum tag: 0 is the variant read here, 1 a variant tfhe-rs has and this reader does not. */
  function* tag(field: string, other: string): Steps<void> {
    const t = yield* u32();
    if (t === 1) fail(field, `${field}: ${other} is not supported`, 'unsupported');
    expect(t === 0, field, `${field} ${t} is unknown`);
  }
  function* skip(n: number, field: string): Steps<void> {
    // Refuse before waiting for bytes that could never be accepted.
    if (pos + n > maxBytes) fail(field, `${field} claims ${n} bytes, more than a key may have`, 'invalid_length');
    if (n > 0) yield { skip: n, field };
    pos += n;
  }
  /** A `Vec<u64>`: returns where its data is and skips it. */
  function* words(field: string): Steps<ServerKeyVector> {
    const count = yield* u64(`${field}.length`);
    const offset = pos;
    yield* skip(count * 8, field);
    return { offset, words: count };
  }
  function* seed(field: string): Steps<ServerKeySeed> {
    const kind = yield* u32();
    let seed: Uint8Array | undefined;
    if (kind === 0) seed = (yield* bytes(16)).slice();
    else if (kind === 1) {
      const len = yield* u64(`${field}.seed`);
      expect(len <= MAX_XOF_SEED, `${field}.seed`, `${field} xof seed is too long`);
      yield* skip(len, `${field}.seed`);
    } else fail(`${field}.seed`, `${field} seed kind ${kind} is unknown`);
    const aes = view(yield* bytes(16));
    const firstAesIndex = (aes.getBigUint64(8, true) << 64n) | aes.getBigUint64(0, true);
    const firstByteIndex = yield* u64(`${field}.seed`);
    expect(firstByteIndex < 16, `${field}.seed`, `${field} seed byte index must be < 16`);
    return seed ? { kind: 'ctr', seed, firstAesIndex, firstByteIndex } : { kind: 'xof' };
  }
  function* modulus(field: string): Steps<void> {
    const b = yield* bytes(16);
    expect(
      b.every((x) => x === 0),
      `${field}.modulus`,
      `${field} ciphertext modulus must be native (2^64)`,
      'unsupported',
    );
    expect((yield* u64(`${field}.modulus`)) === 64, `${field}.modulus`, `${field} scalar bits must be 64`);
  }
  function* decomposition(field: string): Steps<{ baseLog: number; level: number }> {
    const baseLog = yield* u64(`${field}.decomposition`);
    const level = yield* u64(`${field}.decomposition`);
    expect(baseLog >= 1 && level >= 1, `${field}.decomposition`, `${field} decomposition ${baseLog}×${level} is invalid`);
    // More than the 64 bits of the torus: no tfhe-rs key has it, and the engine cannot read it.
    expect(baseLog * level <= 64, `${field}.decomposition`, `${field} decomposition ${baseLog}×${level} is invalid`, 'unsupported');
    return { baseLog, level };
  }

  // With an expected set, each size is checked against it as soon as it is read: the data that
  // follows a length is skipped by it, so a wrong one would make every later field garbage.
  const want = expected === undefined ? undefined : SERVER_KEY_PARAM_SETS[expected];
  const mismatch = (what: string) =>
    fail('parameter_set', `the key is not of the ${expected} parameter set (its ${what} differs)`, 'parameter_mismatch');

  yield* tag('atomic_pattern', 'the KeySwitch32 atomic pattern');

  const kskWords = yield* u64('keyswitch_key.length');
  const kskOffset = pos;
  if (want && kskWords !== kskWordsOf(want)) {
    // A length some other set has is a key of that set; any other is a corrupt length.
    if (Object.values(SERVER_KEY_PARAM_SETS).some((set) => kskWordsOf(set) === kskWords)) mismatch('keyswitch key');
    fail('keyswitch_key.length', `keyswitch key length ${kskWords} does not match the ${expected} parameters`);
  }
  yield* skip(kskWords * 8, 'keyswitch_key');
  const ks = yield* decomposition('keyswitch_key');
  if (want && (ks.baseLog !== want.ksBaseLog || ks.level !== want.ksLevel)) mismatch('keyswitch decomposition');
  const outputLweSize = yield* u64('keyswitch_key.output_lwe_size');
  expect(outputLweSize >= 2 && outputLweSize <= 1 << 16, 'keyswitch_key.output_lwe_size', 'keyswitch output size is out of range');
  if (want && outputLweSize !== want.lweDimension + 1) mismatch('LWE dimension');
  const kskSeed = yield* seed('keyswitch_key');
  yield* modulus('keyswitch_key');

  yield* tag('bootstrap_key.kind', 'a multi-bit bootstrap key');
  const bskWords = yield* u64('bootstrap_key.length');
  const bskOffset = pos;
  if (want) {
    if (bskWords !== bskWordsOf(want)) {
      if (Object.values(SERVER_KEY_PARAM_SETS).some((set) => bskWordsOf(set) === bskWords)) mismatch('bootstrap key');
      fail('bootstrap_key.length', `bootstrap key length ${bskWords} does not match the ${expected} parameters`);
    }
    // Every size of the key is known now: the rest is fixed-size fields and the set's tail.
    const seedMin = SEED_BYTES;
    const seedMax = SEED_BYTES - 16 + 8 + MAX_XOF_SEED;
    const rest = pos + bskWords * 8 + 2 * 8 + 2 * 8 + MODULUS_BYTES;
    const tail = tailBytes(want);
    onImplied(rest + seedMin + tail.min, rest + seedMax + tail.max);
  }
  yield* skip(bskWords * 8, 'bootstrap_key');
  const glweSize = yield* u64('bootstrap_key.glwe_size');
  const polynomialSize = yield* u64('bootstrap_key.polynomial_size');
  expect(glweSize >= 2 && glweSize <= 16, 'bootstrap_key.glwe_size', 'glwe size is out of range');
  expect(
    isPowerOfTwo(polynomialSize) && polynomialSize >= 256 && polynomialSize <= 1 << 16,
    'bootstrap_key.polynomial_size',
    'polynomial size is invalid',
  );
  const pbs = yield* decomposition('bootstrap_key');
  const bskSeed = yield* seed('bootstrap_key');
  yield* modulus('bootstrap_key');

  const lweDimension = outputLweSize - 1;
  const glweDimension = glweSize - 1;
  expect(
    kskWords === glweDimension * polynomialSize * ks.level,
    'keyswitch_key.length',
    'keyswitch key length does not match its dimensions',
  );
  expect(
    bskWords === lweDimension * pbs.level * glweSize * polynomialSize,
    'bootstrap_key.length',
    'bootstrap key length does not match its dimensions',
  );

  if (
    want &&
    (glweDimension !== want.glweDimension ||
      polynomialSize !== want.polynomialSize ||
      pbs.baseLog !== want.pbsBaseLog ||
      pbs.level !== want.pbsLevel)
  ) {
    mismatch('bootstrap key dimensions');
  }

  const msTag = yield* u32();
  const modulusSwitch = MODULUS_SWITCH[msTag] ?? fail('modulus_switch.kind', `modulus switch kind ${msTag} is unknown`);
  let driftZeros = 0;
  let zeros: ServerKeyLayout['modulusSwitchZeros'] = null;
  if (modulusSwitch === 'drift') {
    const vector = yield* words('modulus_switch.zeros');
    driftZeros = vector.words;
    expect(driftZeros >= 1, 'modulus_switch.zeros.length', 'drift zeros list is empty');
    expect(
      (yield* u64('modulus_switch.zeros.lwe_size')) === outputLweSize,
      'modulus_switch.zeros.lwe_size',
      'drift zeros lwe size does not match the keyswitch output',
    );
    const zerosSeed = yield* seed('modulus_switch.zeros');
    yield* modulus('modulus_switch.zeros');
    const ms = view(yield* bytes(24));
    zeros = {
      ...vector,
      seed: zerosSeed,
      msBound: ms.getFloat64(0, true),
      msRSigmaFactor: ms.getFloat64(8, true),
      msInputVariance: ms.getFloat64(16, true),
    };
  }

  yield* tag('pbs_order', 'the BootstrapKeyswitch PBS order');
  const messageModulus = yield* u64('message_modulus');
  const carryModulus = yield* u64('carry_modulus');
  expect(
    isPowerOfTwo(messageModulus) && isPowerOfTwo(carryModulus),
    'message_modulus',
    'message and carry moduli must be powers of two',
    'unsupported',
  );
  const maxDegree = yield* u64('max_degree');
  expect(maxDegree === messageModulus * carryModulus - 1, 'max_degree', 'max degree must be message × carry − 1');
  const maxNoiseLevel = yield* u64('max_noise_level');

  const dims: Dimensions = {
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
  const matches = (set: Dimensions) => (Object.keys(dims) as (keyof Dimensions)[]).every((k) => set[k] === dims[k]);
  const paramSet = (Object.keys(SERVER_KEY_PARAM_SETS) as ServerKeyParamSet[]).find((name) => matches(SERVER_KEY_PARAM_SETS[name])) ?? null;
  if (expected !== undefined && paramSet !== expected)
    fail('parameter_set', `the key is not of the ${expected} parameter set`, 'parameter_mismatch');
  return {
    paramSet,
    totalBytes: pos,
    ...dims,
    keyswitchKey: { offset: kskOffset, words: kskWords, seed: kskSeed },
    bootstrapKey: { offset: bskOffset, words: bskWords, seed: bskSeed },
    modulusSwitchZeros: zeros,
    maxDegree,
    maxNoiseLevel,
  };
}

/** Words of a set's keyswitch key bodies (k·N·ks_level) and bootstrap key (n·pbs_level·(k+1)·N). */
const kskWordsOf = (s: Dimensions) => s.glweDimension * s.polynomialSize * s.ksLevel;
const bskWordsOf = (s: Dimensions) => s.lweDimension * s.pbsLevel * (s.glweDimension + 1) * s.polynomialSize;

/** Bytes after the bootstrap key's modulus, for a set: the modulus-switch part and the five trailing fields. */
function tailBytes(set: Dimensions): { min: number; max: number } {
  const trailing = 4 + 4 + 4 * 8; // modulus-switch tag, pbs order, four u64
  if (set.modulusSwitch !== 'drift') return { min: trailing, max: trailing };
  const zeros = 8 + set.driftZeros * 8 + 8 + SEED_BYTES + MODULUS_BYTES + 24;
  return { min: trailing + zeros, max: trailing + zeros - 16 + 8 + MAX_XOF_SEED };
}

/**
 * Reads a key's frame from its bytes as they arrive, holding only the field being read.
 *
 * @example
 * const reader = new ServerKeyFrameReader({ maxBytes, declaredBytes: length, expected: 'tuniform' });
 * for await (const chunk of body) reader.push(chunk); // throws ServerKeyFrameError
 * const frame = reader.finish();
 */
export class ServerKeyFrameReader {
  private readonly steps: Steps<ServerKeyLayout>;
  private step: Step | undefined;
  /** The field being read, and how much of it has arrived. */
  private field = new Uint8Array(0);
  private filled = 0;
  /** Bytes of the current `skip` still to pass. */
  private skipping = 0;
  /** Bytes consumed so far (the offset of the current step's next byte). */
  private consumed = 0;
  private result: ServerKeyLayout | undefined;
  private implied: { min: number; max: number } | undefined;

  /**
   * @param opts.maxBytes refuse at once a key whose fields claim more than this
   * @param opts.declaredBytes the size the key must have (Content-Length, an announced size)
   * @param opts.expected the parameter set the key must be of: checked as soon as the bootstrap
   *   key's header arrives, with the total size its fields then imply
   */
  constructor(private readonly opts: { maxBytes: number; declaredBytes?: number; expected?: ServerKeyParamSet }) {
    this.steps = frameSteps(opts.maxBytes, opts.expected, (min, max) => {
      this.implied = { min, max };
      const d = opts.declaredBytes;
      if (d !== undefined && (d < min || d > max)) {
        fail(
          'size',
          min === max ? `the key's fields imply ${min} bytes, not ${d}` : `the key's fields imply ${min}–${max} bytes, not ${d}`,
          'invalid_length',
        );
      }
    });
    this.advance(this.steps.next());
  }

  /** Whether the whole frame has been read. */
  get complete(): boolean {
    return this.result !== undefined;
  }

  /** Whether the expected parameter set and the total size were checked (only with `expected`). */
  get headerChecked(): boolean {
    return this.implied !== undefined;
  }

  /** The least total size the fields read so far imply. */
  get minTotalBytes(): number {
    if (this.result) return this.result.totalBytes;
    const step = this.step;
    const pending = step === undefined ? 0 : 'read' in step ? step.read - this.filled : this.skipping;
    return Math.max(this.consumed + pending, this.implied?.min ?? 0);
  }

  /** Takes the next bytes of the key. @throws {ServerKeyFrameError} */
  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      const step = this.step;
      if (step === undefined) fail('size', `the key has bytes after its last field (at byte ${this.consumed})`, 'trailing_bytes');
      if ('skip' in step) {
        const n = Math.min(this.skipping, chunk.length - at);
        this.skipping -= n;
        at += n;
        this.consumed += n;
        if (this.skipping === 0) this.advance(this.steps.next(new Uint8Array(0)));
      } else {
        const n = Math.min(step.read - this.filled, chunk.length - at);
        this.field.set(chunk.subarray(at, at + n), this.filled);
        this.filled += n;
        at += n;
        this.consumed += n;
        if (this.filled === step.read) this.advance(this.steps.next(this.field));
      }
    }
  }

  /** The frame, once every byte has been pushed. @throws {ServerKeyFrameError} when the key ended early */
  finish(): ServerKeyLayout {
    if (!this.result) {
      fail('size', `the key is truncated: its fields need at least ${this.minTotalBytes} bytes, got ${this.consumed}`, 'truncated');
    }
    return this.result;
  }

  private advance(next: IteratorResult<Step, ServerKeyLayout>): void {
    if (next.done) {
      this.step = undefined;
      this.result = next.value;
      const d = this.opts.declaredBytes;
      if (d !== undefined && d !== next.value.totalBytes) {
        fail('size', `the key's fields imply ${next.value.totalBytes} bytes, not ${d}`, 'invalid_length');
      }
      return;
    }
    const step = next.value;
    this.step = step;
    const d = this.opts.declaredBytes;
    if ('skip' in step) {
      this.skipping = step.skip;
      if (d !== undefined && this.consumed + step.skip > d)
        fail(step.field, `${step.field} runs past the key's ${d} bytes`, 'invalid_length');
    } else {
      if (this.field.length < step.read) this.field = new Uint8Array(Math.max(step.read, 16));
      this.field = this.field.subarray(0, step.read);
      this.filled = 0;
      if (d !== undefined && this.consumed + step.read > d)
        fail('size', `the key's fields need more than its ${d} bytes`, 'invalid_length');
    }
  }
}

/** Either the frame is complete, or at least `minTotalBytes` are needed (the key says so). */
export type FrameState = { complete: true; frame: ServerKeyFrame } | { complete: false; minTotalBytes: number };

/**
 * Reads the frame of the first `length` bytes of `bytes` (a prefix of the key held in memory).
 *
 * @returns the complete frame when `length` covers it exactly; otherwise the least total size
 *   the fields read so far imply
 * @throws {ServerKeyFrameError} on a contradiction, or when `length` exceeds the frame
 */
export function readServerKeyFrame(bytes: Uint8Array, length: number, maxBytes: number): FrameState {
  const reader = new ServerKeyFrameReader({ maxBytes });
  reader.push(bytes.subarray(0, length));
  return reader.complete ? { complete: true, frame: reader.finish() } : { complete: false, minTotalBytes: reader.minTotalBytes };
}

/**
 * The layout of a whole key held in memory, read by the same steps as a streamed one: the
 * engine's parser (`fhe/serialize/server-key.ts`) references the data vectors at its offsets.
 * No allocation grows with the lengths the key claims.
 *
 * @param maxBytes a claimed length that makes the key larger than this is `invalid_length`; a
 *   length within it that runs past the bytes given is `truncated`
 * @throws {ServerKeyFrameError} with the format's `code` on any contradiction
 */
export function readServerKeyLayout(bytes: Uint8Array, maxBytes: number): ServerKeyLayout {
  const reader = new ServerKeyFrameReader({ maxBytes });
  reader.push(bytes);
  return reader.finish();
}
