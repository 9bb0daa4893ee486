/**
 * The form's values and their validation. Inputs hold text (numbers, categories) or a boolean
 * (checkboxes); validation turns them into typed feature values or per-field messages, by the
 * manifest's feature descriptors, then whether they fit together (plausibility). The feature
 * schema (zod, in the worker) checks them again.
 *
 * Data minimisation: the form asks only for the features the model's inputs read
 * ({@link askedFeatures}); nothing else is shown, validated, encrypted or sent.
 */
import type { Party } from '../../../protocol/ciphertexts.ts';
import { YEARS_EMPLOYED_BINS, YEARS_EMPLOYED_BIN_LOWER, type CreditFeatures, type FeatureName } from '../../../model/features.ts';
import type { FeatureDescriptor, Manifest } from '../../../model/manifest.ts';
import type { MessageId } from '../translations/en.ts';

export type RawValue = string | boolean;

/**
 * What a number field holds when the browser could not read the text typed into it (`3e`,
 * `1,2.3`: `validity.badInput`, where the input's value is `''`): "not a number", not "empty".
 */
export const UNREADABLE_NUMBER = 'NaN';
export type RawValues = Partial<Record<FeatureName, RawValue>>;
export type FeatureValue = boolean | number | string;

export interface FieldError {
  id: MessageId;
  values?: Record<string, string | number>;
}

/**
 * Starting answers. Demo mode fills every field so one click runs a check; applicant mode leaves
 * income and age empty, since a guessed value there would be the applicant's answer unnoticed.
 */
export const DEMO_DEFAULTS: CreditFeatures = {
  own_car: false,
  own_property: true,
  mobile_phone: true,
  num_children: 0,
  household_size: 2,
  total_income: 32_000,
  age: 34,
  income_type: 'Salaried',
  education_type: 'Secondary',
  family_status: 'Married',
  occupation_type: 'Office Worker',
  housing_type: 'House / apartment',
  account_age: 24,
  years_employed: '2-5',
  employed: true,
};
const APPLICANT_BLANK: readonly FeatureName[] = ['total_income', 'age'];

export function initialValues(
  features: readonly FeatureDescriptor[],
  mode: 'applicant' | 'demo',
  overrides: Partial<CreditFeatures> = {},
): RawValues {
  const out: RawValues = {};
  for (const f of features) {
    const given = overrides[f.name];
    const value = given ?? (mode === 'applicant' && APPLICANT_BLANK.includes(f.name) ? undefined : DEMO_DEFAULTS[f.name]);
    out[f.name] = f.kind === 'boolean' ? value === true : value === undefined ? '' : String(value);
  }
  return out;
}

/** Checks one field; `null` when valid. */
export function fieldError(f: FeatureDescriptor, raw: RawValue | undefined): FieldError | null {
  if (f.kind === 'boolean') return null;
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (f.kind === 'category') return f.values.includes(text) ? null : { id: 'fieldChoice' };
  if (text === '') return { id: 'fieldRequired' };
  const n = Number(text);
  if (!Number.isFinite(n)) return { id: 'fieldNumber' };
  if (f.kind === 'integer' && !Number.isInteger(n)) return { id: 'fieldInteger' };
  if (n < f.min) return { id: 'fieldMin', values: { min: f.min } };
  if (n > f.max) return { id: 'fieldMax', values: { max: f.max } };
  return null;
}

/** A party's answers as typed values, or the errors of its invalid fields. */
export function collectParty(
  features: readonly FeatureDescriptor[],
  party: Party,
  raw: RawValues,
): { values: Record<string, FeatureValue>; errors: Partial<Record<FeatureName, FieldError>> } {
  const values: Record<string, FeatureValue> = {};
  const errors: Partial<Record<FeatureName, FieldError>> = {};
  for (const f of features) {
    if (f.party !== party) continue;
    const error = fieldError(f, raw[f.name]);
    if (error) {
      errors[f.name] = error;
      continue;
    }
    const v = raw[f.name];
    values[f.name] = f.kind === 'boolean' ? v === true : f.kind === 'category' ? String(v) : Number(String(v).trim());
  }
  return { values, errors };
}

/** The features the form asks for: those the manifest's inputs read, in form order. */
export function askedFeatures(manifest: Pick<Manifest, 'features' | 'inputs'>): FeatureDescriptor[] {
  const read = new Set<string>(manifest.inputs.map((i) => i.feature));
  return manifest.features.filter((f) => read.has(f.name));
}

/** The parties, of those given, that the form asks something of. */
export function askedParties(asked: readonly FeatureDescriptor[], parties: readonly Party[]): Party[] {
  return parties.filter((p) => asked.some((f) => f.party === p));
}

/** The earliest age at which years of employment are counted, for the plausibility check. */
export const WORKING_AGE = 16;

/**
 * Answers that are valid one by one but do not fit together, as field errors: years employed
 * beyond the years since {@link WORKING_AGE}, as many children as people in the household (which
 * counts the applicant), an account older than its holder. Each check runs only when the form
 * asks for, and has valid values of, both fields it compares.
 */
export function plausibilityErrors(v: Partial<CreditFeatures>): Partial<Record<FeatureName, FieldError>> {
  const errors: Partial<Record<FeatureName, FieldError>> = {};
  if (typeof v.age === 'number' && v.years_employed !== undefined) {
    const lower = YEARS_EMPLOYED_BIN_LOWER[YEARS_EMPLOYED_BINS.indexOf(v.years_employed)] ?? 0;
    const most = Math.max(0, v.age - WORKING_AGE);
    if (lower > most) errors.years_employed = { id: 'plausibleYearsEmployed', values: { age: v.age, years: most } };
  }
  if (typeof v.num_children === 'number' && typeof v.household_size === 'number' && v.num_children >= v.household_size) {
    errors.num_children = { id: 'plausibleChildren' };
  }
  if (typeof v.age === 'number' && typeof v.account_age === 'number' && v.account_age > 12 * v.age) {
    errors.account_age = { id: 'plausibleAccountAge', values: { months: 12 * v.age, age: v.age } };
  }
  return errors;
}
