/**
 * The compiled circuit on real ciphertexts: node-tfhe 1.6.1 encrypts (compressed, as the widget
 * does), our engine evaluates, node-tfhe decrypts. Every decrypted decision and explanation bit
 * must equal the cleartext reference model.
 */
import { readFileSync } from 'node:fs';
import * as tfhe from 'node-tfhe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CircuitError,
  compileCircuit,
  createPbsPool,
  decodePartyInputs,
  runCircuit,
  simulateCircuit,
  type CircuitInputs,
  type CircuitPlan,
  type PbsPool,
} from '../../../../evaluator/circuit/index.ts';
import { loadServerKey, serializeCiphertext, type Ciphertext, type ServerKey } from '../../../../fhe/index.ts';
import { bytesToBase64, type Party, type PartyInputs } from '../../../../protocol/ciphertexts.ts';
import { explainCodes, readExplanation } from '../../../../model/infer.ts';
import { loadModel, type Model } from '../../../../model/private-model.ts';
import { validatePartyInputs } from '../../../../model/party-inputs.ts';
import { encodePartyInputs, quantizeParsed } from '../../../../model/quantize.ts';
import { generateApplications } from '../../../../tools/model/synthetic.ts';
import type { CreditFeatures } from '../../../../model/features.ts';
import { loadTestKeys, type TestKeys, type TestParamSet } from '../../../support/tfhe-keys.ts';
import { decryptCiphertext } from '../../../support/decrypt.ts';

const artifact = (name: string) => readFileSync(new URL(`../../../../model/artifacts/${name}`, import.meta.url), 'utf8');
const PARTIES: Party[] = ['applicant', 'bank', 'bureau'];
// Bootstraps are CPU-bound and the suite shares two cores with others: generous, explicit limits.
const SLOW = { timeout: 40 * 60_000 };

let model: Model;
let plan: CircuitPlan;
let pool: PbsPool;
const env = new Map<TestParamSet, { keys: TestKeys; serverKey: ServerKey }>();

function setup(paramSet: TestParamSet) {
  let e = env.get(paramSet);
  if (e === undefined) {
    const keys = loadTestKeys(paramSet);
    e = { keys, serverKey: loadServerKey(keys.compressedServerKeyBytes) };
    env.set(paramSet, e);
  }
  return e;
}

/** What each party uploads: digits encrypted with node-tfhe, as a validated `PartyInputs`. */
function encryptApplication(features: CreditFeatures, keys: TestKeys): PartyInputs[] {
  const raw: Record<Party, unknown> = {
    applicant: Object.fromEntries(Object.entries(features).filter(([k]) => !['account_age', 'years_employed', 'employed'].includes(k))),
    bank: { account_age: features.account_age },
    bureau: { years_employed: features.years_employed, employed: features.employed },
  };
  return PARTIES.map((party) => {
    const digits = encodePartyInputs(model.manifest.inputs, party, raw[party]);
    const payload = {
      modelVersion: model.manifest.modelVersion,
      party,
      encoding: 'shortint-compressed',
      inputs: Object.fromEntries(
        Object.entries(digits).map(([name, ds]) => [
          name,
          ds.map((d) =>
            bytesToBase64(tfhe.Shortint.serialize_compressed_ciphertext(tfhe.Shortint.encrypt_compressed(keys.clientKey, BigInt(d)))),
          ),
        ]),
      ),
    };
    return validatePartyInputs(model.manifest, payload, party);
  });
}

function decrypt(ct: Ciphertext, keys: TestKeys): number {
  return decryptCiphertext(keys.clientKey, ct);
}

/** 20 applicants: approved ones, denied ones with a suggested bin (several bins), denied with none. */
function pickApplicants(): CreditFeatures[] {
  const want = { approved: 8, suggest: 8, none: 4 };
  const seenBins = new Map<string, number>();
  const out: CreditFeatures[] = [];
  for (const { features } of generateApplications(4_000, 31337)) {
    const codes = quantizeParsed(model.manifest.inputs, features);
    const sim = simulateCircuit(plan, codes);
    const outcome = readExplanation(sim.decision, sim.explanation, plan.explanationBins);
    if (want[outcome.kind] === 0) continue;
    if (outcome.kind === 'suggest' && (seenBins.get(outcome.label) ?? 0) >= 3) continue;
    if (outcome.kind === 'suggest') seenBins.set(outcome.label, (seenBins.get(outcome.label) ?? 0) + 1);
    want[outcome.kind]--;
    out.push(features);
  }
  expect(out).toHaveLength(20);
  expect(seenBins.size).toBeGreaterThanOrEqual(2);
  return out;
}

beforeAll(async () => {
  model = await loadModel(artifact('manifest.json'), artifact('tree.json'));
  plan = compileCircuit(model);
  pool = createPbsPool({ size: 2 });
});

afterAll(async () => {
  await pool.close();
});

describe('encrypted circuit', () => {
  it('equals the reference model on 20 encrypted applicants (approved, denied with and without a bin)', SLOW, async () => {
    const { keys, serverKey } = setup('tuniform');
    const applicants = pickApplicants();
    // All runs share the pool, as concurrent sessions would.
    const results = await Promise.all(
      applicants.map((features) =>
        runCircuit({
          plan,
          serverKey,
          inputs: decodePartyInputs(encryptApplication(features, keys), serverKey),
          publicKeyParties: new Set(),
          pool,
        }),
      ),
    );
    results.forEach((r, i) => {
      const expected = explainCodes(model.tree, quantizeParsed(model.manifest.inputs, applicants[i]!), model.manifest.explanation);
      expect({ decision: decrypt(r.decision, keys), bits: r.explanation.map((ct) => decrypt(ct, keys)) }).toEqual(expected);
      expect(r.pbs).toBe(plan.stats.pbs);
    });
  });

  it('gives byte-identical results serially and in parallel, with progress reported', SLOW, async () => {
    const { keys, serverKey } = setup('tuniform');
    const features = generateApplications(1, 4)[0]!.features;
    const inputs = decodePartyInputs(encryptApplication(features, keys), serverKey);
    const progress: number[] = [];
    const serial = await runCircuit({
      plan,
      serverKey,
      inputs,
      publicKeyParties: new Set(),
      onProgress: (done, total) => progress.push(done / total),
    });
    const parallel = await runCircuit({ plan, serverKey, inputs, publicKeyParties: new Set(), pool });
    const bytes = (r: { decision: Ciphertext; explanation: Ciphertext[] }) =>
      [r.decision, ...r.explanation].map((ct) => Buffer.from(serializeCiphertext(ct)).toString('base64'));
    expect(bytes(parallel)).toEqual(bytes(serial));
    expect(progress).toHaveLength(plan.stats.pbs);
    expect(progress.at(-1)).toBe(1);
  });

  it('works with the Gaussian parameter set too (parameters come from the key)', SLOW, async () => {
    const { keys, serverKey } = setup('gaussian');
    const features = generateApplications(2, 9)[1]!.features;
    const r = await runCircuit({
      plan,
      serverKey,
      inputs: decodePartyInputs(encryptApplication(features, keys), serverKey),
      publicKeyParties: new Set(),
      pool,
    });
    const expected = explainCodes(model.tree, quantizeParsed(model.manifest.inputs, features), model.manifest.explanation);
    expect({ decision: decrypt(r.decision, keys), bits: r.explanation.map((ct) => decrypt(ct, keys)) }).toEqual(expected);
  });

  it('refuses inputs that do not match the plan, before any bootstrap', SLOW, async () => {
    const { keys, serverKey } = setup('tuniform');
    const inputs = decodePartyInputs(encryptApplication(generateApplications(1, 6)[0]!.features, keys), serverKey);
    const codeOf = async (i: CircuitInputs) => {
      try {
        await runCircuit({ plan, serverKey, inputs: i, publicKeyParties: new Set(), pool });
      } catch (e) {
        expect(e).toBeInstanceOf(CircuitError);
        return (e as CircuitError).code;
      }
      return 'resolved';
    };
    const { bureau, ...noBureau } = inputs;
    expect(await codeOf(noBureau)).toBe('invalid_inputs');
    expect(await codeOf({ ...inputs, bureau: { ...bureau, years_employed: bureau!.years_employed!.slice(0, 1) } })).toBe('invalid_inputs');
    expect(await codeOf({ ...inputs, bank: { ...inputs.bank, salary: inputs.bank!.account_age! } })).toBe('invalid_inputs');
    const forged = { ...bureau!.employed![0]!, noiseLevel: 4 };
    expect(await codeOf({ ...inputs, bureau: { ...bureau, employed: [forged] } })).toBe('invalid_inputs');
  });

  it('stops a cancelled run with `aborted`', SLOW, async () => {
    const { keys, serverKey } = setup('tuniform');
    const inputs = decodePartyInputs(encryptApplication(generateApplications(1, 7)[0]!.features, keys), serverKey);
    const controller = new AbortController();
    const run = runCircuit({
      plan,
      serverKey,
      inputs,
      publicKeyParties: new Set(),
      pool,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await expect(run).rejects.toMatchObject({ code: 'aborted' });
  });
});
