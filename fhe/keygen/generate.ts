/**
 * Compressed server key generation (tfhe-rs 1.6.1 `Shortint.new_compressed_server_key`, KS-PBS
 * "Standard" atomic pattern): the seeded keyswitching key, the seeded bootstrapping key and, for
 * the drift technique, the seeded encryptions of zero, written in the exact bincode layout of
 * `Shortint.serialize_compressed_server_key` (see `serialize/server-key.ts`, which reads it back).
 *
 * Every object gets a fresh 128-bit compression seed from the platform CSPRNG (first AES index 0,
 * first byte index 0, as tfhe-rs writes them). Row t of an object takes mask words
 * t·(mask size) … of that seed's AES-CTR stream (tfhe-rs forks its mask generator without gaps),
 * so the decompressor regenerates exactly these masks. Bodies:
 *
 * - KSK row t = i·L + j (i < k·N, j < L): ⟨a, s⟩ + e + s_big[i]·2^(64−β(L−j)), e ~ LWE noise
 *   (tfhe-rs `generate_seeded_lwe_keyswitch_key`; the decomposition level of row j is L − j).
 * - BSK: GGSW i (i < n) of the small-key bit s_i, level row l < L (level L − l), GLWE row r ≤ k:
 *   B = Σ_p A_p·S_p + E + M with M = −s_i·f·S_r for r < k and M = s_i·f (constant) for r = k,
 *   f = 2^(64−β(L−l)), E ~ GLWE noise (tfhe-rs `encrypt_constant_ggsw_ciphertext`).
 * - drift zeros: ⟨a, s⟩ + e, e ~ LWE noise (tfhe-rs `ModulusSwitchNoiseReductionKey`).
 *
 * Exactness: A_p·S_p in Z_{2^64}[X]/(X^N+1) is computed as three negacyclic FFT products of
 * 22/21/21-bit limbs of A_p by the binary S_p: every product coefficient is an integer of magnitude
 * below N·2^22 = 2^33 (N = 2048), and the f64 FFT's error on such operands is orders of magnitude
 * below 1/2, so rounding recovers each limb product exactly; the limbs are then recombined modulo
 * 2^64 in exact double arithmetic. ⟨a, s⟩ with a binary s is a sum of u32 halves times 0/1.
 *
 * Constant time with respect to the secrets: the key bits only ever multiply (never select a
 * branch or an index); secret-derived buffers are zeroed before returning.
 */
import { EngineError } from '../errors.ts';
import type { CompressionSeed } from '../entities/server-key.ts';
import { createMaskStream, type AesBackend, type MaskStream } from '../csprng/mask-stream.ts';
import { backwardNegacyclic, fftPlan, forwardNegacyclic } from '../fft/negacyclic.ts';
import type { ShortintParameters } from '../params/parameters.ts';
import { readClientSecrets, zeroClientSecrets, type ClientSecrets, type NoiseDistribution } from './client-key.ts';
import { RandomWords, sampleNoise } from './noise.ts';
import { TWO32 } from '../entities/torus.ts';

export interface KeygenOptions {
  /** AES for the mask streams: `auto` (default) is node:crypto in Node, else the WebAssembly kernel, else TypeScript. */
  readonly aes?: AesBackend;
  /** Called with the fraction done (0…1) as generation progresses. */
  readonly onProgress?: (fraction: number) => void;
}

const SEED_BYTES = 44; // CompressionSeed: u32 kind, 16 seed bytes, u128 first AES index, u64 first byte index
const MODULUS_BYTES = 24; // CiphertextModulus: u128 modulus, u64 scalar bits
/** GGSWs per streamed part (~1 MB of BSK bodies for N = 2048, k = 1). */
const GGSWS_PER_PART = 32;
/** 1.5·2^52: x + ROUND − ROUND is x rounded to the nearest integer (ties to even) for |x| < 2^51. */
const ROUND = 6755399441055744;

/** Byte length of the serialized compressed server key of `params`. */
export function compressedServerKeyByteLength(params: ShortintParameters): number {
  const { lweDimension: n, glweDimension: k, polynomialSize: N, ksLevel, pbsLevel } = params;
  let size = 4; // atomic pattern
  size += 8 + 8 * k * N * ksLevel + 8 * 3 + SEED_BYTES + MODULUS_BYTES; // KSK
  size += 4 + 8 + 8 * n * pbsLevel * (k + 1) * N + 8 * 4 + SEED_BYTES + MODULUS_BYTES; // BSK
  size += 4; // modulus switch tag
  if (params.modulusSwitch.kind === 'drift') size += 8 + 8 * params.modulusSwitch.zerosCount + 8 + SEED_BYTES + MODULUS_BYTES + 24;
  size += 4 + 8 * 4; // PBS order, message, carry, max degree, max noise level
  return size;
}

/**
 * The compressed server key of a shortint client key, in the exact bytes of tfhe 1.6.1's
 * `Shortint.serialize_compressed_server_key` (node-tfhe / tfhe deserialize it).
 * @param clientKeyBytes `Shortint.serialize_client_key` bytes (not modified).
 * @throws {EngineError} for bytes that are not such a key, or a key of an unsupported set.
 */
export function generateCompressedServerKey(clientKeyBytes: Uint8Array, options: KeygenOptions = {}): Uint8Array {
  const parts = compressedServerKeyParts(clientKeyBytes, options);
  let last: Uint8Array | undefined;
  for (const part of parts) last = part;
  return new Uint8Array(last!.buffer, 0, last!.byteOffset + last!.length);
}

/**
 * The same key produced in parts, in order: each yielded part is the next bytes of the
 * serialized key (views into one buffer, so concatenated they are `generateCompressedServerKey`'s
 * result), the first after the keyswitching key, then about 1 MB of bootstrapping key at a time.
 * An upload can send a part while the next is computed. Abandoning the iteration (`return()`)
 * wipes the secrets like finishing it.
 */
export function* compressedServerKeyParts(clientKeyBytes: Uint8Array, options: KeygenOptions = {}): Generator<Uint8Array, void, undefined> {
  const secrets = readClientSecrets(clientKeyBytes);
  try {
    yield* writeKey(secrets, options);
  } finally {
    zeroClientSecrets(secrets);
  }
}

/** A fresh 128-bit compression seed from the platform CSPRNG. */
function freshSeed(): CompressionSeed {
  const seed = crypto.getRandomValues(new Uint8Array(16));
  return { seed, firstAesIndex: 0n, firstByteIndex: 0 };
}

/** Little-endian bincode writes at a moving offset of one output buffer. */
class Out {
  pos = 0;
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u8(v: number): void {
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }
  u32(v: number): void {
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  u64(v: number): void {
    this.view.setBigUint64(this.pos, BigInt(v), true);
    this.pos += 8;
  }
  f64(v: number): void {
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
  seed(s: CompressionSeed): void {
    this.u32(0); // Ctr
    this.bytes.set(s.seed, this.pos);
    this.pos += 16;
    this.u64(0);
    this.u64(0); // first AES index (u128)
    this.u64(s.firstByteIndex);
  }
  modulus(): void {
    this.u64(0);
    this.u64(0); // native modulus (u128 0)
    this.u64(64); // scalar bits
  }
  /** A Vec<u64> length prefix, then a u32-pair view of its words (4-byte aligned by construction). */
  words(count: number): Uint32Array {
    this.u64(count);
    const w = new Uint32Array(this.bytes.buffer, this.bytes.byteOffset + this.pos, 2 * count);
    this.pos += 8 * count;
    return w;
  }
}

function* writeKey(secrets: ClientSecrets, options: KeygenOptions): Generator<Uint8Array, void, undefined> {
  const { params } = secrets;
  const { lweDimension: n, glweDimension: k, polynomialSize: N, ksBaseLog, ksLevel, pbsBaseLog, pbsLevel } = params;
  if (64 - ksBaseLog * ksLevel < 32 || 64 - pbsBaseLog * pbsLevel < 32) {
    // Every decomposition factor must sit in the high half (true of every supported set).
    throw new EngineError('unsupported', `decompositions keeping more than 32 bits are not supported by the key generator`);
  }
  const total = compressedServerKeyByteLength(params);
  const bytes = new Uint8Array(total);
  const out = new Out(bytes);
  const rng = new RandomWords();
  const progress = options.onProgress ?? (() => {});
  const K = k * N;
  const zerosCount = params.modulusSwitch.kind === 'drift' ? params.modulusSwitch.zerosCount : 0;
  // Work units for progress: mask words generated (dominant) in each object.
  const units = K * ksLevel * n + n * pbsLevel * (k + 1) * K * 2 + zerosCount * n;
  let done = 0;
  // Small key as 0.0 / 1.0 doubles: ⟨a, s⟩ is then a sum of products, no selection by bit.
  const smallKey = Float64Array.from(secrets.lweKey);
  try {
    // --- Keyswitching key -------------------------------------------------------------------
    const kskSeed = freshSeed();
    out.u32(0); // AtomicPatternServerKey::Standard
    const kskBodies = out.words(K * ksLevel);
    lweEncryptRows(createMaskStream(kskSeed, options.aes), smallKey, secrets.lweNoise, rng, K * ksLevel, kskBodies, (t) => {
      // Row t = i·L + j encrypts s_big[i]·2^(64−β(L−j)): its high-word part.
      const i = Math.floor(t / ksLevel);
      const j = t - i * ksLevel;
      return secrets.glweKey[i]! * 2 ** (32 - ksBaseLog * (ksLevel - j));
    });
    out.u64(ksBaseLog);
    out.u64(ksLevel);
    out.u64(n + 1);
    out.seed(kskSeed);
    out.modulus();
    done += K * ksLevel * n;
    progress(done / units);

    // --- Bootstrapping key --------------------------------------------------------------------
    const bskSeed = freshSeed();
    out.u32(0); // ShortintCompressedBootstrappingKey::Classic
    const ggswWords = pbsLevel * (k + 1) * N;
    const bskBodies = out.words(n * ggswWords);
    const afterBodies = out.pos;
    // First part: everything up to the bootstrapping key's bodies.
    let partStart = afterBodies - 8 * n * ggswWords;
    yield bytes.subarray(0, partStart);
    const glwe = new GlweEncryptor(params, secrets, createMaskStream(bskSeed, options.aes), rng);
    try {
      for (let i = 0; i < n; i++) {
        glwe.encryptGgsw(i, bskBodies.subarray(2 * i * ggswWords, 2 * (i + 1) * ggswWords));
        done += ggswWords * k * 2;
        if ((i + 1) % GGSWS_PER_PART === 0 && i + 1 < n) {
          progress(done / units);
          const end = afterBodies - 8 * (n - i - 1) * ggswWords;
          yield bytes.subarray(partStart, end);
          partStart = end;
        }
      }
    } finally {
      glwe.zero();
    }
    out.u64(k + 1);
    out.u64(N);
    out.u64(pbsBaseLog);
    out.u64(pbsLevel);
    out.seed(bskSeed);
    out.modulus();

    // --- Modulus-switch configuration --------------------------------------------------------
    const ms = params.modulusSwitch;
    if (ms.kind === 'drift') {
      const zerosSeed = freshSeed();
      out.u32(1);
      const zeroBodies = out.words(ms.zerosCount);
      lweEncryptRows(createMaskStream(zerosSeed, options.aes), smallKey, secrets.lweNoise, rng, ms.zerosCount, zeroBodies, () => 0);
      out.u64(n + 1);
      out.seed(zerosSeed);
      out.modulus();
      out.f64(ms.msBound);
      out.f64(ms.msRSigmaFactor);
      out.f64(ms.msInputVariance);
    } else {
      out.u32(ms.kind === 'standard' ? 0 : 2);
    }
    out.u32(0); // PBSOrder::KeyswitchBootstrap
    out.u64(params.messageModulus);
    out.u64(params.carryModulus);
    out.u64(params.maxDegree);
    out.u64(params.maxNoiseLevel);
    if (out.pos !== total) throw new Error(`key generator wrote ${out.pos} bytes, expected ${total}`);
    progress(1);
    yield bytes.subarray(partStart, total);
  } finally {
    smallKey.fill(0);
    rng.zero();
  }
}

/** Rows of seeded LWE encryptions under the small key: body t = ⟨mask_t, s⟩ + e + messageHi(t)·2^32. */
function lweEncryptRows(
  stream: MaskStream,
  key: Float64Array,
  noise: NoiseDistribution,
  rng: RandomWords,
  rows: number,
  bodies: Uint32Array,
  messageHi: (row: number) => number,
): void {
  const n = key.length;
  const batch = Math.max(1, Math.floor(65536 / n));
  const mask = new Uint32Array(2 * batch * n);
  const e = new Float64Array(batch);
  try {
    for (let t0 = 0; t0 < rows; t0 += batch) {
      const count = Math.min(batch, rows - t0);
      stream.fill(t0 * n, count * n, mask);
      sampleNoise(noise, rng, e, 0, count);
      for (let r = 0; r < count; r++) {
        // Σ of u32 halves times 0/1 bits: below n·2^32 < 2^53, exact.
        let lo = 0;
        let hi = 0;
        const base = 2 * r * n;
        for (let w = 0; w < n; w++) {
          const s = key[w]!;
          lo += mask[base + 2 * w]! * s;
          hi += mask[base + 2 * w + 1]! * s;
        }
        const low = lo + e[r]!;
        const carry = Math.floor(low / TWO32);
        const t = t0 + r;
        bodies[2 * t] = low - carry * TWO32;
        bodies[2 * t + 1] = (hi + carry + messageHi(t)) >>> 0;
      }
    }
  } finally {
    e.fill(0);
  }
}

/** GGSW encryptions of the small-key bits under the GLWE key (the bootstrapping key's rows). */
class GlweEncryptor {
  private readonly plan;
  private readonly m: number;
  /** Fourier transforms of the k secret polynomials (N/2 re then N/2 im each). */
  private readonly keyHat: Float64Array[];
  private readonly mask: Uint32Array;
  private readonly limb: Float64Array;
  /** Fourier accumulators of the three limb products (secret-derived). */
  private readonly acc: Float64Array[];
  private readonly tmp: Float64Array;
  /** Limb products in the coefficient domain (secret-derived). */
  private readonly prod: Float64Array[];
  private readonly noise: Float64Array;

  constructor(
    private readonly params: ShortintParameters,
    private readonly secrets: ClientSecrets,
    private readonly stream: MaskStream,
    private readonly rng: RandomWords,
  ) {
    const N = params.polynomialSize;
    const k = params.glweDimension;
    this.plan = fftPlan(N);
    this.m = N / 2;
    const poly = new Float64Array(N);
    this.keyHat = [];
    for (let p = 0; p < k; p++) {
      for (let c = 0; c < N; c++) poly[c] = secrets.glweKey[p * N + c]!;
      const hat = new Float64Array(N);
      forwardNegacyclic(this.plan, poly, hat, 0, this.m);
      this.keyHat.push(hat);
    }
    poly.fill(0);
    this.mask = new Uint32Array(2 * k * N);
    this.limb = new Float64Array(N);
    this.acc = [new Float64Array(N), new Float64Array(N), new Float64Array(N)];
    this.tmp = new Float64Array(N);
    this.prod = [new Float64Array(N), new Float64Array(N), new Float64Array(N)];
    this.noise = new Float64Array(N);
  }

  /** Writes GGSW i's body polynomials (levels × (k+1) rows × N words, u32 pairs) into `out`. */
  encryptGgsw(i: number, out: Uint32Array): void {
    const { glweDimension: k, polynomialSize: N, pbsBaseLog: beta, pbsLevel: L } = this.params;
    const s = this.secrets.lweKey[i]!;
    for (let l = 0; l < L; l++) {
      // f = 2^(64−β(L−l)); its high-word part is 2^(32−β(L−l)).
      const fHi = 2 ** (32 - beta * (L - l));
      for (let r = 0; r <= k; r++) {
        const row = (i * L + l) * (k + 1) + r;
        this.stream.fill(row * k * N, k * N, this.mask);
        this.maskTimesKey();
        sampleNoise(this.secrets.glweNoise, this.rng, this.noise, 0, N);
        const o = 2 * (l * (k + 1) + r) * N;
        const S = this.secrets.glweKey;
        const [p0, p1, p2] = this.prod as [Float64Array, Float64Array, Float64Array];
        const noise = this.noise;
        // Message (high word): −s_i·f·S_r[c] for r < k; for r = k, +s_i·f at c = 0 (added below).
        const negSf = r < k ? -s * fHi : 0;
        const keyRow = r < k ? r * N : 0;
        for (let c = 0; c < N; c++) {
          // v = R0 + R1·2^22 + R2·2^43 + e (mod 2^64), all steps exact in doubles; the limb
          // products are integers up to FFT error, rounded by adding and removing 1.5·2^52.
          const r0 = p0[c]! + ROUND - ROUND;
          const r1 = p1[c]! + ROUND - ROUND;
          const r2 = p2[c]! + ROUND - ROUND;
          const q1 = Math.floor(r1 * (1 / 1024));
          const low = r0 + (r1 - q1 * 1024) * 4194304 + noise[c]!;
          const carry = Math.floor(low * (1 / TWO32));
          out[o + 2 * c] = low - carry * TWO32;
          out[o + 2 * c + 1] = (carry + q1 + r2 * 2048 + negSf * S[keyRow + c]!) >>> 0;
        }
        if (r === k) out[o + 1] = (out[o + 1]! + s * fHi) >>> 0;
      }
    }
  }

  /** prod[j] = limb_j(A) · S summed over the k mask polynomials, exact integers (as doubles). */
  private maskTimesKey(): void {
    const { glweDimension: k, polynomialSize: N } = this.params;
    const m = this.m;
    const mask = this.mask;
    for (let j = 0; j < 3; j++) this.acc[j]!.fill(0);
    for (let p = 0; p < k; p++) {
      const hat = this.keyHat[p]!;
      for (let j = 0; j < 3; j++) {
        const limb = this.limb;
        const off = 2 * p * N;
        if (j === 0) for (let c = 0; c < N; c++) limb[c] = mask[off + 2 * c]! & 0x3fffff;
        else if (j === 1) for (let c = 0; c < N; c++) limb[c] = (mask[off + 2 * c]! >>> 22) | ((mask[off + 2 * c + 1]! & 0x7ff) << 10);
        else for (let c = 0; c < N; c++) limb[c] = mask[off + 2 * c + 1]! >>> 11;
        forwardNegacyclic(this.plan, limb, this.tmp, 0, m);
        const acc = this.acc[j]!;
        const t = this.tmp;
        for (let q = 0; q < m; q++) {
          const ar = t[q]!;
          const ai = t[q + m]!;
          const br = hat[q]!;
          const bi = hat[q + m]!;
          acc[q] = acc[q]! + ar * br - ai * bi;
          acc[q + m] = acc[q + m]! + ar * bi + ai * br;
        }
      }
    }
    for (let j = 0; j < 3; j++) backwardNegacyclic(this.plan, this.acc[j]!, 0, m, this.prod[j]!);
  }

  zero(): void {
    for (const h of this.keyHat) h.fill(0);
    for (const a of this.acc) a.fill(0);
    for (const p of this.prod) p.fill(0);
    this.tmp.fill(0);
    this.noise.fill(0);
  }
}
