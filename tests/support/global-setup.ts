import { ensurePublicKeyTestKeys, ensureTestKeys, TEST_PARAM_SETS, type TestParamSet } from './tfhe-keys.ts';

/** Runs once per `vitest run`: make every parameter set's keys before the suites start. */
export default function setup(): void {
  for (const paramSet of Object.keys(TEST_PARAM_SETS) as TestParamSet[]) {
    ensureTestKeys(paramSet);
    ensurePublicKeyTestKeys(paramSet);
  }
}
