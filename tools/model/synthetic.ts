/**
 * Seeded synthetic applicants with the seed application's schema and plausible relationships.
 *
 * Generation order follows how the quantities depend on each other: age → income type →
 * occupation → education → family and children → income → employment history → assets and
 * housing → account age. Approval is then drawn from a logistic score in which every answer has
 * a documented effect (model/README.md, "Synthetic world"): income per consumption unit,
 * employment and its length, account age and youth dominate; income type, education, family,
 * occupation, housing, assets, phone and children add smaller effects. The noise is an unobserved
 * part of the score (the credit history no answer reveals) and the draw of the label itself. The
 * intercept is calibrated so about 69 % of applicants are approved (the seed data: 69.6 %).
 *
 * Browser-safe.
 */
import {
  OCCUPATION_GROUP,
  OCCUPATION_TYPES,
  yearsEmployedBin,
  YEARS_EMPLOYED_BINS,
  type CreditFeatures,
  type EducationType,
  type FamilyStatus,
  type IncomeType,
  type OccupationType,
} from '../../model/features.ts';
import { createRng, type Rng } from './random.ts';

/** One training example: an application and whether it was approved. */
export interface LabeledApplication {
  features: CreditFeatures;
  /** 1 = approved, 0 = denied. */
  approved: 0 | 1;
}

const WORKING_OCCUPATIONS = OCCUPATION_TYPES.filter((o) => o !== 'Retired' && o !== 'Student');

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

function incomeTypeFor(rng: Rng, age: number): IncomeType {
  if (age >= 62)
    return rng.weighted([
      ['Pensioner', 85],
      ['Salaried', 10],
      ['Self-employed', 5],
    ]);
  if (age <= 26)
    return rng.weighted([
      ['Student', 35],
      ['Salaried', 55],
      ['Self-employed', 10],
    ]);
  return rng.weighted([
    ['Salaried', 73],
    ['Self-employed', 24],
    ['Pensioner', 3],
  ]);
}

function occupationFor(rng: Rng, incomeType: IncomeType): OccupationType {
  if (incomeType === 'Pensioner' && rng.chance(0.9)) return 'Retired';
  if (incomeType === 'Student' && rng.chance(0.9)) return 'Student';
  return WORKING_OCCUPATIONS[rng.int(WORKING_OCCUPATIONS.length)]!;
}

function educationFor(rng: Rng, occupation: OccupationType, incomeType: IncomeType): EducationType {
  if (incomeType === 'Student')
    return rng.weighted([
      ['Incomplete higher', 60],
      ['Secondary', 35],
      ['Higher education', 5],
    ]);
  switch (OCCUPATION_GROUP[occupation]) {
    case 'high_tech':
      return rng.weighted([
        ['Higher education', 75],
        ['Incomplete higher', 12],
        ['Secondary', 11],
        ['Lower secondary', 2],
      ]);
    case 'office':
      return rng.weighted([
        ['Higher education', 45],
        ['Secondary', 35],
        ['Incomplete higher', 15],
        ['Lower secondary', 5],
      ]);
    case 'labour':
      return rng.weighted([
        ['Secondary', 55],
        ['Lower secondary', 25],
        ['Incomplete higher', 10],
        ['Higher education', 10],
      ]);
  }
}

function familyFor(rng: Rng, age: number): FamilyStatus {
  if (age < 30)
    return rng.weighted([
      ['Single', 60],
      ['Married', 35],
      ['Divorced', 5],
    ]);
  if (age <= 60)
    return rng.weighted([
      ['Married', 55],
      ['Single', 20],
      ['Divorced', 20],
      ['Widow', 5],
    ]);
  return rng.weighted([
    ['Married', 50],
    ['Widow', 30],
    ['Divorced', 12],
    ['Single', 8],
  ]);
}

const INCOME_BASE = { labour: 18_000, office: 24_000, high_tech: 34_000 } as const;
const EDUCATION_FACTOR: Record<EducationType, number> = {
  'Higher education': 1.25,
  'Incomplete higher': 1.05,
  Secondary: 1,
  'Lower secondary': 0.85,
};
const YEARS_BIN_EFFECT = [-1.5, -0.2, 0.35, 0.6, 0.8, 0.9];
/** Calibrated so about two thirds of applicants are approved (the seed data: 69.6 %). */
const APPROVAL_INTERCEPT = -0.15;

function generateOne(rng: Rng): LabeledApplication {
  const age = Math.round(clamp(42 + 12 * rng.normal(), 21, 72));
  const incomeType = incomeTypeFor(rng, age);
  const occupation = occupationFor(rng, incomeType);
  const education = educationFor(rng, occupation, incomeType);
  const family = familyFor(rng, age);
  const married = family === 'Married';
  const childWeights: [number, number][] = married
    ? [
        [0, 25],
        [1, 30],
        [2, 30],
        [3, 10],
        [4, 5],
      ]
    : [
        [0, 65],
        [1, 20],
        [2, 10],
        [3, 4],
        [4, 1],
      ];
  const children = age < 24 ? 0 : rng.weighted(childWeights);

  let income: number;
  if (incomeType === 'Pensioner') income = 13_000;
  else if (incomeType === 'Student') income = 9_000;
  else income = INCOME_BASE[OCCUPATION_GROUP[occupation]] * EDUCATION_FACTOR[education];
  if (incomeType === 'Self-employed') income *= 1.1;
  const career = incomeType === 'Salaried' || incomeType === 'Self-employed' ? 0.8 + 0.2 * Math.min(1, (age - 21) / 25) : 1;
  const spread = incomeType === 'Self-employed' ? 0.45 : 0.3;
  const totalIncome = Math.round(clamp(income * career * Math.exp(spread * rng.normal()), 3_000, 300_000) / 100) * 100;

  const working = incomeType === 'Salaried' || incomeType === 'Self-employed';
  const employed = rng.chance(working ? 0.88 : incomeType === 'Student' ? 0.3 : 0.05);
  // Years in the current employment (for someone not employed: the most recent one, as the
  // bureau records it): at most the years since 20, skewed towards short spans; a pensioner's
  // last employment was usually long, a student's short or none.
  const span = Math.max(0, age - 20);
  const years = employed
    ? span * rng.next() ** 1.4
    : incomeType === 'Pensioner'
      ? span * (0.3 + 0.7 * rng.next()) * 0.6
      : Math.min(span, 6) * rng.next() ** 2;
  const yearsBin = yearsEmployedBin(years);

  const ownProperty = rng.chance(sigmoid(-1.2 + 0.05 * (age - 35) + 1.2 * Math.log(totalIncome / 22_000)));
  const ownCar = rng.chance(sigmoid(-0.3 + 1.5 * Math.log(totalIncome / 22_000)));
  const housing = ownProperty
    ? rng.weighted([
        ['House / apartment', 90],
        ['Rented apartment', 6],
        ['With parents', 4],
      ] as const)
    : age < 30
      ? rng.weighted([
          ['With parents', 45],
          ['Rented apartment', 55],
        ] as const)
      : rng.weighted([
          ['Rented apartment', 85],
          ['With parents', 15],
        ] as const);
  const household = clamp(1 + (married ? 1 : 0) + children + (housing === 'With parents' ? 2 : 0), 1, 15);
  const accountAge = Math.round(clamp(6 + 12 * Math.max(0, age - 18) * rng.next() ** 1.5, 1, 600));

  const features: CreditFeatures = {
    own_car: ownCar,
    own_property: ownProperty,
    mobile_phone: rng.chance(0.85),
    num_children: children,
    household_size: household,
    total_income: totalIncome,
    age,
    income_type: incomeType,
    education_type: education,
    family_status: family,
    occupation_type: occupation,
    housing_type: housing,
    account_age: accountAge,
    years_employed: yearsBin,
    employed,
  };
  // The label: the score, the unobserved part (credit history) and the logistic draw.
  const score = approvalScore(features) + UNOBSERVED_SD * rng.normal();
  return { features, approved: rng.chance(sigmoid(score)) ? 1 : 0 };
}

/** Effect on the log-odds of approval of each categorical answer (0: the reference value). */
const INCOME_TYPE_EFFECT: Record<IncomeType, number> = { Salaried: 0, Pensioner: 0.15, 'Self-employed': -0.45, Student: -0.6 };
const EDUCATION_EFFECT: Record<EducationType, number> = {
  'Higher education': 0.35,
  'Incomplete higher': 0.1,
  Secondary: 0,
  'Lower secondary': -0.35,
};
const FAMILY_EFFECT: Record<FamilyStatus, number> = { Married: 0.15, Widow: 0, Single: 0, Divorced: -0.15 };
const OCCUPATION_EFFECT = { labour: -0.1, office: 0.05, high_tech: 0.2 } as const;
const HOUSING_EFFECT: Record<CreditFeatures['housing_type'], number> = {
  'House / apartment': 0.2,
  'Rented apartment': 0,
  'With parents': -0.15,
};

/**
 * Income per consumption unit (the OECD-modified equivalence scale: 1 for the applicant, 0.5 per
 * other adult, 0.3 per child), so the same income goes less far in a larger household.
 */
export function equivalisedIncome(f: Pick<CreditFeatures, 'total_income' | 'household_size' | 'num_children'>): number {
  const children = Math.min(f.num_children, f.household_size - 1);
  const otherAdults = Math.max(0, f.household_size - 1 - children);
  return f.total_income / (1 + 0.5 * otherAdults + 0.3 * children);
}

/**
 * The generator's ground truth: the log-odds of approval before the unobserved part (the
 * applicant's credit history, which no form answer reveals). Every answer has an effect; see
 * `model/README.md` for the reasons. It never falls as income, account age, years employed or
 * employment rise, and does not depend on age from 25 on.
 */
export function approvalScore(f: CreditFeatures): number {
  const notEmployedEffect = f.income_type === 'Pensioner' ? 0 : -1.5; // a pension is an income
  return (
    APPROVAL_INTERCEPT +
    1.7 * Math.log(Math.max(equivalisedIncome(f), 1_000) / 15_000) +
    YEARS_BIN_EFFECT[YEARS_EMPLOYED_BINS.indexOf(f.years_employed)]! +
    (f.employed ? 0.7 : notEmployedEffect) +
    0.45 * Math.log1p(f.account_age / 12) -
    0.3 * Math.max(0, 26 - f.age) +
    INCOME_TYPE_EFFECT[f.income_type] +
    EDUCATION_EFFECT[f.education_type] +
    FAMILY_EFFECT[f.family_status] +
    OCCUPATION_EFFECT[OCCUPATION_GROUP[f.occupation_type]] +
    HOUSING_EFFECT[f.housing_type] +
    (f.own_property ? 0.3 : 0) +
    (f.own_car ? 0.15 : 0) +
    (f.mobile_phone ? 0.2 : -0.2) -
    0.2 * f.num_children
  );
}

/** Spread of the unobserved part of the score (standard deviation, in log-odds). */
export const UNOBSERVED_SD = 0.6;

/**
 * The probability that an application is approved, averaged over the unobserved part
 * (the logistic–normal integral, by the probit approximation σ(z / √(1 + π s² / 8))).
 */
export function approvalProbability(f: CreditFeatures): number {
  return sigmoid(approvalScore(f) / Math.sqrt(1 + (Math.PI * UNOBSERVED_SD ** 2) / 8));
}

/**
 * Generates `count` labeled applications; the same seed always gives the same rows.
 * @example
 * const rows = generateApplications(20_000, 2023);
 */
export function generateApplications(count: number, seed: number): LabeledApplication[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  const rng = createRng(seed);
  return Array.from({ length: count }, () => generateOne(rng));
}
