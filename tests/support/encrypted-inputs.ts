/**
 * Every party's answers of one application, encrypted digit by digit with node-tfhe under a
 * shortint client key (as the widget encrypts the applicant's) and checked against the model
 * the way the gateway checks an upload: what a circuit test feeds to `decodePartyInputs`.
 */
import * as tfhe from 'node-tfhe';
import { featuresOf, type CreditFeatures } from '../../model/features.ts';
import type { Manifest } from '../../model/manifest.ts';
import { validatePartyInputs } from '../../model/party-inputs.ts';
import { encodePartyInputs } from '../../model/quantize.ts';
import { bytesToBase64, type Party } from '../../protocol/ciphertexts.ts';

const PARTIES: Party[] = ['applicant', 'bank', 'bureau'];

export function encryptApplication(manifest: Manifest, features: CreditFeatures, clientKey: tfhe.ShortintClientKey) {
  return PARTIES.map((party) => {
    const answers = Object.fromEntries(featuresOf(party).map((f) => [f, features[f]]));
    const digits = encodePartyInputs(manifest.inputs, party, answers);
    const inputs = Object.fromEntries(
      Object.entries(digits).map(([name, ds]) => [
        name,
        ds.map((d) => bytesToBase64(tfhe.Shortint.serialize_compressed_ciphertext(tfhe.Shortint.encrypt_compressed(clientKey, BigInt(d))))),
      ]),
    );
    return validatePartyInputs(manifest, { modelVersion: manifest.modelVersion, party, encoding: 'shortint-compressed', inputs }, party);
  });
}
