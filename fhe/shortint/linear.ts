/**
 * Shortint linear operations with tfhe-rs's checked degree and noise-level rules
 * (`server_key::{add, sub, neg, scalar_add, scalar_mul}`, `create_trivial`):
 *
 * | operation | degree | noise level |
 * |---|---|---|
 * | a + b | deg a + deg b | nl a + nl b |
 * | a − b | deg a + z, z = max(1, ⌈deg b / msg⌉)·msg | nl a + nl b |
 * | c·a (c ≤ 255) | c·deg a | c·nl a (c = 0 gives a trivial zero) |
 * | a + m (m ≤ 255) | deg a + m | nl a |
 * | trivial m | m mod msg | 0 |
 *
 * An operation whose result would exceed the budget (max degree, max noise level) is refused with
 * `degree_overflow` / `noise_overflow`. The budget is the key's when `params` is given, otherwise
 * tfhe-rs's defaults for the ciphertext's moduli (max degree msg·carry − 1, max noise level
 * ⌊(msg·carry − 1)/(msg − 1)⌋), which equal the keys of both supported parameter sets.
 */
import { EngineError } from '../errors.ts';
import type { Ciphertext } from '../entities/ciphertext.ts';
import { assertCiphertextConformant } from '../entities/ciphertext.ts';
import type { ShortintParameters } from '../params/parameters.ts';
import { bigLweDimension, deltaOf } from '../params/parameters.ts';
import { lweCiphertextAdd, lweCiphertextCleartextMul, lweCiphertextSub, lwePlaintextAddAssign } from '../algorithms/lwe-linear.ts';

interface Budget {
  readonly maxDegree: number;
  readonly maxNoiseLevel: number;
}

function budgetOf(ct: Ciphertext, params: ShortintParameters | undefined): Budget {
  if (params) {
    assertCiphertextConformant(ct, params);
    return params;
  }
  assertWellFormed(ct, 'ciphertext');
  const p = ct.messageModulus * ct.carryModulus;
  return { maxDegree: p - 1, maxNoiseLevel: Math.floor((p - 1) / (ct.messageModulus - 1)) };
}

function assertWellFormed(ct: Ciphertext, label: string): void {
  if (!ct || !(ct.data instanceof Uint32Array) || ct.data.length < 4 || ct.data.length % 2 !== 0) {
    throw new EngineError('invalid_argument', `${label}: data must be a Uint32Array of u64 pairs`);
  }
  for (const [name, v, min] of [
    ['degree', ct.degree, 0],
    ['noise level', ct.noiseLevel, 0],
    ['message modulus', ct.messageModulus, 2],
    ['carry modulus', ct.carryModulus, 1],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < min) {
      throw new EngineError('invalid_value', `${label}: ${name} must be an integer ≥ ${min}, got ${v}`);
    }
  }
}

function assertSameShape(a: Ciphertext, b: Ciphertext): void {
  assertWellFormed(b, 'right operand');
  if (a.data.length !== b.data.length || a.messageModulus !== b.messageModulus || a.carryModulus !== b.carryModulus) {
    throw new EngineError(
      'parameter_mismatch',
      `operands differ: LWE size ${a.data.length / 2} vs ${b.data.length / 2}, ` +
        `moduli ${a.messageModulus}/${a.carryModulus} vs ${b.messageModulus}/${b.carryModulus}`,
    );
  }
}

function checkBudget(budget: Budget, degree: number, noiseLevel: number, op: string): void {
  if (degree > budget.maxDegree) {
    throw new EngineError('degree_overflow', `${op}: result degree ${degree} would exceed the max degree ${budget.maxDegree}`);
  }
  if (noiseLevel > budget.maxNoiseLevel) {
    throw new EngineError(
      'noise_overflow',
      `${op}: result noise level ${noiseLevel} would exceed the max noise level ${budget.maxNoiseLevel}`,
    );
  }
}

function smallCleartext(v: number, label: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 255) {
    throw new EngineError('invalid_argument', `${label} must be an integer in 0..255 (a u8 as in tfhe-rs), got ${v}`);
  }
  return v;
}

export function addCiphertexts(a: Ciphertext, b: Ciphertext, params?: ShortintParameters): Ciphertext {
  const budget = budgetOf(a, params);
  assertSameShape(a, b);
  const degree = a.degree + b.degree;
  const noiseLevel = a.noiseLevel + b.noiseLevel;
  checkBudget(budget, degree, noiseLevel, 'add');
  const data = new Uint32Array(a.data.length);
  lweCiphertextAdd(data, a.data, b.data);
  return { data, degree, noiseLevel, messageModulus: a.messageModulus, carryModulus: a.carryModulus };
}

export function subCiphertexts(a: Ciphertext, b: Ciphertext, params?: ShortintParameters): Ciphertext {
  const budget = budgetOf(a, params);
  assertSameShape(a, b);
  const msg = a.messageModulus;
  const z = Math.max(1, Math.ceil(b.degree / msg)) * msg;
  const degree = a.degree + z;
  const noiseLevel = a.noiseLevel + b.noiseLevel;
  checkBudget(budget, degree, noiseLevel, 'sub');
  const data = new Uint32Array(a.data.length);
  lweCiphertextSub(data, a.data, b.data);
  // + z·Δ keeps the encoded value non-negative (tfhe-rs `unchecked_sub_with_correcting_term`).
  lwePlaintextAddAssign(data, BigInt(z) * deltaOf(a));
  return { data, degree, noiseLevel, messageModulus: a.messageModulus, carryModulus: a.carryModulus };
}

export function scalarMultiply(ct: Ciphertext, c: number, params?: ShortintParameters): Ciphertext {
  const budget = budgetOf(ct, params);
  const scalar = smallCleartext(c, 'scalar');
  const degree = ct.degree * scalar;
  const noiseLevel = ct.noiseLevel * scalar;
  checkBudget(budget, degree, noiseLevel, 'scalar multiply');
  const data = new Uint32Array(ct.data.length);
  if (scalar === 1) data.set(ct.data);
  else if (scalar > 1) lweCiphertextCleartextMul(data, ct.data, scalar);
  // scalar 0: a trivial encryption of 0, as tfhe-rs does.
  return { data, degree, noiseLevel, messageModulus: ct.messageModulus, carryModulus: ct.carryModulus };
}

export function scalarAdd(ct: Ciphertext, m: number, params?: ShortintParameters): Ciphertext {
  const budget = budgetOf(ct, params);
  const scalar = smallCleartext(m, 'scalar');
  const degree = ct.degree + scalar;
  checkBudget(budget, degree, ct.noiseLevel, 'scalar add');
  const data = Uint32Array.from(ct.data);
  lwePlaintextAddAssign(data, BigInt(scalar) * deltaOf(ct));
  return { data, degree, noiseLevel: ct.noiseLevel, messageModulus: ct.messageModulus, carryModulus: ct.carryModulus };
}

export function trivialEncrypt(params: ShortintParameters, m: number): Ciphertext {
  if (!Number.isSafeInteger(m) || m < 0) {
    throw new EngineError('invalid_argument', `trivialEncrypt: m must be a non-negative integer, got ${m}`);
  }
  const value = m % params.messageModulus;
  const data = new Uint32Array(2 * (bigLweDimension(params) + 1));
  lwePlaintextAddAssign(data, BigInt(value) * deltaOf(params));
  return { data, degree: value, noiseLevel: 0, messageModulus: params.messageModulus, carryModulus: params.carryModulus };
}
