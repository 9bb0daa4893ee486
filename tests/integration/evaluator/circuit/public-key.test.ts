/**
 * The circuit with inputs encrypted under the applicant's compact public key, as the bank and the
 * bureau send them through the party SDK: the applicant encrypts its own answers with its
 * (derived) shortint key, the parties with the public key of the same secret; the engine expands
 * their lists, bootstraps their digits into range and runs the circuit; node-tfhe decrypts with
 * the applicant's key. Results must equal the cleartext model, including for a forged list.
 */
import { readFileSync } from 'node:fs';
import * as tfhe from 'node-tfhe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileCircuit,
  createPbsPool,
  decodePartyInputs,
  precomputeCircuit,
  publicKeyParties,
  runBootstrapCount,
  runCircuit,
  sanitizingTables,
  simulateCircuit,
  type CircuitPlan,
  type PbsPool,
} from '../../../../evaluator/circuit/index.ts';
import { loadServerKey, type Ciphertext, type ServerKey } from '../../../../fhe/index.ts';
import { bytesToBase64, type CompactListInputs, type Party, type PartyUpload } from '../../../../protocol/ciphertexts.ts';
import type { CreditFeatures } from '../../../../model/features.ts';
import { explainCodes, readExplanation } from '../../../../model/infer.ts';
import { loadModel, type Model } from '../../../../model/private-model.ts';
import { validatePartyUpload } from '../../../../model/party-inputs.ts';
import { encodePartyInputs, quantizeParsed } from '../../../../model/quantize.ts';
import { generateApplications } from '../../../../tools/model/synthetic.ts';
import { encryptPartyInputs } from '../../../../party/index.ts';
import { loadPublicKeyTestKeys, type PublicKeyTestKeys } from '../../../support/tfhe-keys.ts';
import { decryptCiphertext } from '../../../support/decrypt.ts';

const artifact = (name: string) => readFileSync(new URL(`../../../../model/artifacts/${name}`, import.meta.url), 'utf8');
const SLOW = { timeout: 20 * 60_000 };

let model: Model;
let plan: CircuitPlan;
let pool: PbsPool;
let keys: PublicKeyTestKeys;
let serverKey: ServerKey;

function split(features: CreditFeatures): Record<Party, Record<string, unknown>> {
  const { account_age, years_employed, employed, ...applicant } = features;
  return { applicant, bank: { account_age }, bureau: { years_employed, employed } };
}

/** The applicant's upload (its own secret key) and the parties' (the public key), validated. */
function uploads(features: CreditFeatures): PartyUpload[] {
  const raw = split(features);
  const digits = encodePartyInputs(model.manifest.inputs, 'applicant', raw.applicant);
  const applicant = {
    modelVersion: model.manifest.modelVersion,
    party: 'applicant',
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
  const parties = (['bank', 'bureau'] as const).map((party) =>
    encryptPartyInputs({ manifest: model.manifest, party, features: raw[party], publicKey: keys.compactPublicKeyBytes }),
  );
  return [applicant, ...parties].map((p) => validatePartyUpload(model.manifest, p, p.party as Party));
}

function decrypt(ct: Ciphertext): number {
  return decryptCiphertext(keys.clientKey, ct);
}

async function run(payloads: PartyUpload[]) {
  const publicKey = publicKeyParties(payloads);
  const r = await runCircuit({ plan, serverKey, inputs: decodePartyInputs(payloads, serverKey), publicKeyParties: publicKey, pool });
  expect(r.pbs).toBe(runBootstrapCount(plan, publicKey));
  return { decision: decrypt(r.decision), bits: r.explanation.map(decrypt) };
}

beforeAll(async () => {
  model = await loadModel(artifact('manifest.json'), artifact('tree.json'));
  plan = compileCircuit(model);
  pool = createPbsPool({ size: 2 });
  keys = loadPublicKeyTestKeys(model.manifest.parameterSet.id);
  serverKey = loadServerKey(keys.compressedServerKeyBytes);
});

afterAll(async () => {
  await pool.close();
});

describe('circuit with public-key party inputs', () => {
  it('sanitizes exactly the public-key digits: one bootstrap per bank and bureau digit', () => {
    const tables = sanitizingTables(plan.inputs, new Set<Party>(['bank', 'bureau']), plan.limits);
    expect([...tables.keys()].sort()).toEqual(['account_age', 'employed', 'years_employed']);
    // employed is a bit; years_employed's 6 codes put its high digit in 0..1; account_age uses all 16.
    expect(tables.get('employed')![0]!.slice(0, 4)).toEqual([0, 1, 1, 1]);
    expect(tables.get('years_employed')!.map((t) => Math.max(...t))).toEqual([3, 1]);
    expect(tables.get('account_age')!.map((t) => Math.max(...t))).toEqual([3, 3]);
    // employed's clamp is already one of the plan's own bootstraps (stats.pbsSanitize).
    expect(runBootstrapCount(plan, new Set<Party>(['bank', 'bureau']))).toBe(plan.stats.pbs + 4);
    expect(sanitizingTables(plan.inputs, new Set(), plan.limits).size).toBe(0);
  });

  it('equals the reference model for applicants approved, denied with a bin, and denied without', SLOW, async () => {
    const want = { approved: 2, suggest: 2, none: 1 };
    const applicants: CreditFeatures[] = [];
    for (const { features } of generateApplications(2_000, 8_080)) {
      const sim = simulateCircuit(plan, quantizeParsed(model.manifest.inputs, features));
      const kind = readExplanation(sim.decision, sim.explanation, plan.explanationBins).kind;
      if (want[kind] === 0) continue;
      want[kind]--;
      applicants.push(features);
    }
    expect(applicants).toHaveLength(5);
    const results = await Promise.all(applicants.map((f) => run(uploads(f))));
    results.forEach((r, i) => {
      expect(r).toEqual(explainCodes(model.tree, quantizeParsed(model.manifest.inputs, applicants[i]!), model.manifest.explanation));
    });
  });

  it('clamps a forged bureau list into range before use: the result is the model\u2019s on the clamped codes', SLOW, async () => {
    const features = generateApplications(1, 4_242)[0]!.features;
    const [applicant, bank, honest] = uploads(features) as [PartyUpload, PartyUpload, CompactListInputs];
    // A bureau that pushes values no answer produces: years_employed code 13 (digits 1, 3), employed 3.
    const b = tfhe.CompactCiphertextList.builder(keys.compactPublicKey);
    for (const input of honest.inputs) {
      if (input.name === 'years_employed') b.push_u4(13);
      else b.push_u2(3);
    }
    const forged = { ...honest, list: bytesToBase64(b.build().serialize()) };
    const codes = { ...quantizeParsed(model.manifest.inputs, features), years_employed: 5, employed: 1 };
    const sim = simulateCircuit(plan, codes);
    expect(await run([applicant, bank, forged])).toEqual({ decision: sim.decision, bits: sim.explanation });
  });

  it(
    'precomputes the bank\u2019s and bureau\u2019s part ahead: runs that adopt it do only the rest, with the same answers',
    SLOW,
    async () => {
      const applications = generateApplications(2, 9_191).map((a) => a.features);
      const [first, second] = applications.map(uploads) as [PartyUpload[], PartyUpload[]];
      const early = first.filter((p) => p.party !== 'applicant');
      // Every party present: that would be the run itself, not work ahead of it.
      expect(
        precomputeCircuit({
          plan,
          serverKey,
          inputs: decodePartyInputs(first, serverKey),
          publicKeyParties: publicKeyParties(first),
          pool,
        }),
      ).toBeUndefined();
      const pre = precomputeCircuit({
        plan,
        serverKey,
        inputs: decodePartyInputs(early, serverKey),
        publicKeyParties: publicKeyParties(early),
        pool,
      })!;
      expect([...pre.parties].sort()).toEqual(['bank', 'bureau']);
      // The 4 sanitizing bootstraps of the public-key digits and the plan's comparisons on them.
      expect(pre.pbs).toBeGreaterThan(4);
      await pre.done;

      // Two checks with the same bank and bureau uploads and different applicants: both adopt it.
      for (const [i, payloads] of [first, [second[0]!, ...early]].entries()) {
        const codes = quantizeParsed(model.manifest.inputs, {
          ...applications[i]!,
          ...pick(applications[0]!, ['account_age', 'years_employed', 'employed']),
        });
        const publicKey = publicKeyParties(payloads);
        const progress: number[] = [];
        const r = await runCircuit({
          plan,
          serverKey,
          inputs: decodePartyInputs(payloads, serverKey),
          publicKeyParties: publicKey,
          pool,
          precomputed: pre,
          onProgress: (_done, total) => progress.push(total),
        });
        expect(r.pbs).toBe(runBootstrapCount(plan, publicKey) - pre.pbs);
        expect(new Set(progress)).toEqual(new Set([r.pbs]));
        expect({ decision: decrypt(r.decision), bits: r.explanation.map(decrypt) }).toEqual(
          explainCodes(model.tree, codes, model.manifest.explanation),
        );
      }
    },
  );

  it('runs with a precomputation still in flight, and ignores a cancelled one', SLOW, async () => {
    const features = generateApplications(1, 5_353)[0]!.features;
    const payloads = uploads(features);
    const early = payloads.filter((p) => p.party !== 'applicant');
    const start = () =>
      precomputeCircuit({ plan, serverKey, inputs: decodePartyInputs(early, serverKey), publicKeyParties: publicKeyParties(early), pool })!;
    const inputs = decodePartyInputs(payloads, serverKey);
    const publicKey = publicKeyParties(payloads);
    // Adopted at once: the run waits for its bootstraps (now at run priority) and is right.
    const r = await runCircuit({ plan, serverKey, inputs, publicKeyParties: publicKey, pool, precomputed: start() });
    expect({ decision: decrypt(r.decision), bits: r.explanation.map(decrypt) }).toEqual(
      explainCodes(model.tree, quantizeParsed(model.manifest.inputs, features), model.manifest.explanation),
    );
    const cancelled = start();
    cancelled.cancel();
    expect(cancelled.failed).toBe(true);
    await expect(cancelled.done).rejects.toMatchObject({ code: 'aborted' });
    // Of no use any more: the run does every bootstrap itself, with the same answer.
    const again = await runCircuit({ plan, serverKey, inputs, publicKeyParties: publicKey, pool, precomputed: cancelled });
    expect(again.pbs).toBe(runBootstrapCount(plan, publicKey));
    expect({ decision: decrypt(again.decision), bits: again.explanation.map(decrypt) }).toEqual({
      decision: decrypt(r.decision),
      bits: r.explanation.map(decrypt),
    });
  });
});

function pick<T extends object>(o: T, keys: string[]): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => keys.includes(k))) as Partial<T>;
}
