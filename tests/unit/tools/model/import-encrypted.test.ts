/**
 * An imported model on real ciphertexts: the JPMML-SkLearn-shaped fixture imported, compiled,
 * its inputs encrypted with node-tfhe 1.6.1 as the parties do, run by our engine and decrypted
 * with node-tfhe. Decision and explanation bits must equal the cleartext imported model.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileCircuit, simulateCircuit } from '../../../../evaluator/circuit/index.ts';
import { importPmmlModel } from '../../../../tools/model/import-pmml.ts';
import { explainCodes, type Codes } from '../../../../model/infer.ts';
import { quantizeParsed } from '../../../../model/quantize.ts';
import { generateApplications } from '../../../../tools/model/synthetic.ts';
import { SLOW, applicantPerOutcome, encryptedRunner, filePbsPool } from '../../../integration/evaluator/circuit/support/encrypted-run.ts';

const pool = filePbsPool();

describe('imported model, encrypted', () => {
  it('decides and explains on ciphertexts as the cleartext imported model (approved, suggested bin, none)', SLOW, async () => {
    const xml = readFileSync(new URL('./fixtures/credit-tree.pmml', import.meta.url), 'utf8');
    const { model } = await importPmmlModel(xml);
    const plan = compileCircuit(model);
    const run = encryptedRunner(pool());
    const explain = (codes: Codes) => explainCodes(model.tree, codes, model.manifest.explanation);

    // One applicant of each outcome, as the cleartext model sees them.
    const picked = applicantPerOutcome(model.manifest, explain, generateApplications(3_000, 404));
    expect([...picked.keys()].sort()).toEqual(['approved', 'none', 'suggest']);

    for (const features of picked.values()) {
      const codes = quantizeParsed(model.manifest.inputs, features);
      const expected = explain(codes);
      expect({ decision: simulateCircuit(plan, codes).decision }).toEqual({ decision: expected.decision });
      const { decision, bits } = await run(plan, model.manifest, features);
      expect({ decision, bits }).toEqual(expected);
    }
  });
});
