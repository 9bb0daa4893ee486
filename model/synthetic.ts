/**
 * Seeded synthetic applicants with the seed application's schema and plausible relationships.
 *
 * Generation order follows how the quantities depend on each other: age → income type →
 * occupation → education → family and children → income → employment history → assets and
 * housing → account age. Approval is then drawn from a logistic score in which income,
 * employment (a span under two years weighs heavily, as in the seed data), account age and age
 * dominate, with smaller effects from assets, education and children. Drawing the label, rather
 * than thresholding the score, is the noise: similar applicants do not always get the same
 * answer. The intercept is calibrated so about two thirds of applicants are approved (the seed
 * data: 69.6 %).
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
} from './features.ts';
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
  if (age >= 62) return rng.weighted([['Pensioner', 85], ['Salaried', 10], ['Self-employed', 5]]);
  if (age <= 26) return rng.weighted([['Student', 35], ['Salaried', 55], ['Self-employed', 10]]);
  return rng.weighted([['Salaried', 73], ['Self-employed', 24], ['Pensioner', 3]]);
}

function occupationFor(rng: Rng, incomeType: IncomeType): OccupationType {
  if (incomeType === 'Pensioner' && rng.chance(0.9)) return 'Retired';
  if (incomeType === 'Student' && rng.chance(0.9)) return 'Student';
  return WORKING_OCCUPATIONS[rng.int(WORKING_OCCUPATIONS.length)]!;
}

function educationFor(rng: Rng, occupation: OccupationType, incomeType: IncomeType): EducationType {
  if (incomeType === 'Student') return rng.weighted([['Incomplete higher', 60], ['Secondary', 35], ['Higher education', 5]]);
  switch (OCCUPATION_GROUP[occupation]) {
    case 'high_tech':
      return rng.weighted([['Higher education', 75], ['Incomplete higher', 12], ['Secondary', 11], ['Lower secondary', 2]]);
    case 'office':
      return rng.weighted([['Higher education', 45], ['Secondary', 35], ['Incomplete higher', 15], ['Lower secondary', 5]]);
    case 'labour':
      return rng.weighted([['Secondary', 55], ['Lower secondary', 25], ['Incomplete higher', 10], ['Higher education', 10]]);
  }
}

function familyFor(rng: Rng, age: number): FamilyStatus {
  if (age < 30) return rng.weighted([['Single', 60], ['Married', 35], ['Divorced', 5]]);
  if (age <= 60) return rng.weighted([['Married', 55], ['Single', 20], ['Divorced', 20], ['Widow', 5]]);
  return rng.weighted([['Married', 50], ['Widow', 30], ['Divorced', 12], ['Single', 8]]);
}

const INCOME_BASE = { labour: 18_000, office: 24_000, high_tech: 34_000 } as const;
const EDUCATION_FACTOR: Record<EducationType, number> = {
  'Higher education': 1.25,
  'Incomplete higher': 1.05,
  Secondary: 1,
  'Lower secondary': 0.85,
};
const YEARS_BIN_EFFECT = [-1.9, -0.1, 0.4, 0.7, 0.9, 1.0];

function generateOne(rng: Rng): LabeledApplication {
  const age = Math.round(clamp(42 + 12 * rng.normal(), 21, 72));
  const incomeType = incomeTypeFor(rng, age);
  const occupation = occupationFor(rng, incomeType);
  const education = educationFor(rng, occupation, incomeType);
  const family = familyFor(rng, age);
  const married = family === 'Married';
  const childWeights: [number, number][] = married
    ? [[0, 25], [1, 30], [2, 30], [3, 10], [4, 5]]
    : [[0, 65], [1, 20], [2, 10], [3, 4], [4, 1]];
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
  const employed = rng.chance(working ? 0.93 : incomeType === 'Student' ? 0.3 : 0.05);
  // Years in the current employment: at most the years since 20, skewed towards short spans.
  const years = employed ? Math.max(0, age - 20) * rng.next() ** 1.4 : rng.next();
  const yearsBin = yearsEmployedBin(years);

  const ownProperty = rng.chance(sigmoid(-1.2 + 0.05 * (age - 35) + 1.2 * Math.log(totalIncome / 22_000)));
  const ownCar = rng.chance(sigmoid(-0.3 + 1.5 * Math.log(totalIncome / 22_000)));
  const housing = ownProperty
    ? rng.weighted([['House / apartment', 90], ['Rented apartment', 6], ['With parents', 4]] as const)
    : age < 30
      ? rng.weighted([['With parents', 45], ['Rented apartment', 55]] as const)
      : rng.weighted([['Rented apartment', 85], ['With parents', 15]] as const);
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
  return { features, approved: rng.chance(approvalProbability(features)) ? 1 : 0 };
}

/** The generator's ground truth: the probability that an application is approved. */
export function approvalProbability(f: CreditFeatures): number {
  const z =
    -0.35 +
    1.8 * Math.log(f.total_income / 22_000) +
    YEARS_BIN_EFFECT[YEARS_EMPLOYED_BINS.indexOf(f.years_employed)]! +
    (f.employed ? 0.9 : -0.7) +
    0.45 * Math.log1p(f.account_age / 12) -
    0.12 * Math.max(0, 25 - f.age) -
    0.06 * Math.max(0, f.age - 60) +
    (f.own_property ? 0.3 : 0) +
    (f.own_car ? 0.15 : 0) +
    (f.education_type === 'Higher education' ? 0.2 : f.education_type === 'Lower secondary' ? -0.2 : 0) -
    0.2 * Math.max(0, f.num_children - 2);
  return sigmoid(z);
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
