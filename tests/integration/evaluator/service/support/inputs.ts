/**
 * Real encrypted inputs: 2-bit digits of each code, least significant first, encrypted with the
 * node-tfhe client key as compressed shortint ciphertexts (what browsers and party SDKs upload).
 */
import * as tfhe from 'node-tfhe';
import { bytesToBase64, type CompactListInputs, type Party, type PartyInputs } from '../../../../../protocol/ciphertexts.ts';
import type { ServedManifest } from '../../../../../evaluator/service/model-inputs.ts';

export function encryptCode(clientKey: tfhe.ShortintClientKey, code: number, digits: number): string[] {
  return Array.from({ length: digits }, (_, i) =>
    bytesToBase64(
      tfhe.Shortint.serialize_compressed_ciphertext(tfhe.Shortint.encrypt_compressed(clientKey, BigInt((code >> (2 * i)) & 3))),
    ),
  );
}

/** A party's payload for the given codes (missing codes encrypt 0). */
export function partyInputs(
  manifest: ServedManifest,
  party: Party,
  clientKey: tfhe.ShortintClientKey,
  codes: Record<string, number> = {},
): PartyInputs {
  const inputs: Record<string, string[]> = {};
  for (const input of manifest.inputs.filter((i) => i.party === party)) {
    inputs[input.name] = encryptCode(clientKey, codes[input.name] ?? 0, input.digits);
  }
  return { modelVersion: manifest.modelVersion, party, encoding: 'shortint-compressed', inputs };
}

/**
 * A party's `compact-list` payload for the given codes (missing codes encrypt 0), encrypted with a
 * compact public key as party backends do: a 2-bit value per one-digit input, a 4-bit value per
 * two-digit input, in manifest order.
 */
export function compactPartyInputs(
  manifest: ServedManifest,
  party: Party,
  publicKey: tfhe.TfheCompactPublicKey,
  codes: Record<string, number> = {},
): CompactListInputs {
  const inputs = manifest.inputs.filter((i) => i.party === party);
  const builder = tfhe.CompactCiphertextList.builder(publicKey);
  for (const input of inputs) {
    if (input.digits === 1) builder.push_u2(codes[input.name] ?? 0);
    else builder.push_u4(codes[input.name] ?? 0);
  }
  return {
    modelVersion: manifest.modelVersion,
    party,
    encoding: 'compact-list',
    inputs: inputs.map((i) => ({ name: i.name, digits: i.digits })),
    list: bytesToBase64(builder.build().serialize()),
  };
}
