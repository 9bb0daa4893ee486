/**
 * A backend for HTTP-level suites that do not run the circuit: the real manifest checks of
 * `evaluator/service/model-inputs.ts`; key expansion and runs are refused, so a suite that
 * reaches them fails loudly. Full runs are covered with the circuit backend in session.test.ts.
 */
import { ApiError } from '../../../../../protocol/errors.ts';
import type { EvaluationBackend } from '../../../../../evaluator/service/backend.ts';
import { checkPartyInputs, modelInfo, type ServedManifest } from '../../../../../evaluator/service/model-inputs.ts';

/** Inputs of a small model: two applicant answers, the bank's account age, the bureau's two. */
export const TEST_MANIFEST: ServedManifest = {
  modelVersion: 'a1'.repeat(32),
  parameterSet: { id: 'tuniform' },
  inputs: [
    { name: 'own_car', feature: 'own_car', party: 'applicant', bits: 1, digits: 1, quantizer: { kind: 'boolean' } },
    { name: 'income', feature: 'income', party: 'applicant', bits: 4, digits: 2, quantizer: { kind: 'thresholds', cuts: [1, 2, 3] } },
    { name: 'account_age', feature: 'account_age', party: 'bank', bits: 3, digits: 2, quantizer: { kind: 'thresholds', cuts: [1, 2] } },
    {
      name: 'years_employed',
      feature: 'years_employed',
      party: 'bureau',
      bits: 3,
      digits: 2,
      quantizer: { kind: 'thresholds', cuts: [1] },
    },
    { name: 'employed', feature: 'employed', party: 'bureau', bits: 1, digits: 1, quantizer: { kind: 'boolean' } },
  ],
} as ServedManifest;

export function manifestOnlyBackend(manifest: ServedManifest = TEST_MANIFEST): EvaluationBackend<never> {
  const unavailable = () => Promise.reject(new ApiError(500, 'internal', 'this test backend does not run circuits'));
  return {
    model: modelInfo(manifest),
    checkInputs: (inputs) => checkPartyInputs(manifest, inputs),
    expandServerKey: unavailable,
    // Nothing to do ahead without keys: a session's inputs wait for the run, as without precomputation.
    precompute: () => undefined,
    run: unavailable,
    ready: () => true,
    close: async () => {},
  };
}
