/**
 * Real encrypted inputs for the served model: a synthetic application's answers, split by
 * party, quantized per the manifest and encrypted digit by digit with node-tfhe (compressed
 * shortint ciphertexts, as the widget and party SDKs upload).
 */
import * as tfhe from 'node-tfhe';
import { bytesToBase64, type Party, type PartyInputs } from '../../../protocol/ciphertexts.ts';
import { PARTY_FEATURES, type CreditFeatures } from '../../../model/features.ts';
import type { Manifest } from '../../../model/manifest.ts';
import { encodePartyInputs } from '../../../model/quantize.ts';
import { generateApplications } from '../../../model/synthetic.ts';

/** A reproducible application. */
export function sampleApplication(seed = 7): CreditFeatures {
  return generateApplications(1, seed)[0]!.features;
}

/** One party's share of an application, encrypted under `clientKey`. */
export function encryptPartyInputs(
  manifest: Manifest,
  party: Party,
  clientKey: tfhe.ShortintClientKey,
  features: CreditFeatures = sampleApplication(),
): PartyInputs {
  const own = Object.fromEntries(Object.keys(PARTY_FEATURES[party].shape).map((k) => [k, features[k as keyof CreditFeatures]]));
  const digits = encodePartyInputs(manifest.inputs, party, own);
  const inputs = Object.fromEntries(
    Object.entries(digits).map(([name, ds]) => [
      name,
      ds.map((d) => bytesToBase64(tfhe.Shortint.serialize_compressed_ciphertext(tfhe.Shortint.encrypt_compressed(clientKey, BigInt(d))))),
    ]),
  );
  return { modelVersion: manifest.modelVersion, party, encoding: 'shortint-compressed', inputs };
}
