import { describe, expect, it } from 'vitest';
import { ModelError } from '../../../model/errors.ts';
import {
  EncryptedInput,
  bitsForLevels,
  digitsForBits,
  encodePartyInputs,
  fromDigits,
  inputProblems,
  quantizeValue,
  quantizerLevels,
  toDigits,
  type Quantizer,
} from '../../../model/quantize.ts';

const income: Quantizer = { kind: 'thresholds', cuts: [12_000, 20_000, 30_000] };
const years = EncryptedInput.parse({
  name: 'years_employed',
  feature: 'years_employed',
  party: 'bureau',
  bits: 3,
  digits: 2,
  quantizer: { kind: 'category', codes: { '0-2': 0, '2-5': 1, '5-8': 2, '8-11': 3, '11-18': 4, '18+': 5 } },
});
const employed = EncryptedInput.parse({
  name: 'employed',
  feature: 'employed',
  party: 'bureau',
  bits: 1,
  digits: 1,
  quantizer: { kind: 'boolean' },
});

describe('quantizers', () => {
  it('counts the cuts at or below a value', () => {
    expect([0, 11_999, 12_000, 19_999.5, 20_000, 29_999, 30_000, 1e7].map((v) => quantizeValue(income, v))).toEqual([
      0, 0, 1, 1, 2, 2, 3, 3,
    ]);
    expect(quantizerLevels(income)).toBe(4);
  });

  it('codes booleans and categories, and refuses unknown categories and wrong types', () => {
    expect(quantizeValue({ kind: 'boolean' }, true)).toBe(1);
    expect(quantizeValue(years.quantizer, '11-18')).toBe(4);
    expect(() => quantizeValue(years.quantizer, 'toString')).toThrow(ModelError);
    expect(() => quantizeValue(years.quantizer, '30+', 'years_employed')).toThrow(/years_employed: unknown category/);
    expect(() => quantizeValue(income, 'x')).toThrow(/thresholds quantizer cannot encode string/);
  });

  it('refuses cuts that are not strictly increasing', () => {
    const r = EncryptedInput.safeParse({ ...employed, quantizer: { kind: 'thresholds', cuts: [1, 1] } });
    expect(r.success).toBe(false);
  });

  it('splits codes into 2-bit digits, least significant first, and back', () => {
    for (let code = 0; code < 16; code++) {
      const d = toDigits(code, 2);
      expect(d).toEqual([code % 4, code >> 2]);
      expect(fromDigits(d)).toBe(code);
    }
    expect(toDigits(3, 1)).toEqual([3]);
    expect(() => toDigits(4, 1)).toThrow(RangeError);
    expect(() => toDigits(16, 2)).toThrow(RangeError);
    expect([2, 3, 4, 5, 16].map(bitsForLevels)).toEqual([1, 2, 2, 3, 4]);
    expect([1, 2, 3, 4].map(digitsForBits)).toEqual([1, 1, 2, 2]);
  });

  it('encodes one party’s validated answers into digits', () => {
    expect(encodePartyInputs([years, employed], 'bureau', { years_employed: '5-8', employed: true })).toEqual({
      years_employed: [2, 0],
      employed: [1],
    });
    expect(encodePartyInputs([years, employed], 'bank', { account_age: 12 })).toEqual({});
  });

  it('names the failing features of a party', () => {
    try {
      encodePartyInputs([years, employed], 'bureau', { years_employed: '30+' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ModelError);
      expect((e as ModelError).code).toBe('invalid_features');
      expect((e as ModelError).message).toMatch(/years_employed/);
      expect((e as ModelError).message).toMatch(/employed/);
    }
  });

  it('reports inputs that do not fit their feature', () => {
    expect(inputProblems(years)).toEqual([]);
    expect(inputProblems({ ...years, bits: 2, digits: 1 })).toEqual(['input years_employed: 6 levels do not fit in 2 bit(s)']);
    expect(inputProblems({ ...employed, party: 'bank' })[0]).toMatch(/belongs to bureau/);
    expect(inputProblems({ ...years, quantizer: { kind: 'category', codes: { '0-2': 0 } } })[0]).toMatch(/must cover exactly/);
    expect(inputProblems({ ...employed, quantizer: income })[0]).toMatch(/needs a boolean quantizer/);
  });
});
