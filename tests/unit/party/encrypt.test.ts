/**
 * The party SDK's encryption against the engine and node-tfhe: values validated and quantized per
 * the committed manifest, encrypted with the compact public key, parsed and expanded by the
 * engine, decrypted by the applicant's (derived) key to exactly the digits the model expects.
 * Public keys of the wrong kind are refused before anything is encrypted.
 */
import { readFileSync } from 'node:fs';
import * as tfhe from 'node-tfhe';
import { beforeAll, describe, expect, it } from 'vitest';
import { base64ToBytes } from '../../../protocol/ciphertexts.ts';
import { deserializeCompactCiphertextList, expandCompactCiphertextList } from '../../../fhe/index.ts';
import { YEARS_EMPLOYED_BINS } from '../../../model/features.ts';
import { parseManifest, type Manifest } from '../../../model/manifest.ts';
import { validatePartyUpload } from '../../../model/party-inputs.ts';
import { encodePartyInputs } from '../../../model/quantize.ts';
import { checkPublicKey, encryptPartyInputs } from '../../../party/index.ts';
import { generateHighLevelClientKey, loadPublicKeyTestKeys, type PublicKeyTestKeys } from '../../support/tfhe-keys.ts';
import { decryptCiphertext } from '../../support/decrypt.ts';

const manifest = parseManifest(readFileSync(new URL('../../../model/artifacts/manifest.json', import.meta.url), 'utf8'));

/** A `PartyError` with these properties. */
const partyError = (props: { code: string; message?: unknown }) => expect.objectContaining({ name: 'PartyError', ...props });

describe('party SDK encryption', () => {
  let keys: PublicKeyTestKeys;

  beforeAll(() => {
    keys = loadPublicKeyTestKeys(manifest.parameterSet.id);
  });

  /** Decrypts an upload's list block by block: input name → digits. */
  function decryptUpload(body: ReturnType<typeof encryptPartyInputs>): Record<string, number[]> {
    const list = deserializeCompactCiphertextList(base64ToBytes(body.list));
    expect(list.kinds).toEqual(body.inputs.map((i) => ({ kind: 'unsigned', blocks: i.digits })));
    const values = expandCompactCiphertextList(list);
    return Object.fromEntries(body.inputs.map((input, i) => [input.name, values[i]!.map((ct) => decryptCiphertext(keys.clientKey, ct))]));
  }

  it('encrypts every bureau answer and a range of bank values to the manifest\u2019s digits', () => {
    const cases: ['bank' | 'bureau', Record<string, unknown>][] = [
      ...[0, 3, 14, 37, 120, 1_200].map((account_age) => ['bank', { account_age }] as ['bank', Record<string, unknown>]),
      ...YEARS_EMPLOYED_BINS.flatMap((years_employed) =>
        [true, false].map((employed) => ['bureau', { years_employed, employed }] as ['bureau', Record<string, unknown>]),
      ),
    ];
    for (const [party, features] of cases) {
      const body = encryptPartyInputs({ manifest, party, features, publicKey: keys.compactPublicKeyBytes });
      expect(validatePartyUpload(manifest, body, party)).toEqual(body);
      expect(body.inputs.map((i) => i.name)).toEqual(manifest.inputs.filter((i) => i.party === party).map((i) => i.name));
      expect(decryptUpload(body), JSON.stringify(features)).toEqual(encodePartyInputs(manifest.inputs, party, features));
    }
  });

  it('never puts a value in the body outside the ciphertext, and encrypts afresh each time', () => {
    const a = encryptPartyInputs({ manifest, party: 'bank', features: { account_age: 14 }, publicKey: keys.compactPublicKeyBytes });
    const b = encryptPartyInputs({ manifest, party: 'bank', features: { account_age: 14 }, publicKey: keys.compactPublicKeyBytes });
    expect(Object.keys(a).sort()).toEqual(['encoding', 'inputs', 'list', 'modelVersion', 'party']);
    expect(a.list).not.toBe(b.list);
    expect(base64ToBytes(a.list).length).toBeLessThan(17_000);
  });

  it('refuses raw values that fail the feature schema, naming the feature', () => {
    for (const features of [{ account_age: -1 }, { account_age: 'old' }, {}, { account_age: 12, extra: 1 }]) {
      expect(() => encryptPartyInputs({ manifest, party: 'bank', features, publicKey: keys.compactPublicKeyBytes })).toThrow(
        partyError({ code: 'invalid_features', message: expect.not.stringContaining('-1') }),
      );
    }
    expect(() =>
      encryptPartyInputs({
        manifest,
        party: 'bureau',
        features: { years_employed: '30+', employed: true },
        publicKey: keys.compactPublicKeyBytes,
      }),
    ).toThrow(partyError({ code: 'invalid_features' }));
  });

  it('refuses a party the model takes nothing from', () => {
    const noBank: Manifest = { ...manifest, inputs: manifest.inputs.filter((i) => i.party !== 'bank') };
    expect(() =>
      encryptPartyInputs({ manifest: noBank, party: 'bank', features: { account_age: 1 }, publicKey: keys.compactPublicKeyBytes }),
    ).toThrow(partyError({ code: 'session_mismatch' }));
  });

  it('refuses public keys of another set, another noise, casting parameters, or not a key at all', () => {
    const otherSet = manifest.parameterSet.id === 'tuniform' ? 'gaussian' : 'tuniform';
    const wrongNoise = tfhe.TfheCompactPublicKey.new(generateHighLevelClientKey(otherSet)).serialize();
    const oneOne = tfhe.TfheCompactPublicKey.new(
      tfhe.TfheClientKey.generate(
        tfhe.TfheConfigBuilder.with_custom_parameters(
          new tfhe.ShortintParameters(tfhe.ShortintParametersName.V1_1_PARAM_MESSAGE_1_CARRY_1_KS_PBS_GAUSSIAN_2M128),
        ).build(),
      ),
    ).serialize();
    const pke = new tfhe.ShortintCompactPublicKeyEncryptionParameters(
      tfhe.ShortintCompactPublicKeyEncryptionParametersName.PARAM_PKE_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
    );
    const casting = tfhe.TfheCompactPublicKey.new(
      tfhe.TfheClientKey.generate(tfhe.TfheConfigBuilder.default().use_dedicated_compact_public_key_parameters(pke).build()),
    ).serialize();
    const cases: [Uint8Array, RegExp][] = [
      [wrongNoise, /noise/],
      [oneOne, /modulus/],
      [casting, /casting key/],
      [keys.compactPublicKeyBytes.subarray(0, 1000), /not a tfhe 1\.6\.1 compact public key/],
      [new TextEncoder().encode('{"not":"a key"}'), /not a tfhe 1\.6\.1 compact public key/],
    ];
    for (const [publicKey, reason] of cases) {
      expect(() => encryptPartyInputs({ manifest, party: 'bank', features: { account_age: 3 }, publicKey })).toThrow(
        partyError({ code: 'public_key_mismatch', message: expect.stringMatching(reason) }),
      );
    }
    expect(checkPublicKey(manifest, keys.compactPublicKeyBytes).lweDimension).toBe(2048);
  });
});
