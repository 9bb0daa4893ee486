/**
 * An ONNX-imported ensemble on real ciphertexts: node-tfhe 1.6.1 encrypts each party's digits,
 * our engine runs the ensemble circuit, node-tfhe decrypts. Decision and explanation bits must
 * equal the quantized cleartext ensemble: one applicant of each outcome on a 4-tree ensemble, and
 * 20 applicants as they come on a 3-tree one small enough to keep the suite cheap (18 bootstraps
 * each, carries included; `BENCH_CIRCUIT_RUNS` encrypted applicants more in `npm run bench`'s
 * `circuit.ensemble`).
 */
import * as tfhe from 'node-tfhe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileCircuit,
  createPbsPool,
  decodePartyInputs,
  runCircuit,
  type CircuitPlan,
  type PbsPool,
} from '../../../evaluator/circuit/index.ts';
import { loadServerKey, serializeCiphertext, type Ciphertext } from '../../../fhe/index.ts';
import { boostTrees, boostedToOnnx } from '../../../model/boost.ts';
import { explainEnsembleCodes } from '../../../model/ensemble.ts';
import type { CreditFeatures } from '../../../model/features.ts';
import { importOnnxModel } from '../../../model/import-onnx.ts';
import { readExplanation } from '../../../model/infer.ts';
import type { EnsembleModel } from '../../../model/manifest.ts';
import { quantizeParsed } from '../../../model/quantize.ts';
import { generateApplications } from '../../../model/synthetic.ts';
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

async function decideEncrypted(model: EnsembleModel, plan: CircuitPlan, features: CreditFeatures) {
  const keys = loadTestKeys('tuniform');
  const serverKey = loadServerKey(keys.compressedServerKeyBytes);
  const decrypt = (ct: Ciphertext) =>
    Number(tfhe.Shortint.decrypt(keys.clientKey, tfhe.Shortint.deserialize_ciphertext(serializeCiphertext(ct))));
  const r = await runCircuit({
    plan,
    serverKey,
    inputs: decodePartyInputs(encryptApplication(model.manifest, features, keys.clientKey), serverKey),
    publicKeyParties: new Set(),
    pool,
  });
  expect(r.pbs).toBe(plan.stats.pbs);
  return { decision: decrypt(r.decision), bits: r.explanation.map(decrypt) };
}

describe('ONNX ensemble, encrypted', () => {
  it('decides and explains on ciphertexts as the quantized cleartext ensemble (approved, suggested bin, none)', SLOW, async () => {
    const boosted = boostTrees(generateApplications(3_000, 91), { trees: 4, maxDepth: 3, learningRate: 0.5 });
    const { model } = await importOnnxModel(boostedToOnnx(boosted, 'xgboost'), { leafRange: 15 });
    const plan = compileCircuit(model);
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
      expect(await decideEncrypted(model, plan, features)).toEqual(expected);
    }
  });

  it('decides and explains 20 applicants on ciphertexts as the quantized cleartext ensemble', SLOW, async () => {
    const boosted = boostTrees(generateApplications(3_000, 91), { trees: 3, maxDepth: 2, learningRate: 0.5 });
    const { model } = await importOnnxModel(boostedToOnnx(boosted, 'lightgbm'), { leafRange: 3 });
    const plan = compileCircuit(model);
    const applicants = generateApplications(20, 93).map((a) => a.features);
    // Side by side on the pool, as the evaluator runs concurrent requests.
    const got = await Promise.all(applicants.map((features) => decideEncrypted(model, plan, features)));
    const expected = applicants.map((features) =>
      explainEnsembleCodes(model.ensemble, quantizeParsed(model.manifest.inputs, features), model.manifest.explanation),
    );
    expect(got).toEqual(expected);
    expect(new Set(expected.map((e) => e.decision))).toEqual(new Set([0, 1]));
  });
});
