/**
 * The engine's LWE building blocks each on their own (fhe/algorithms/): word-wise linear algebra
 * mod 2^64, the modulus switches, and the keyswitch, against exact BigInt reference math on
 * seeded random words and the edge words where the u32-pair carries happen. No keys, no oracle:
 * the PBS suites check the same code end to end against node-tfhe.
 */
import { describe, expect, it } from 'vitest';
import {
  lweBody,
  lweCiphertextAdd,
  lweCiphertextCleartextMul,
  lweCiphertextSub,
  lweMaskIsZero,
  lwePlaintextAddAssign,
} from '../../../fhe/algorithms/lwe-linear.ts';
import { keyswitchLweCiphertext, keyswitchScratch } from '../../../fhe/algorithms/keyswitch.ts';
import { applyDriftTechnique, centeredMeanModulusSwitch, standardModulusSwitch } from '../../../fhe/algorithms/modulus-switch.ts';
import type { ShortintParameters } from '../../../fhe/index.ts';
import { seededRandom, word } from './support.ts';

const MASK64 = (1n << 64n) - 1n;
const EDGE_WORDS = [0n, 1n, MASK64, 1n << 63n, (1n << 32n) - 1n, 1n << 32n, (1n << 63n) - 1n, 0xffff_ffff_0000_0001n];

/** `count` u64 words as u32 pairs: the edge words first, then seeded random ones. */
function randomWords(seed: number, count: number): Uint32Array {
  const rng = seededRandom(seed);
  const out = new Uint32Array(2 * count);
  for (let i = 0; i < count; i++) {
    const v = i < EDGE_WORDS.length ? EDGE_WORDS[i]! : undefined;
    out[2 * i] = v === undefined ? Math.floor(rng() * 2 ** 32) : Number(v & 0xffff_ffffn);
    out[2 * i + 1] = v === undefined ? Math.floor(rng() * 2 ** 32) : Number(v >> 32n);
  }
  return out;
}

const words = (data: Uint32Array): bigint[] => Array.from({ length: data.length / 2 }, (_, i) => word(data, i));

describe('LWE linear algebra mod 2^64 (lwe-linear.ts)', () => {
  const a = randomWords(1, 64);
  const b = randomWords(2, 64).reverse(); // edge words meet edge words at the other end too

  it('adds and subtracts word by word, into a fresh array or in place', () => {
    const sum = new Uint32Array(a.length);
    lweCiphertextAdd(sum, a, b);
    expect(words(sum)).toEqual(words(a).map((x, i) => (x + words(b)[i]!) & MASK64));
    const diff = new Uint32Array(a.length);
    lweCiphertextSub(diff, a, b);
    expect(words(diff)).toEqual(words(a).map((x, i) => (x - words(b)[i]!) & MASK64));
    const inPlace = a.slice();
    lweCiphertextAdd(inPlace, inPlace, b);
    expect(inPlace).toEqual(sum);
  });

  it.each([0, 1, 2, 3, 7, 2 ** 21 - 1])('multiplies by the cleartext %i', (c) => {
    const out = new Uint32Array(a.length);
    lweCiphertextCleartextMul(out, a, c);
    expect(words(out)).toEqual(words(a).map((x) => (x * BigInt(c)) & MASK64));
  });

  it('adds a plaintext to the body only; reads the body and a trivial mask', () => {
    const ct = a.slice();
    for (const value of [0n, 1n, MASK64, 1n << 63n, 0x1234_5678_9abc_def0n]) {
      const before = words(ct);
      lwePlaintextAddAssign(ct, value);
      const after = words(ct);
      expect(after.slice(0, -1)).toEqual(before.slice(0, -1));
      expect(after.at(-1)).toBe((before.at(-1)! + value) & MASK64);
      expect(lweBody(ct)).toBe(after.at(-1));
    }
    expect(lweMaskIsZero(ct)).toBe(false);
    const trivial = new Uint32Array(10);
    lwePlaintextAddAssign(trivial, 5n << 60n);
    expect(lweMaskIsZero(trivial)).toBe(true);
    trivial[7] = 1;
    expect(lweMaskIsZero(trivial)).toBe(false);
  });
});

/** ms(x) = ⌊x / 2^(64−m)⌉ mod 2^m, ties up: the standard switch of one word. */
const switchWord = (x: bigint, m: number): number => Number(((x + (1n << BigInt(63 - m))) >> BigInt(64 - m)) & ((1n << BigInt(m)) - 1n));

/** The signed rounding error ms(x)·2^(64−m) − x of one word, in (−2^(63−m), 2^(63−m)]. */
function roundingError(x: bigint, m: number): bigint {
  const step = 1n << BigInt(64 - m);
  const low = x & (step - 1n);
  return low >= step / 2n ? step - low : -low;
}

/** Integer division rounding toward zero (Rust's `/` on i64). */
const truncDiv2 = (x: bigint): bigint => x / 2n;

describe('modulus switch (modulus-switch.ts)', () => {
  // n = 918 words of mask (the Gaussian set's small key) plus the body; m = log2(2N) for N = 2048 and 1024.
  const lwe = randomWords(3, 919);

  it.each([12, 11])('standard: every word rounded to its top m = %i bits', (m) => {
    const out = new Uint32Array(919);
    standardModulusSwitch(lwe, m, out);
    expect(Array.from(out)).toEqual(words(lwe).map((x) => switchWord(x, m)));
  });

  it.each([12, 11])('centered mean (m = %i): the body corrected by the masks’ half errors before rounding', (m) => {
    const out = new Uint32Array(919);
    centeredMeanModulusSwitch(lwe, m, out);
    const all = words(lwe);
    const mask = all.slice(0, -1);
    expect(Array.from(out.subarray(0, 918))).toEqual(mask.map((x) => switchWord(x, m)));
    // tfhe-rs's centered binary switch: body + Σ trunc(ε/2) − trunc(Σ(2·trunc(ε/2) − ε)/2) − 2^(63−m).
    let sumHalf = 0n;
    let sumOdd = 0n;
    for (const x of mask) {
      const e = roundingError(x, m);
      sumHalf += truncDiv2(e);
      sumOdd += 2n * truncDiv2(e) - e;
    }
    const body = (all.at(-1)! + sumHalf - truncDiv2(sumOdd) - (1n << BigInt(63 - m))) & MASK64;
    expect(out[918]).toBe(switchWord(body, m));
  });

  describe('drift technique', () => {
    const m = 12;
    const n = 8;
    const zerosCount = 6;
    const input = randomWords(4, n + 1);
    const zeros = randomWords(5, zerosCount * (n + 1));

    /** tfhe-rs's estimate of the switch noise of `ct`: |ε(b) − Σε(a)/2| + r·√(Σε(a)²/4 + variance). */
    function measure(ct: bigint[], rSigma: number, variance: number): number {
      const errors = ct.map((x) => Number(roundingError(x, m)));
      const maskErrors = errors.slice(0, -1);
      const sum = maskErrors.reduce((s, e) => s + e, 0);
      const squares = maskErrors.reduce((s, e) => s + e * e, 0);
      return Math.abs(errors.at(-1)! - sum / 2) + Math.sqrt(squares / 4 + variance) * rSigma;
    }
    const withZero = (t: number) => words(input).map((x, i) => (x + word(zeros, t * (n + 1) + i)) & MASK64);

    it('leaves a ciphertext already under the bound alone', () => {
      const lwe = input.slice();
      const config = { zerosCount, msBound: Number.MAX_VALUE, msRSigmaFactor: 1, msInputVariance: 0 };
      expect(applyDriftTechnique(lwe, zeros, config, m)).toBe(-1);
      expect(lwe).toEqual(input);
    });

    it('adds the first encryption of zero under the bound, else the best one', () => {
      const rSigma = 3;
      const variance = 2 ** -40; // a fraction of q²
      const scaled = variance * 2 ** 128;
      const measures = Array.from({ length: zerosCount }, (_, t) => measure(withZero(t), rSigma, scaled));
      const own = measure(words(input), rSigma, scaled);
      // A bound between the best and the rest: the first candidate under it is taken.
      const sorted = [...measures].sort((x, y) => x - y);
      for (const [bound, expected] of [
        [(sorted[0]! + sorted[1]!) / 2, own <= (sorted[0]! + sorted[1]!) / 2 ? -1 : measures.indexOf(sorted[0]!)],
        [0, own <= sorted[0]! ? -1 : measures.indexOf(sorted[0]!)],
      ] as const) {
        const lwe = input.slice();
        const choice = applyDriftTechnique(
          lwe,
          zeros,
          { zerosCount, msBound: bound, msRSigmaFactor: rSigma, msInputVariance: variance },
          m,
        );
        expect(choice).toBe(expected);
        expect(words(lwe)).toEqual(choice < 0 ? words(input) : withZero(choice));
      }
    });
  });
});

describe('keyswitch (keyswitch.ts)', () => {
  // The 2_2 sets' decompositions (TUniform 3×5, Gaussian 4×4) from a 32-word big key to an 8-word small key.
  it.each([
    [3, 5],
    [4, 4],
  ])('base 2^%i, %i levels: the phase under the small key is b − Σ s_big[i]·closest(a_i), exactly', (baseLog, level) => {
    const n = 8;
    const bigDim = 32;
    const rng = seededRandom(baseLog * 100 + level);
    const bit = () => (rng() < 0.5 ? 0n : 1n);
    const sBig = Array.from({ length: bigDim }, bit);
    const sSmall = Array.from({ length: n }, bit);
    const params = { lweDimension: n, ksBaseLog: baseLog, ksLevel: level } as ShortintParameters;
    // A noise-free keyswitching key: row i·L + j encrypts s_big[i]·2^(64 − β(L − j)) under the small key.
    const rows = bigDim * level;
    const ksk = randomWords(6, rows * (n + 1));
    for (let i = 0; i < bigDim; i++) {
      for (let j = 0; j < level; j++) {
        const row = (i * level + j) * (n + 1);
        let dot = 0n;
        for (let w = 0; w < n; w++) dot += word(ksk, row + w) * sSmall[w]!;
        const body = (dot + sBig[i]! * (1n << BigInt(64 - baseLog * (level - j)))) & MASK64;
        ksk[2 * (row + n)] = Number(body & 0xffff_ffffn);
        ksk[2 * (row + n) + 1] = Number(body >> 32n);
      }
    }
    const kskLo = Uint32Array.from({ length: rows * (n + 1) }, (_, t) => ksk[2 * t]!);
    const kskHi = Uint32Array.from({ length: rows * (n + 1) }, (_, t) => ksk[2 * t + 1]!);

    const input = randomWords(7, bigDim + 1);
    const output = new Uint32Array(2 * (n + 1));
    keyswitchLweCiphertext(params, kskLo, kskHi, input, output, keyswitchScratch(params));

    const r = BigInt(baseLog * level);
    const closest = (x: bigint) => (((x + (1n << (63n - r))) >> (64n - r)) << (64n - r)) & MASK64;
    const inWords = words(input);
    let expected = inWords.at(-1)!;
    for (let i = 0; i < bigDim; i++) expected -= sBig[i]! * closest(inWords[i]!);
    const out = words(output);
    let phase = out.at(-1)!;
    for (let w = 0; w < n; w++) phase -= out[w]! * sSmall[w]!;
    expect(phase & MASK64).toBe(expected & MASK64);
  });
});
