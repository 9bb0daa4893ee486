/**
 * An ONNX-imported ensemble on real ciphertexts: node-tfhe 1.6.1 encrypts each party's digits,
 * our engine runs the ensemble circuit, node-tfhe decrypts. Decision and explanation bits must
 * equal the quantized cleartext ensemble (one applicant of each outcome; `BENCH_CIRCUIT_RUNS`
 * encrypted applicants more in `npm run bench`'s `circuit.ensemble`).
 */
import * as tfhe from 'node-tfhe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileCircuit, createPbsPool, decodePartyInputs, runCircuit, type PbsPool } from '../../../evaluator/circuit/index.ts';
import { loadServerKey, serializeCiphertext, type Ciphertext } from '../../../fhe/index.ts';
import { boostTrees, boostedToOnnx } from '../../../tools/model/boost.ts';
import { explainEnsembleCodes } from '../../../model/ensemble.ts';
import type { CreditFeatures } from '../../../model/features.ts';
import { importOnnxModel } from '../../../tools/model/import-onnx.ts';
import { readExplanation } from '../../../model/infer.ts';
import { quantizeParsed } from '../../../model/quantize.ts';
import { generateApplications } from '../../../tools/model/synthetic.ts';
import { encryptApplication } from '../../support/encrypted-inputs.ts';
import { loadTestKeys } from '../../support/tfhe-keys.ts';

// Bootstraps are CPU-bound and share two cores with other suites: a generous, explicit limit.
const SLOW = { timeout: 20 * 60_000 };

let pool: PbsPool;
beforeAll(() => {
  pool = createPbsPool({ size: 2 });
});
afterAll(async () => {
  await pool.close();
});

describe('ONNX ensemble, encrypted', () => {
  it('decides and explains on ciphertexts as the quantized cleartext ensemble (approved, suggested bin, none)', SLOW, async () => {
    const boosted = boostTrees(generateApplications(3_000, 91), { trees: 4, maxDepth: 3, learningRate: 0.5 });
    const { model } = await importOnnxModel(boostedToOnnx(boosted, 'xgboost'), { leafRange: 15 });
    const plan = compileCircuit(model);
    const keys = loadTestKeys('tuniform');
    const serverKey = loadServerKey(keys.compressedServerKeyBytes);
    const decrypt = (ct: Ciphertext) =>
      Number(tfhe.Shortint.decrypt(keys.clientKey, tfhe.Shortint.deserialize_ciphertext(serializeCiphertext(ct))));

    const picked = new Map<string, CreditFeatures>();
    for (const { features } of generateApplications(3_000, 92)) {
      const codes = quantizeParsed(model.manifest.inputs, features);
      const { decision, bits } = explainEnsembleCodes(model.ensemble, codes, model.manifest.explanation);
      const kind = readExplanation(decision, bits, model.manifest.explanation.bins).kind;
      if (!picked.has(kind)) picked.set(kind, features);
    }
    expect([...picked.keys()].sort()).toEqual(['approved', 'none', 'suggest']);
    for (const features of picked.values()) {
      const expected = explainEnsembleCodes(model.ensemble, quantizeParsed(model.manifest.inputs, features), model.manifest.explanation);
      const r = await runCircuit({
        plan,
        serverKey,
        inputs: decodePartyInputs(encryptApplication(model.manifest, features, keys.clientKey), serverKey),
        publicKeyParties: new Set(),
        pool,
      });
      expect(r.pbs).toBe(plan.stats.pbs);
      expect({ decision: decrypt(r.decision), bits: r.explanation.map(decrypt) }).toEqual(expected);
    }
  });
});
