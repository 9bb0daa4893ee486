/** What the test runner's real-stack endpoints answer (tests/browser/server/real-stack.ts). */
import type { CreditFeatures } from '../../../model/features.ts';
import type { ExplanationOutcome } from '../../../model/infer.ts';

/** `GET /stack/gateway`: where the real gateway listens, and the demo tenant's publishable key. */
export interface RealGatewayInfo {
  url: string;
  publishableKey: string;
}

/** One applicant: the answers, the cleartext model's outcome, and what the page must show for it. */
export interface ApplicantCase {
  features: CreditFeatures;
  outcome: ExplanationOutcome;
  texts: { title: string; lines: string[] };
}

/** `GET /stack/applicants`: one applicant of each outcome, picked by the cleartext model. */
export interface ApplicantCases {
  approved: ApplicantCase;
  suggest: ApplicantCase;
  none: ApplicantCase;
  notEmployedSuggest: ApplicantCase;
  notEmployedNone: ApplicantCase;
}
