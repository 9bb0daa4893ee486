import { describe, expect, it } from 'vitest';
import {
  ApplicantFeatures,
  BureauFeatures,
  CreditFeatures,
  FEATURE_NAMES,
  FEATURE_SPECS,
  OCCUPATION_GROUP,
  OCCUPATION_GROUPS,
  OCCUPATION_TYPES,
  YEARS_EMPLOYED_BINS,
  featuresOf,
  yearsEmployedBin,
  type CreditFeatures as Features,
} from '../../../model/features.ts';
import { FEATURE_TEXTS } from '../../../tools/model/form-texts.ts';
import { LOCALES } from '../../../model/manifest.ts';

const sample: Features = {
  own_car: true,
  own_property: true,
  mobile_phone: true,
  num_children: 2,
  household_size: 4,
  total_income: 27_500,
  age: 35,
  income_type: 'Salaried',
  education_type: 'Higher education',
  family_status: 'Married',
  occupation_type: 'Engineer',
  housing_type: 'House / apartment',
  account_age: 36,
  years_employed: '2-5',
  employed: true,
};

describe('feature schema', () => {
  it('accepts a complete application', () => {
    expect(CreditFeatures.parse(sample)).toEqual(sample);
  });

  it('names the feature in errors for out-of-range, non-integer, missing and unknown values', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...sample, age: 12 }, /age must be at least 18/],
      [{ ...sample, num_children: 1.5 }, /num_children must be a whole number/],
      [{ ...sample, total_income: Number.POSITIVE_INFINITY }, /total_income/],
      [{ ...sample, occupation_type: 'Astronaut' }, /occupation_type must be one of/],
      [{ ...sample, employed: 1 }, /employed must be true or false/],
    ];
    for (const [input, message] of cases) {
      const r = CreditFeatures.safeParse(input);
      expect(r.success).toBe(false);
      expect(r.error?.issues.map((i) => i.message).join('\n')).toMatch(message);
    }
    const { age: _age, ...missing } = sample;
    const r = CreditFeatures.safeParse(missing);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['age']);
  });

  it('rejects features of another party and unknown keys', () => {
    expect(ApplicantFeatures.safeParse({ ...sample }).success).toBe(false);
    expect(BureauFeatures.safeParse({ years_employed: '0-2', employed: false }).success).toBe(true);
    expect(BureauFeatures.safeParse({ years_employed: '0-2', employed: false, x: 1 }).success).toBe(false);
  });

  it('assigns every feature to exactly one party, as the seed does', () => {
    expect(featuresOf('bank')).toEqual(['account_age']);
    expect(featuresOf('bureau')).toEqual(['years_employed', 'employed']);
    expect(featuresOf('applicant')).toHaveLength(12);
    expect(new Set(FEATURE_NAMES)).toEqual(new Set(Object.keys(CreditFeatures.shape)));
  });

  it('maps years to the seed bins', () => {
    expect([0, 1.9, 2, 4.99, 5, 8, 10, 11, 17.5, 18, 40].map(yearsEmployedBin)).toEqual([
      '0-2',
      '0-2',
      '2-5',
      '2-5',
      '5-8',
      '8-11',
      '8-11',
      '11-18',
      '11-18',
      '18+',
      '18+',
    ]);
    expect(() => yearsEmployedBin(-1)).toThrow(RangeError);
    expect(() => yearsEmployedBin(Number.NaN)).toThrow(RangeError);
    expect(YEARS_EMPLOYED_BINS).toHaveLength(6);
  });

  it('groups all 24 occupations into the three groups', () => {
    expect(OCCUPATION_TYPES).toHaveLength(24);
    const groups = new Set(OCCUPATION_TYPES.map((o) => OCCUPATION_GROUP[o]));
    expect([...groups].sort()).toEqual([...OCCUPATION_GROUPS].sort());
  });

  it('has a non-empty label, help and option text for every feature in every locale', () => {
    for (const locale of LOCALES) {
      const t = FEATURE_TEXTS[locale];
      for (const name of FEATURE_NAMES) {
        expect(t.fields[name].label.length).toBeGreaterThan(0);
        expect(t.fields[name].help.length).toBeGreaterThan(0);
        const spec = FEATURE_SPECS[name];
        if (spec.kind === 'category') {
          const options = (t.options as Record<string, Record<string, string>>)[name];
          expect(Object.keys(options ?? {}).sort()).toEqual([...spec.values].sort());
        }
      }
    }
  });
});
