/**
 * The credit model's feature schema, defined once for every tier (widget, party SDK, gateway,
 * evaluator, trainer): raw values as a person or a party backend enters them, which party owns
 * each feature, the categorical values, and the form's label texts in English and French.
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

/** The seed's CSV column for each feature (the label column is `Target`). */
export const CSV_COLUMNS: Readonly<Record<FeatureName, string>> = {
  own_car: 'Own_car',
  own_property: 'Own_property',
  mobile_phone: 'Mobile_phone',
  num_children: 'Num_children',
  household_size: 'Household_size',
  total_income: 'Total_income',
  age: 'Age',
  income_type: 'Income_type',
  education_type: 'Education_type',
  family_status: 'Family_status',
  occupation_type: 'Occupation_type',
  housing_type: 'Housing_type',
  account_age: 'Account_age',
  employed: 'Employed',
  years_employed: 'Years_employed',
};
export const CSV_TARGET_COLUMN = 'Target';

// ---------------------------------------------------------------------------------------------
// Label texts for the form, localizable. A missing string fails to compile.

export const LOCALES = ['en', 'fr'] as const;
export type Locale = (typeof LOCALES)[number];

export interface FieldText {
  /** The field's visible label. */
  label: string;
  /** One sentence of help under the field. */
  help: string;
}

export interface FeatureTexts {
  /** Heading of each party's panel (demo mode shows all three). */
  parties: Record<Party, string>;
  fields: Record<FeatureName, FieldText>;
  /** Display text of each categorical value, keyed by the value itself. */
  options: {
    income_type: Record<IncomeType, string>;
    education_type: Record<EducationType, string>;
    family_status: Record<FamilyStatus, string>;
    occupation_type: Record<OccupationType, string>;
    housing_type: Record<HousingType, string>;
    years_employed: Record<YearsEmployedBin, string>;
  };
  /** Words for boolean fields. */
  yes: string;
  no: string;
  /** The two outcomes of the model. */
  outcomes: { approved: string; denied: string };
}

const en: FeatureTexts = {
  parties: { applicant: 'Your details', bank: 'Bank', bureau: 'Credit bureau' },
  fields: {
    own_car: { label: 'Owns a car', help: 'Whether you own a car.' },
    own_property: { label: 'Owns property', help: 'Whether you own your home or other real estate.' },
    mobile_phone: { label: 'Has a mobile phone', help: 'Whether you have a mobile phone.' },
    num_children: { label: 'Number of children', help: 'Children who depend on you.' },
    household_size: { label: 'Household size', help: 'People living in your household, you included.' },
    total_income: { label: 'Yearly income', help: 'Your total income per year, before tax.' },
    age: { label: 'Age', help: 'Your age in years.' },
    income_type: { label: 'Income type', help: 'Where most of your income comes from.' },
    education_type: { label: 'Education', help: 'Your highest level of education.' },
    family_status: { label: 'Family status', help: 'Your current family status.' },
    occupation_type: { label: 'Occupation', help: 'Your current or most recent occupation.' },
    housing_type: { label: 'Housing', help: 'How you are housed.' },
    account_age: { label: 'Account age (months)', help: 'Months since the applicant opened an account.' },
    years_employed: { label: 'Years employed', help: 'Length of the current employment, in years.' },
    employed: { label: 'Employed', help: 'Whether the applicant is currently employed.' },
  },
  options: {
    income_type: {
      Salaried: 'Salaried',
      Pensioner: 'Pensioner',
      'Self-employed': 'Self-employed',
      Student: 'Student',
    },
    education_type: {
      'Higher education': 'Higher education',
      Secondary: 'Secondary',
      'Incomplete higher': 'Incomplete higher education',
      'Lower secondary': 'Lower secondary',
    },
    family_status: { Married: 'Married', Widow: 'Widowed', Single: 'Single', Divorced: 'Divorced' },
    occupation_type: {
      Engineer: 'Engineer',
      Retired: 'Retired',
      'Business Owner': 'Business owner',
      Teacher: 'Teacher',
      Entrepreneur: 'Entrepreneur',
      'Office Worker': 'Office worker',
      Manager: 'Manager',
      Salesperson: 'Salesperson',
      Designer: 'Designer',
      Consultant: 'Consultant',
      Doctor: 'Doctor',
      Student: 'Student',
      'Cooking Staff': 'Cooking staff',
      Lawyer: 'Lawyer',
      Carpenter: 'Carpenter',
      Architect: 'Architect',
      Plumber: 'Plumber',
      Nurse: 'Nurse',
      'Factory Worker': 'Factory worker',
      Artist: 'Artist',
      Scientist: 'Scientist',
      Accountant: 'Accountant',
      'Bus Driver': 'Bus driver',
      'Software Developer': 'Software developer',
    },
    housing_type: {
      'House / apartment': 'Own house or apartment',
      'Rented apartment': 'Rented apartment',
      'With parents': 'With parents',
    },
    years_employed: {
      '0-2': 'Less than 2 years',
      '2-5': '2 to 5 years',
      '5-8': '5 to 8 years',
      '8-11': '8 to 11 years',
      '11-18': '11 to 18 years',
      '18+': '18 years or more',
    },
  },
  yes: 'Yes',
  no: 'No',
  outcomes: { approved: 'Likely approved', denied: 'Likely denied' },
};

const fr: FeatureTexts = {
  parties: { applicant: 'Vos informations', bank: 'Banque', bureau: 'Bureau de crédit' },
  fields: {
    own_car: { label: 'Possède une voiture', help: 'Si vous possédez une voiture.' },
    own_property: {
      label: 'Propriétaire',
      help: 'Si vous êtes propriétaire de votre logement ou d’un autre bien immobilier.',
    },
    mobile_phone: { label: 'A un téléphone mobile', help: 'Si vous avez un téléphone mobile.' },
    num_children: { label: 'Nombre d’enfants', help: 'Enfants à votre charge.' },
    household_size: { label: 'Taille du foyer', help: 'Personnes vivant dans votre foyer, vous compris.' },
    total_income: { label: 'Revenu annuel', help: 'Votre revenu total par an, avant impôts.' },
    age: { label: 'Âge', help: 'Votre âge en années.' },
    income_type: { label: 'Type de revenu', help: 'La source principale de vos revenus.' },
    education_type: { label: 'Études', help: 'Votre plus haut niveau d’études.' },
    family_status: { label: 'Situation familiale', help: 'Votre situation familiale actuelle.' },
    occupation_type: { label: 'Profession', help: 'Votre profession actuelle ou la plus récente.' },
    housing_type: { label: 'Logement', help: 'Votre type de logement.' },
    account_age: {
      label: 'Ancienneté du compte (mois)',
      help: 'Nombre de mois depuis l’ouverture d’un compte par le demandeur.',
    },
    years_employed: { label: 'Années d’emploi', help: 'Durée de l’emploi actuel, en années.' },
    employed: { label: 'En emploi', help: 'Si le demandeur a actuellement un emploi.' },
  },
  options: {
    income_type: {
      Salaried: 'Salarié',
      Pensioner: 'Retraité',
      'Self-employed': 'Indépendant',
      Student: 'Étudiant',
    },
    education_type: {
      'Higher education': 'Études supérieures',
      Secondary: 'Secondaire',
      'Incomplete higher': 'Études supérieures inachevées',
      'Lower secondary': 'Premier cycle du secondaire',
    },
    family_status: { Married: 'Marié(e)', Widow: 'Veuf / veuve', Single: 'Célibataire', Divorced: 'Divorcé(e)' },
    occupation_type: {
      Engineer: 'Ingénieur',
      Retired: 'Retraité',
      'Business Owner': 'Chef d’entreprise',
      Teacher: 'Enseignant',
      Entrepreneur: 'Entrepreneur',
      'Office Worker': 'Employé de bureau',
      Manager: 'Cadre',
      Salesperson: 'Vendeur',
      Designer: 'Designer',
      Consultant: 'Consultant',
      Doctor: 'Médecin',
      Student: 'Étudiant',
      'Cooking Staff': 'Personnel de cuisine',
      Lawyer: 'Avocat',
      Carpenter: 'Charpentier',
      Architect: 'Architecte',
      Plumber: 'Plombier',
      Nurse: 'Infirmier',
      'Factory Worker': 'Ouvrier d’usine',
      Artist: 'Artiste',
      Scientist: 'Scientifique',
      Accountant: 'Comptable',
      'Bus Driver': 'Chauffeur de bus',
      'Software Developer': 'Développeur logiciel',
    },
    housing_type: {
      'House / apartment': 'Maison ou appartement en propriété',
      'Rented apartment': 'Appartement en location',
      'With parents': 'Chez les parents',
    },
    years_employed: {
      '0-2': 'Moins de 2 ans',
      '2-5': 'De 2 à 5 ans',
      '5-8': 'De 5 à 8 ans',
      '8-11': 'De 8 à 11 ans',
      '11-18': 'De 11 à 18 ans',
      '18+': '18 ans ou plus',
    },
  },
  yes: 'Oui',
  no: 'Non',
  outcomes: { approved: 'Probablement acceptée', denied: 'Probablement refusée' },
};

/** The form's texts per locale. */
export const FEATURE_TEXTS: Readonly<Record<Locale, FeatureTexts>> = { en, fr };
