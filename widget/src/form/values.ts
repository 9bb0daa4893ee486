/**
 * The form's values and their validation. Inputs hold text (numbers, categories) or a boolean
 * (checkboxes); validation turns them into typed feature values or per-field messages, by the
 * manifest's feature descriptors. The feature schema (zod, in the worker) checks them again.
 */
import type { Party } from '../../../protocol/ciphertexts.ts';
import type { CreditFeatures, FeatureName } from '../../../model/features.ts';
import type { FeatureDescriptor } from '../../../model/manifest.ts';
import type { MessageId } from '../translations/en.ts';

export type RawValue = string | boolean;
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
