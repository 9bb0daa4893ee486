/**
 * Shortint programmable bootstrapping (tfhe-rs `ServerKey::apply_lookup_table`), with the checks
 * tfhe-rs's checked operations make: the ciphertext and the table must belong to the key, and the
 * input must be within the key's degree and noise budgets (otherwise the padding bit or the noise
 * margin may already be lost and the result would be wrong without any sign of it).
 *
 * A trivial input (noise level 0, zero mask) is evaluated in the clear like tfhe-rs's
 * `trivial_pbs_assign`, giving a trivial output.
 *
 * `programmableBootstrapBatch` bootstraps several independent ciphertexts in one pass over the
 * keys (same bits as one by one, less memory traffic per ciphertext).
 *
 * `keyswitchCiphertext` and `bootstrapKeyswitched` run the two halves separately (benchmarks and
 * tests: tfhe-rs times its keyswitch and its PBS as separate operations).
 */
import { EngineError } from '../errors.ts';
import type { Ciphertext } from '../entities/ciphertext.ts';
import type { LookupTable } from '../entities/lookup-table.ts';
import type { ServerKey } from '../entities/server-key.ts';
import type { ShortintParameters } from '../params/parameters.ts';
import { bigLweDimension, cleartextModulus, deltaOf } from '../params/parameters.ts';
import { bootstrapSmallLweCiphertext, keyswitchWithKey, pbsScratch, programmableBootstrapLweCiphertext } from '../algorithms/pbs.ts';
import type { PbsScratch } from '../algorithms/pbs.ts';
import { lweBody, lweMaskIsZero } from '../algorithms/lwe-linear.ts';
import { bootstrapSmallWasm, keyswitchWasm, programmableBootstrapBatchWasm, programmableBootstrapWasm } from '../algorithms/pbs-wasm.ts';
import { assertLookupTableMatches } from './lookup-table.ts';
import { assertCiphertextMatchesKey, assertServerKey } from './server-key.ts';

/** One scratch per parameter shape and thread: bootstraps never allocate. */
const scratches = new Map<string, PbsScratch>();

function scratchFor(params: ShortintParameters): PbsScratch {
  const id = `${params.lweDimension}/${params.glweDimension}/${params.polynomialSize}/${params.pbsLevel}/${params.ksLevel}`;
  let s = scratches.get(id);
  if (!s) {
    s = pbsScratch(params);
    scratches.set(id, s);
  }
  return s;
}

function assertBootstrappable(key: ServerKey, ct: Ciphertext): void {
  assertCiphertextMatchesKey(ct, key);
  const p = key.params;
  if (ct.degree > p.maxDegree) {
    throw new EngineError('degree_overflow', `ciphertext degree ${ct.degree} exceeds the key's max degree ${p.maxDegree}`);
  }
  if (ct.noiseLevel > p.maxNoiseLevel) {
    throw new EngineError('noise_overflow', `ciphertext noise level ${ct.noiseLevel} exceeds the key's max noise level ${p.maxNoiseLevel}`);
  }
}

const isTrivial = (ct: Ciphertext) => ct.noiseLevel === 0 && lweMaskIsZero(ct.data);

/** The trivial output of a trivial input (tfhe-rs `trivial_pbs_assign`). */
function trivialBootstrap(key: ServerKey, ct: Ciphertext, lut: LookupTable): Ciphertext {
  const data = new Uint32Array(ct.data.length);
  writeTrivialBootstrap(key.params, ct.data, lut, data);
  return { data, degree: lut.degree, noiseLevel: 0, messageModulus: ct.messageModulus, carryModulus: ct.carryModulus };
}

export function programmableBootstrap(key: ServerKey, ct: Ciphertext, lut: LookupTable): Ciphertext {
  assertBootstrappable(key, ct);
  assertLookupTableMatches(lut, key.params);
  if (isTrivial(ct)) return trivialBootstrap(key, ct, lut);
  const data = new Uint32Array(ct.data.length);
  if (!programmableBootstrapWasm(key, ct.data, lut.body, data)) {
    programmableBootstrapLweCiphertext(key, ct.data, lut.body, data, scratchFor(key.params));
  }
  return { data, degree: lut.degree, noiseLevel: 1, messageModulus: ct.messageModulus, carryModulus: ct.carryModulus };
}

/**
 * `programmableBootstrap` of each `cts[i]` with `luts[i]`, the independent bootstraps sharing
 * each pass over the keyswitch and bootstrap keys (batches of up to 8 on the wasm path). Results
 * are the same bits as one `programmableBootstrap` per pair; every input is checked before any
 * work starts.
 */
export function programmableBootstrapBatch(key: ServerKey, cts: readonly Ciphertext[], luts: readonly LookupTable[]): Ciphertext[] {
  if (!Array.isArray(cts) || !Array.isArray(luts) || cts.length !== luts.length) {
    throw new EngineError(
      'invalid_argument',
      `a batch needs one lookup table per ciphertext, got ${describeCount(cts)} ciphertexts and ${describeCount(luts)} tables`,
    );
  }
  cts.forEach((ct, i) => {
    assertBootstrappable(key, ct);
    assertLookupTableMatches(luts[i]!, key.params);
  });
  const out: Ciphertext[] = new Array(cts.length);
  const pending: number[] = [];
  cts.forEach((ct, i) => {
    if (isTrivial(ct)) out[i] = trivialBootstrap(key, ct, luts[i]!);
    else pending.push(i);
  });
  const datas = pending.map((i) => new Uint32Array(cts[i]!.data.length));
  const inputs = pending.map((i) => cts[i]!.data);
  const bodies = pending.map((i) => luts[i]!.body);
  if (!programmableBootstrapBatchWasm(key, inputs, bodies, datas)) {
    for (const j of pending.keys()) programmableBootstrapLweCiphertext(key, inputs[j]!, bodies[j]!, datas[j]!, scratchFor(key.params));
  }
  pending.forEach((i, j) => {
    const ct = cts[i]!;
    out[i] = { data: datas[j]!, degree: luts[i]!.degree, noiseLevel: 1, messageModulus: ct.messageModulus, carryModulus: ct.carryModulus };
  });
  return out;
}

function describeCount(x: unknown): string {
  return Array.isArray(x) ? `${x.length}` : `not an array (${x === null ? 'null' : typeof x})`;
}

/** Decodes a trivial body, reads the table at its box (negated past the padding bit), writes it as the body. */
function writeTrivialBootstrap(params: ShortintParameters, input: Uint32Array, lut: LookupTable, out: Uint32Array): void {
  const p = BigInt(cleartextModulus(params));
  const delta = deltaOf(params);
  const body = lweBody(input);
  // divide_round(body, Δ) mod 2p
  const decoded = ((body + delta / 2n) / delta) % (2n * p);
  const box = params.polynomialSize / Number(p);
  const index = Number(decoded % p) * box;
  let value = BigInt(lut.body[2 * index]!) + (BigInt(lut.body[2 * index + 1]!) << 32n);
  if (decoded >= p) value = BigInt.asUintN(64, -value);
  const b = out.length - 2;
  out[b] = Number(value & 0xffff_ffffn);
  out[b + 1] = Number(value >> 32n);
}

/**
 * The keyswitch step alone (benchmarks and tests): the big-key ciphertext's words under the
 * small key, n+1 u64 as u32 pairs. The returned array is scratch, valid until the next call.
 */
export function keyswitchCiphertext(key: ServerKey, ct: Ciphertext): Uint32Array {
  assertCiphertextMatchesKey(ct, key);
  return keyswitchWasm(key, ct.data) ?? keyswitchWithKey(key, ct.data, scratchFor(key.params));
}

/**
 * The PBS step alone (tfhe-rs `programmable_bootstrap_lwe_ciphertext`: modulus switch, blind
 * rotation, sample extraction) on `small`, a small-key LWE as `keyswitchCiphertext` returns it
 * (n+1 u64 as u32 pairs). The caller vouches for its degree and noise (it is the keyswitch of a
 * bootstrappable ciphertext); the result has degree `lut.degree`, noise level 1.
 */
export function bootstrapKeyswitched(key: ServerKey, small: Uint32Array, lut: LookupTable): Ciphertext {
  assertServerKey(key);
  assertLookupTableMatches(lut, key.params);
  const p = key.params;
  if (!(small instanceof Uint32Array) || small.length !== 2 * (p.lweDimension + 1)) {
    throw new EngineError(
      'invalid_argument',
      `a keyswitched ciphertext has ${2 * (p.lweDimension + 1)} u32 words, got ${describeLength(small)}`,
    );
  }
  const data = new Uint32Array(2 * (bigLweDimension(p) + 1));
  if (!bootstrapSmallWasm(key, small, lut.body, data)) {
    bootstrapSmallLweCiphertext(key, small, lut.body, data, scratchFor(p));
  }
  return { data, degree: lut.degree, noiseLevel: 1, messageModulus: p.messageModulus, carryModulus: p.carryModulus };
}

function describeLength(x: unknown): string {
  return x instanceof Uint32Array ? `${x.length}` : `a ${x === null ? 'null' : typeof x}`;
}
