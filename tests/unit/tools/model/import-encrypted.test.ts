/**
 * An imported model on real ciphertexts: the JPMML-SkLearn-shaped fixture imported, compiled,
 * its inputs encrypted with node-tfhe 1.6.1 as the parties do, run by our engine and decrypted
 * with node-tfhe. Decision and explanation bits must equal the cleartext imported model.
 */
import { readFileSync } from 'node:fs';
import * as tfhe from 'node-tfhe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileCircuit,
  createPbsPool,
  decodePartyInputs,
  runCircuit,
  simulateCircuit,
  type PbsPool,
} from '../../../../evaluator/circuit/index.ts';
import { loadServerKey, serializeCiphertext, type Ciphertext } from '../../../../fhe/index.ts';
import type { CreditFeatures } from '../../../../model/features.ts';
import { importPmmlModel } from '../../../../tools/model/import-pmml.ts';
import { explainCodes, readExplanation } from '../../../../model/infer.ts';
import { quantizeParsed } from '../../../../model/quantize.ts';
import { generateApplications } from '../../../../tools/model/synthetic.ts';
import { encryptApplication } from '../../../support/encrypted-inputs.ts';
import { loadTestKeys } from '../../../support/tfhe-keys.ts';

// Bootstraps are CPU-bound and share two cores with other suites: a generous, explicit limit.
const SLOW = { timeout: 20 * 60_000 };

let pool: PbsPool;
beforeAll(() => {
  pool = createPbsPool({ size: 2 });
});
afterAll(async () => {
  await pool.close();
});

describe('imported model, encrypted', () => {
  it('decides and explains on ciphertexts as the cleartext imported model (approved, suggested bin, none)', SLOW, async () => {
    const xml = readFileSync(new URL('./fixtures/credit-tree.pmml', import.meta.url), 'utf8');
    const { model } = await importPmmlModel(xml);
    const plan = compileCircuit(model);
    const keys = loadTestKeys('tuniform');
    const serverKey = loadServerKey(keys.compressedServerKeyBytes);
    const decrypt = (ct: Ciphertext) =>
      Number(tfhe.Shortint.decrypt(keys.clientKey, tfhe.Shortint.deserialize_ciphertext(serializeCiphertext(ct))));

    // One applicant of each outcome, as the cleartext model sees them.
    const picked = new Map<string, CreditFeatures>();
    for (const { features } of generateApplications(3_000, 404)) {
      const codes = quantizeParsed(model.manifest.inputs, features);
      const { decision, bits } = explainCodes(model.tree, codes, model.manifest.explanation);
      const kind = readExplanation(decision, bits, model.manifest.explanation.bins).kind;
      if (!picked.has(kind)) picked.set(kind, features);
    }
    expect([...picked.keys()].sort()).toEqual(['approved', 'none', 'suggest']);

    for (const features of picked.values()) {
      const codes = quantizeParsed(model.manifest.inputs, features);
      const expected = explainCodes(model.tree, codes, model.manifest.explanation);
      expect({ decision: simulateCircuit(plan, codes).decision }).toEqual({ decision: expected.decision });
      const r = await runCircuit({
        plan,
        serverKey,
        inputs: decodePartyInputs(encryptApplication(model.manifest, features, keys.clientKey), serverKey),
        publicKeyParties: new Set(),
        pool,
      });
      expect({ decision: decrypt(r.decision), bits: r.explanation.map(decrypt) }).toEqual(expected);
    }
  });
});
