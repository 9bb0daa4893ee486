/**
 * A plan run on real ciphertexts, for the encrypted circuit tests (Node only: the browser
 * suites' project compiles tests/support/, and this needs the evaluator's circuit).
 */
import { afterAll, beforeAll } from 'vitest';
import { createPbsPool, decodePartyInputs, runCircuit, type CircuitPlan, type PbsPool } from '../../../../../evaluator/circuit/index.ts';
import { loadServerKey, type Ciphertext } from '../../../../../fhe/index.ts';
import type { CreditFeatures } from '../../../../../model/features.ts';
import { readExplanation, type Codes } from '../../../../../model/infer.ts';
import type { Manifest } from '../../../../../model/manifest.ts';
import { quantizeParsed } from '../../../../../model/quantize.ts';
import { encryptApplication } from '../../../../support/encrypted-inputs.ts';
import { loadTestKeys } from '../../../../support/tfhe-keys.ts';
import { decryptCiphertext } from '../../../../support/decrypt.ts';

/** Bootstraps are CPU-bound and share two cores with other suites: a generous, explicit limit. */
export const SLOW = { timeout: 20 * 60_000 };

/** A two-worker bootstrap pool for the calling file's tests, closed after them. */
export function filePbsPool(): () => PbsPool {
  let pool: PbsPool | undefined;
  beforeAll(() => {
    pool = createPbsPool({ size: 2 });
  });
  afterAll(() => pool?.close());
  return () => pool!;
}

/**
 * Runs a plan on real ciphertexts as the evaluator does: node-tfhe encrypts the application
 * under the cached test client key, our engine runs the circuit on `pool`, node-tfhe decrypts
 * the decision and the explanation bits.
 */
export function encryptedRunner(pool: PbsPool) {
  const keys = loadTestKeys('tuniform');
  const serverKey = loadServerKey(keys.compressedServerKeyBytes);
  const decrypt = (ct: Ciphertext) => decryptCiphertext(keys.clientKey, ct);
  return async (plan: CircuitPlan, manifest: Manifest, features: CreditFeatures) => {
    const r = await runCircuit({
      plan,
      serverKey,
      inputs: decodePartyInputs(encryptApplication(manifest, features, keys.clientKey), serverKey),
      publicKeyParties: new Set(),
      pool,
    });
    return { decision: decrypt(r.decision), bits: r.explanation.map(decrypt), pbs: r.pbs };
  };
}

/** The first applicant of each explanation outcome (`approved`, `suggest`, `none`), as the cleartext model `explain` sees them. */
export function applicantPerOutcome(
  manifest: Manifest,
  explain: (codes: Codes) => { decision: 0 | 1; bits: (0 | 1)[] },
  applications: readonly { features: CreditFeatures }[],
): Map<string, CreditFeatures> {
  const picked = new Map<string, CreditFeatures>();
  for (const { features } of applications) {
    const { decision, bits } = explain(quantizeParsed(manifest.inputs, features));
    const kind = readExplanation(decision, bits, manifest.explanation.bins).kind;
    if (!picked.has(kind)) picked.set(kind, features);
  }
  return picked;
}
