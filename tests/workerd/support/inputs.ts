/**
 * Real encrypted inputs for the served model: a synthetic application's answers, split by
 * party and quantized per the manifest, either encrypted digit by digit under the applicant's
 * secret key (compressed shortint ciphertexts, as the widget uploads its own answers) or as a
 * compact list under the session's public key (as a party backend uploads them).
 */
import * as tfhe from 'node-tfhe';
import { encryptPartyInputs as encryptCompactList } from '../../../party/index.ts';
import { bytesToBase64, type CompactListInputs, type Party, type PartyInputs } from '../../../protocol/ciphertexts.ts';
import { PARTY_FEATURES, type CreditFeatures } from '../../../model/features.ts';
import type { Manifest } from '../../../model/manifest.ts';
import { encodePartyInputs } from '../../../model/quantize.ts';
import { generateApplications } from '../../../tools/model/synthetic.ts';

/** A reproducible application. */
export function sampleApplication(seed = 7): CreditFeatures {
  return generateApplications(1, seed)[0]!.features;
}

/** One party's answers out of a whole application. */
export function ownFeatures(party: Party, features: CreditFeatures): Partial<CreditFeatures> {
  return Object.fromEntries(Object.keys(PARTY_FEATURES[party].shape).map((k) => [k, features[k as keyof CreditFeatures]]));
}

/** One party's share of an application, encrypted under `clientKey`. */
export function encryptPartyInputs(
  manifest: Manifest,
  party: Party,
  clientKey: tfhe.ShortintClientKey,
  features: CreditFeatures = sampleApplication(),
): PartyInputs {
  const own = ownFeatures(party, features);
  const digits = encodePartyInputs(manifest.inputs, party, own);
  const inputs = Object.fromEntries(
    Object.entries(digits).map(([name, ds]) => [
      name,
      ds.map((d) => bytesToBase64(tfhe.Shortint.serialize_compressed_ciphertext(tfhe.Shortint.encrypt_compressed(clientKey, BigInt(d))))),
    ]),
  );
  return { modelVersion: manifest.modelVersion, party, encoding: 'shortint-compressed', inputs };
}

/** One party's share of an application as a compact list under the session's compact public key (party SDK). */
export function encryptCompactInputs(
  manifest: Manifest,
  party: Party,
  publicKey: Uint8Array,
  features: CreditFeatures = sampleApplication(),
): CompactListInputs {
  return encryptCompactList({ manifest, party, features: ownFeatures(party, features), publicKey });
}
