/**
 * The credit model's feature schema, defined once for every tier (widget, party SDK, gateway,
 * evaluator, trainer): raw values as a person or a party backend enters them, which party owns
 * each feature, and the categorical values. The form's texts are the manifest's `labels`
 * (`manifest.ts`); the trainer's default English and French texts are in `tools/model/form-texts.ts`.
 *
 * The schema follows the seed application's data (16 columns: twelve applicant answers, the
 * bank's account age, the credit bureau's years employed and employment flag, and the label).
 * Feature names are snake_case so they can double as encrypted-input names on the wire.
 *
 * Browser-safe: no Node imports.
 */
import { z } from 'zod';
import type { Party } from '../protocol/ciphertexts.ts';

// ---------------------------------------------------------------------------------------------
// Categorical values (order is significant: it is the code used by quantization and the CSV).

export const INCOME_TYPES = ['Salaried', 'Pensioner', 'Self-employed', 'Student'] as const;
export type IncomeType = (typeof INCOME_TYPES)[number];

export const EDUCATION_TYPES = ['Higher education', 'Secondary', 'Incomplete higher', 'Lower secondary'] as const;
export type EducationType = (typeof EDUCATION_TYPES)[number];

export const FAMILY_STATUSES = ['Married', 'Widow', 'Single', 'Divorced'] as const;
export type FamilyStatus = (typeof FAMILY_STATUSES)[number];

export const HOUSING_TYPES = ['House / apartment', 'Rented apartment', 'With parents'] as const;
export type HousingType = (typeof HOUSING_TYPES)[number];

/** The seed's 24 occupations, in the seed data's order of first appearance. */
export const OCCUPATION_TYPES = [
  'Engineer',
  'Retired',
  'Business Owner',
  'Teacher',
  'Entrepreneur',
  'Office Worker',
  'Manager',
  'Salesperson',
  'Designer',
  'Consultant',
  'Doctor',
  'Student',
  'Cooking Staff',
  'Lawyer',
  'Carpenter',
  'Architect',
  'Plumber',
  'Nurse',
  'Factory Worker',
  'Artist',
  'Scientist',
  'Accountant',
  'Bus Driver',
  'Software Developer',
] as const;
export type OccupationType = (typeof OCCUPATION_TYPES)[number];

/** Occupation groups: 24 occupations do not fit a 4-bit input, three groups do. */
export const OCCUPATION_GROUPS = ['labour', 'office', 'high_tech'] as const;
export type OccupationGroup = (typeof OCCUPATION_GROUPS)[number];

/**
 * The grouping of occupations into labour, office and high-tech work, as the seed does (its
 * groups were made for other occupation names; this is our reading for its 24 occupations:
 * manual and service work → labour, administrative, commercial, care and creative work → office,
 * engineering, science, medicine, law and ownership → high-tech).
 */
export const OCCUPATION_GROUP: Readonly<Record<OccupationType, OccupationGroup>> = {
  Engineer: 'high_tech',
  Retired: 'labour',
  'Business Owner': 'high_tech',
  Teacher: 'office',
  Entrepreneur: 'high_tech',
  'Office Worker': 'office',
  Manager: 'office',
  Salesperson: 'office',
  Designer: 'office',
  Consultant: 'office',
  Doctor: 'high_tech',
  Student: 'labour',
  'Cooking Staff': 'labour',
  Lawyer: 'high_tech',
  Carpenter: 'labour',
  Architect: 'high_tech',
  Plumber: 'labour',
  Nurse: 'office',
  'Factory Worker': 'labour',
  Artist: 'office',
  Scientist: 'high_tech',
  Accountant: 'office',
  'Bus Driver': 'labour',
  'Software Developer': 'high_tech',
};

/** The credit bureau's years-employed bins; the seed stores the bin index 0–5. */
export const YEARS_EMPLOYED_BINS = ['0-2', '2-5', '5-8', '8-11', '11-18', '18+'] as const;
export type YearsEmployedBin = (typeof YEARS_EMPLOYED_BINS)[number];

/** Lower bound in years of each bin (a span of y years falls in the last bin with lower ≤ y). */
export const YEARS_EMPLOYED_BIN_LOWER: readonly number[] = [0, 2, 5, 8, 11, 18];

/** Maps a span of employment in years to its bin. */
export function yearsEmployedBin(years: number): YearsEmployedBin {
  if (!Number.isFinite(years) || years < 0) {
    throw new RangeError(`years employed must be a finite number ≥ 0, got ${String(years)}`);
  }
  let bin = 0;
  for (let i = 0; i < YEARS_EMPLOYED_BIN_LOWER.length; i++) {
    if (years >= YEARS_EMPLOYED_BIN_LOWER[i]!) bin = i;
  }
  return YEARS_EMPLOYED_BINS[bin]!;
}

// ---------------------------------------------------------------------------------------------
// Feature specifications: kind, bounds, owner. The zod schemas below are built from these bounds.

/** Bounds of the numeric features (inclusive). Chosen wide enough for real applicants. */
export const NUMERIC_BOUNDS = {
  num_children: { min: 0, max: 12, integer: true },
  household_size: { min: 1, max: 15, integer: true },
  /** Yearly income, in the seed's currency units (seed median 22,000). */
  total_income: { min: 0, max: 10_000_000, integer: false },
  age: { min: 18, max: 100, integer: true },
  /** Months since the account was opened at the bank. */
  account_age: { min: 0, max: 1_200, integer: true },
} as const;

type NumericName = keyof typeof NUMERIC_BOUNDS;

function numeric(name: NumericName) {
  const b = NUMERIC_BOUNDS[name];
  const base = z.number({ error: `${name} must be a number` }).finite();
  return (b.integer ? base.int(`${name} must be a whole number`) : base)
    .min(b.min, `${name} must be at least ${b.min}`)
    .max(b.max, `${name} must be at most ${b.max}`);
}

const flag = (name: string) => z.boolean({ error: `${name} must be true or false` });
const oneOf = <T extends readonly [string, ...string[]]>(name: string, values: T) =>
  z.enum(values, { error: `${name} must be one of: ${values.join(', ')}` });

/** What the applicant enters in the form. */
export const ApplicantFeatures = z
  .object({
    own_car: flag('own_car'),
    own_property: flag('own_property'),
    mobile_phone: flag('mobile_phone'),
    num_children: numeric('num_children'),
    household_size: numeric('household_size'),
    total_income: numeric('total_income'),
    age: numeric('age'),
    income_type: oneOf('income_type', INCOME_TYPES),
    education_type: oneOf('education_type', EDUCATION_TYPES),
    family_status: oneOf('family_status', FAMILY_STATUSES),
    occupation_type: oneOf('occupation_type', OCCUPATION_TYPES),
    housing_type: oneOf('housing_type', HOUSING_TYPES),
  })
  .strict();
export type ApplicantFeatures = z.infer<typeof ApplicantFeatures>;

/** What the bank holds about the applicant. */
export const BankFeatures = z.object({ account_age: numeric('account_age') }).strict();
export type BankFeatures = z.infer<typeof BankFeatures>;

/** What the credit bureau holds about the applicant. */
export const BureauFeatures = z
  .object({
    years_employed: oneOf('years_employed', YEARS_EMPLOYED_BINS),
    employed: flag('employed'),
  })
  .strict();
export type BureauFeatures = z.infer<typeof BureauFeatures>;

/** Every feature of one application, as the cleartext model sees it. */
export const CreditFeatures = z.object({ ...ApplicantFeatures.shape, ...BankFeatures.shape, ...BureauFeatures.shape }).strict();
export type CreditFeatures = z.infer<typeof CreditFeatures>;

export type FeatureName = keyof CreditFeatures;

/** Per-party feature schemas, for validating one party's answers. */
export const PARTY_FEATURES = {
  applicant: ApplicantFeatures,
  bank: BankFeatures,
  bureau: BureauFeatures,
} as const satisfies Record<Party, z.ZodType>;

export type PartyFeatures<P extends Party> = z.infer<(typeof PARTY_FEATURES)[P]>;

/** The kind of a feature, for building a form field and for quantization. */
export type FeatureSpec =
  | { kind: 'boolean'; party: Party }
  | { kind: 'integer' | 'number'; party: Party; min: number; max: number }
  | { kind: 'category'; party: Party; values: readonly string[] };

const num = (party: Party, name: NumericName): FeatureSpec => {
  const b = NUMERIC_BOUNDS[name];
  return { kind: b.integer ? 'integer' : 'number', party, min: b.min, max: b.max };
};

/** Every feature, in form order, with its owner and kind. */
export const FEATURE_SPECS: Readonly<Record<FeatureName, FeatureSpec>> = {
  own_car: { kind: 'boolean', party: 'applicant' },
  own_property: { kind: 'boolean', party: 'applicant' },
  mobile_phone: { kind: 'boolean', party: 'applicant' },
  num_children: num('applicant', 'num_children'),
  household_size: num('applicant', 'household_size'),
  total_income: num('applicant', 'total_income'),
  age: num('applicant', 'age'),
  income_type: { kind: 'category', party: 'applicant', values: INCOME_TYPES },
  education_type: { kind: 'category', party: 'applicant', values: EDUCATION_TYPES },
  family_status: { kind: 'category', party: 'applicant', values: FAMILY_STATUSES },
  occupation_type: { kind: 'category', party: 'applicant', values: OCCUPATION_TYPES },
  housing_type: { kind: 'category', party: 'applicant', values: HOUSING_TYPES },
  account_age: num('bank', 'account_age'),
  years_employed: { kind: 'category', party: 'bureau', values: YEARS_EMPLOYED_BINS },
  employed: { kind: 'boolean', party: 'bureau' },
};

/** Feature names in form order. */
export const FEATURE_NAMES = Object.keys(FEATURE_SPECS) as FeatureName[];

/** The features a party owns, in form order. */
export function featuresOf(party: Party): FeatureName[] {
  return FEATURE_NAMES.filter((n) => FEATURE_SPECS[n].party === party);
}
