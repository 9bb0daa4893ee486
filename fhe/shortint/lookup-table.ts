/**
 * Lookup-table construction (tfhe-rs shortint `generate_lookup_table` /
 * `fill_accumulator_with_encoding`): box v of size N/p holds f(v)·Δ, the first half box is
 * negated and the whole table rotated left by half a box, so each input's rounding window is
 * centred on v·(N/p) after the modulus switch. The negation makes the wrap-around negacyclic:
 * an input with the padding bit set decodes to −f(v).
 */
import { EngineError } from '../errors.ts';
import type { LookupTable } from '../entities/lookup-table.ts';
import type { ShortintParameters } from '../params/parameters.ts';
import { cleartextModulus, deltaOf } from '../params/parameters.ts';
import { TWO32 } from '../entities/torus.ts';

export function createLookupTable(params: ShortintParameters, f: ((v: number) => number) | readonly number[]): LookupTable {
  const p = cleartextModulus(params);
  const N = params.polynomialSize;
  if (typeof f !== 'function' && !Array.isArray(f)) {
    throw new EngineError('invalid_argument', 'createLookupTable: f must be a function or an array of values');
  }
  if (typeof f !== 'function' && f.length !== p) {
    throw new EngineError('invalid_argument', `createLookupTable: the table has ${f.length} values, expected p = ${p}`);
  }
  const delta = deltaOf(params);
  const box = N / p;
  const half = box / 2;
  const table = new Uint32Array(2 * N);
  let degree = 0;
  for (let v = 0; v < p; v++) {
    const out = typeof f === 'function' ? f(v) : f[v];
    if (typeof out !== 'number' || !Number.isInteger(out) || out < 0 || out >= p) {
      throw new EngineError('invalid_argument', `createLookupTable: f(${v}) = ${String(out)} is not an integer in 0..${p - 1}`);
    }
    degree = Math.max(degree, out);
    const encoded = BigInt.asUintN(64, BigInt(out) * delta);
    const lo = Number(encoded & 0xffff_ffffn);
    const hi = Number(encoded >> 32n);
    for (let c = v * box; c < (v + 1) * box; c++) {
      table[2 * c] = lo;
      table[2 * c + 1] = hi;
    }
  }
  // Negate the first half box, then rotate left by half a box: body[j] = table[(j + half) mod N].
  const body = new Uint32Array(2 * N);
  for (let j = 0; j < N; j++) {
    const s = (j + half) % N;
    let lo = table[2 * s]!;
    let hi = table[2 * s + 1]!;
    if (s < half) {
      hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
      lo = (TWO32 - lo) % TWO32;
    }
    body[2 * j] = lo;
    body[2 * j + 1] = hi;
  }
  return {
    glweDimension: params.glweDimension,
    polynomialSize: N,
    messageModulus: params.messageModulus,
    carryModulus: params.carryModulus,
    body,
    degree,
  };
}

/** Throws `parameter_mismatch` unless `lut` was built for these parameters. */
export function assertLookupTableMatches(lut: LookupTable, params: ShortintParameters): void {
  if (
    !lut ||
    !(lut.body instanceof Uint32Array) ||
    lut.body.length !== 2 * params.polynomialSize ||
    lut.polynomialSize !== params.polynomialSize ||
    lut.glweDimension !== params.glweDimension ||
    lut.messageModulus !== params.messageModulus ||
    lut.carryModulus !== params.carryModulus ||
    !Number.isSafeInteger(lut.degree)
  ) {
    throw new EngineError(
      'parameter_mismatch',
      `lookup table (N=${lut?.polynomialSize}, k=${lut?.glweDimension}, m=${lut?.messageModulus}, c=${lut?.carryModulus}) ` +
        `does not match the key (N=${params.polynomialSize}, k=${params.glweDimension}, ` +
        `m=${params.messageModulus}, c=${params.carryModulus})`,
    );
  }
}
