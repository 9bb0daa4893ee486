/**
 * Applicants for the end-to-end cases, chosen by the committed model itself: generated
 * applications are run through the cleartext reference model (`model/infer.ts`, the seed's
 * explanation loop) until one of each outcome turns up. What the page must then show is derived
 * from that outcome and the widget's own English strings, never written down by hand.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { YEARS_EMPLOYED_BINS, YEARS_EMPLOYED_BIN_LOWER, type CreditFeatures } from '../../../model/features.ts';
import { seedExplanation, type ExplanationOutcome } from '../../../model/infer.ts';
import { loadModel, type Model } from '../../../model/private-model.ts';
import { generateApplications } from '../../../tools/model/synthetic.ts';
import { en } from '../../../widget/src/translations/en.ts';

const ARTIFACTS = join(import.meta.dirname, '..', '..', '..', 'model', 'artifacts');

export function loadDemoModel(): Promise<Model> {
  return loadModel(readFileSync(join(ARTIFACTS, 'manifest.json'), 'utf8'), readFileSync(join(ARTIFACTS, 'tree.json'), 'utf8'));
}

export interface Applicant {
  features: CreditFeatures;
  outcome: ExplanationOutcome;
}

/** The cleartext model's answer for one application. */
export function expectedOutcome(model: Model, features: CreditFeatures): ExplanationOutcome {
  return seedExplanation(model.manifest, model.tree, features, YEARS_EMPLOYED_BINS);
}

/**
 * The first generated applicant (fixed seed) of each kind: approved; denied, but approved with
 * a longer employment than their own (`suggest`); denied whatever the employment (`none`).
 */
export function pickApplicants(model: Model, seed = 7): Record<ExplanationOutcome['kind'], Applicant> {
  const found: Partial<Record<ExplanationOutcome['kind'], Applicant>> = {};
  for (const { features } of generateApplications(5_000, seed)) {
    if (!features.employed) continue; // the not-employed wording has its own case
    const outcome = expectedOutcome(model, features);
    found[outcome.kind] ??= { features, outcome };
    if (found.approved && found.suggest && found.none) return found as Record<ExplanationOutcome['kind'], Applicant>;
  }
  throw new Error(`the model produced only ${Object.keys(found).join(', ')} on 5,000 generated applicants`);
}

/** `{name}` placeholders of a widget string filled in, as the widget renders it. */
function fill(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(values[name]));
}

const lowerYears = (label: string) => YEARS_EMPLOYED_BIN_LOWER[(YEARS_EMPLOYED_BINS as readonly string[]).indexOf(label)]!;

/**
 * The headline and the sentences the person must read for an outcome. `employed` is what the
 * page knows of the applicant's employment (demo mode shows the bureau's answer; in applicant
 * mode it does not know, unless the bits show it: approval from 0 years on).
 */
export function expectedTexts(outcome: ExplanationOutcome, employed?: boolean): { title: string; lines: string[] } {
  switch (outcome.kind) {
    case 'approved':
      return { title: en.approvedTitle, lines: [en.approvedBody] };
    case 'suggest': {
      const from = lowerYears(outcome.label);
      const to = outcome.until && lowerYears(outcome.until.label);
      const notEmployed = employed === false || from === 0;
      const line = notEmployed
        ? to !== null
          ? fill(en.explainNotEmployedRange, { from, to })
          : from === 0
            ? en.explainNotEmployed
            : fill(en.explainNotEmployedYears, { years: from })
        : to !== null
          ? fill(en.explainYearsRange, { from, to })
          : fill(en.explainYears, { years: from });
      return { title: en.deniedTitle, lines: [en.deniedBody, line] };
    }
    case 'none':
      return { title: en.deniedTitle, lines: [en.deniedBody, employed === false ? en.explainNotEmployedNone : en.explainNone] };
  }
}

/** The first generated applicant (fixed seed) not employed and denied with an explanation of `kind`. */
export function pickNotEmployed(model: Model, kind: 'suggest' | 'none', seed = 7): Applicant {
  for (const { features } of generateApplications(20_000, seed)) {
    if (features.employed) continue;
    const outcome = expectedOutcome(model, features);
    if (outcome.kind === kind) return { features, outcome };
  }
  throw new Error(`no generated applicant is not employed and ${kind}`);
}

/** What the bank's and the bureau's records say about one customer (`demo/bank-backend/records.json`). */
export interface CustomerRecord {
  reference: string;
  bank: Pick<CreditFeatures, 'account_age'>;
  bureau: Pick<CreditFeatures, 'years_employed' | 'employed'>;
}

/** An applicant-mode application: the person's own answers, the parties' records, the model's answer. */
export interface CustomerApplicant extends Applicant {
  customer: string;
  /** What the person types: the applicant's fields only. */
  answers: Partial<CreditFeatures>;
}

/**
 * The first generated application (fixed seed) whose outcome, with the customer's bank and
 * bureau records in place of the generated ones, is `kind`.
 */
export function pickCustomerApplicant(
  model: Model,
  customer: CustomerRecord,
  kind: ExplanationOutcome['kind'],
  seed = 7,
): CustomerApplicant {
  const applicantFields = new Set<string>(model.manifest.features.filter((f) => f.party === 'applicant').map((f) => f.name));
  for (const { features: generated } of generateApplications(5_000, seed)) {
    const features: CreditFeatures = { ...generated, ...customer.bank, ...customer.bureau };
    const outcome = expectedOutcome(model, features);
    if (outcome.kind !== kind) continue;
    const answers = Object.fromEntries(Object.entries(features).filter(([name]) => applicantFields.has(name)));
    return { customer: customer.reference, features, answers, outcome };
  }
  throw new Error(`no generated applicant is ${kind} with ${customer.reference}'s records`);
}
