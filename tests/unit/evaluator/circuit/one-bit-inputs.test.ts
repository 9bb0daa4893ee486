/**
 * 1-bit inputs on real ciphertexts: an applicant's client can encrypt 2 or 3 in a boolean field
 * (its digit holds 0..3, and any fresh encryption claims degree 3). The plan clamps such a digit
 * before it joins leaf sums, so the outputs stay single bits equal to the model's answer on the
 * clamped code (`min(v mod 4, 1)`): no extra leaves fire, nothing more of the tree shows.
 * node-tfhe encrypts and decrypts; the engine runs the plan.
 */
import { readFileSync } from 'node:fs';
import * as tfhe from 'node-tfhe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileCircuit,
  createPbsPool,
  decodePartyInputs,
  publicKeyParties,
  runBootstrapCount,
  runCircuit,
  simulateCircuit,
  type PbsPool,
} from '../../../../evaluator/circuit/index.ts';
import { loadServerKey, type Ciphertext, type ServerKey } from '../../../../fhe/index.ts';
import { bytesToBase64, type Party, type PartyInputs } from '../../../../protocol/ciphertexts.ts';
import { explainCodes } from '../../../../model/infer.ts';
import { loadModel, type Model, type TreeNode } from '../../../../model/private-model.ts';
import { toDigits } from '../../../../model/quantize.ts';
import { loadTestKeys, type TestKeys } from '../../../support/tfhe-keys.ts';
import { decryptCiphertext } from '../../../support/decrypt.ts';

const artifact = (name: string) => readFileSync(new URL(`../../../../model/artifacts/${name}`, import.meta.url), 'utf8');
const SLOW = { timeout: 20 * 60_000 };

const demo = await loadModel(artifact('manifest.json'), artifact('tree.json'));
// own_car XOR own_property approves: with an unclamped 3 in own_car no leaf's path sum matches,
// so a plan summing denying leaves answered "approved" where the clamped code (1) is denied.
const xorTree: TreeNode[] = [
  { type: 'split', input: 'own_car', threshold: 0, left: 1, right: 2 },
  { type: 'split', input: 'own_property', threshold: 0, left: 3, right: 4 },
  { type: 'split', input: 'own_property', threshold: 0, left: 5, right: 6 },
  { type: 'leaf', decision: 0, samples: 0 },
  { type: 'leaf', decision: 1, samples: 0 },
  { type: 'leaf', decision: 1, samples: 0 },
  { type: 'leaf', decision: 0, samples: 0 },
];
const model: Model = { manifest: demo.manifest, tree: { ...demo.tree, nodes: xorTree } };

let keys: TestKeys;
let serverKey: ServerKey;
let pool: PbsPool;

beforeAll(() => {
  keys = loadTestKeys('tuniform');
  serverKey = loadServerKey(keys.compressedServerKeyBytes);
  pool = createPbsPool({ size: 2 });
}, SLOW.timeout);

afterAll(async () => {
  await pool.close();
});

/** Every input at code 0 but those given; `raw` overrides a digit with any value 0..3. */
function payloads(codes: Record<string, number>, raw: Record<string, number>): PartyInputs[] {
  const byParty = new Map<Party, Record<string, string[]>>();
  for (const input of model.manifest.inputs) {
    const digits = raw[input.name] !== undefined ? [raw[input.name]!] : toDigits(codes[input.name] ?? 0, input.digits);
    const encrypted = digits.map((d) =>
      bytesToBase64(tfhe.Shortint.serialize_compressed_ciphertext(tfhe.Shortint.encrypt_compressed(keys.clientKey, BigInt(d)))),
    );
    byParty.set(input.party, { ...byParty.get(input.party), [input.name]: encrypted });
  }
  return [...byParty].map(([party, inputs]) => ({
    modelVersion: model.manifest.modelVersion,
    party,
    encoding: 'shortint-compressed',
    inputs,
  }));
}

const decrypt = (ct: Ciphertext) => decryptCiphertext(keys.clientKey, ct);

describe('1-bit inputs', () => {
  it('are clamped by one PBS each in the plan, counted in its statistics', () => {
    for (const leafClass of ['approve', 'deny'] as const) {
      const plan = compileCircuit(model, { leafClass });
      // own_car and own_property: one clamp each, however many nodes read them.
      expect(plan.stats.pbsSanitize).toBe(2);
      const clamps = plan.ops.filter((op) => op.op === 'pbs' && plan.ops[op.a]!.op === 'digit');
      expect(clamps).toHaveLength(2);
      for (const op of clamps) expect(plan.luts[(op as { lut: number }).lut]!.slice(0, 8)).toEqual([0, 1, 1, 1, 0, 1, 1, 1]);
    }
    // The demo tree reads own_car, own_property and the bureau's `employed`: one clamp each, the
    // last of which compact-list uploads reuse.
    const plan = compileCircuit(demo);
    const oneBit = demo.manifest.inputs.filter((i) => i.bits === 1).map((i) => i.name);
    expect(oneBit).toEqual(['own_car', 'own_property', 'employed']);
    expect(plan.stats.pbsSanitize).toBe(3);
    expect(runBootstrapCount(plan, new Set<Party>(['bureau']))).toBe(plan.stats.pbs + 2);
  });

  for (const leafClass of ['deny', 'approve'] as const) {
    it(`an encrypted 3 in a boolean field decides as the clamped code 1 (${leafClass} leaves)`, SLOW, async () => {
      const plan = compileCircuit(model, { leafClass });
      for (const ownProperty of [1, 0]) {
        const inputs = payloads({ own_property: ownProperty }, { own_car: 3 });
        const codes = Object.fromEntries(model.manifest.inputs.map((i) => [i.name, 0]));
        const clamped = { ...codes, own_property: ownProperty, own_car: 1 };
        const want = explainCodes(model.tree, clamped, model.manifest.explanation);
        expect(simulateCircuit(plan, clamped)).toMatchObject({ decision: want.decision, explanation: want.bits });

        const r = await runCircuit({
          plan,
          serverKey,
          inputs: decodePartyInputs(inputs, serverKey),
          publicKeyParties: publicKeyParties(inputs),
          pool,
        });
        expect(r.pbs).toBe(plan.stats.pbs);
        const decision = decrypt(r.decision);
        expect([0, 1]).toContain(decision);
        expect({ decision, bits: r.explanation.map(decrypt) }).toEqual(want);
      }
    });
  }
});
