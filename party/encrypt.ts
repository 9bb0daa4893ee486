/**
 * What a party backend encrypts: its raw values, validated and quantized per the manifest, each
 * input pushed into one `CompactCiphertextList` under the session's compact public key — a 2-bit
 * unsigned value for a one-digit input, a 4-bit one (two 2-bit blocks, least significant first)
 * for a two-digit input, in manifest order. The result is the `compact-list` body of
 * `PUT /v1/sessions/:sessionId/inputs/:party`.
 *
 * Node only (node-tfhe). Nothing here logs or returns a value or a code.
 */
import * as tfhe from 'node-tfhe';
import { bytesToBase64, type CompactListInputs, type Party } from '../protocol/ciphertexts.ts';
import {
  COMPACT_PUBLIC_KEY_SHAPES,
  compactPublicKeyProblems,
  isCompactPublicKeyError,
  readCompactPublicKeyInfo,
  type CompactPublicKeyInfo,
} from '../protocol/compact-public-key.ts';
import { ModelError } from '../model/errors.ts';
import type { Manifest } from '../model/manifest.ts';
import { quantizePartyFeatures } from '../model/quantize.ts';
import { PartyError } from './errors.ts';

/**
 * Checks that `publicKey` is a `TfheCompactPublicKey` of the manifest's parameter set whose lists
 * expand without a casting key (what the evaluator's engine takes).
 * @throws PartyError `public_key_mismatch`
 */
export function checkPublicKey(manifest: Pick<Manifest, 'parameterSet'>, publicKey: Uint8Array): CompactPublicKeyInfo {
  let info: CompactPublicKeyInfo;
  try {
    info = readCompactPublicKeyInfo(publicKey);
  } catch (e) {
    if (!isCompactPublicKeyError(e)) throw e;
    throw new PartyError('public_key_mismatch', `the session's public key is not a tfhe 1.6.1 compact public key: ${e.message}`);
  }
  const set = manifest.parameterSet;
  const problems = compactPublicKeyProblems(info, COMPACT_PUBLIC_KEY_SHAPES[set.id]);
  if (problems.length > 0) {
    throw new PartyError('public_key_mismatch', `the session's public key is not one of ${set.tfheName}: ${problems.join('; ')}`, {
      details: { parameterSet: set.id },
    });
  }
  return info;
}

export interface EncryptPartyInputsOptions {
  manifest: Pick<Manifest, 'modelVersion' | 'parameterSet' | 'inputs'>;
  party: Party;
  /** The party's raw values, e.g. `{ account_age: 14 }` (checked against the feature schema). */
  features: unknown;
  /** `TfheCompactPublicKey.serialize()` bytes, as `GET …/public-key` returns them. */
  publicKey: Uint8Array;
}

/**
 * Validates, quantizes and encrypts a party's raw values.
 * @throws PartyError `invalid_features`, `public_key_mismatch` or `session_mismatch` (the party owns no input).
 * @example
 * const body = encryptPartyInputs({ manifest, party: 'bank', features: { account_age: 14 }, publicKey });
 * // { encoding: 'compact-list', inputs: [{ name: 'account_age', digits: 2 }], list: '…', … }
 */
export function encryptPartyInputs(options: EncryptPartyInputsOptions): CompactListInputs {
  const { manifest, party } = options;
  const inputs = manifest.inputs.filter((i) => i.party === party);
  if (inputs.length === 0) throw new PartyError('session_mismatch', `the model takes no inputs from ${party}`);
  checkPublicKey(manifest, options.publicKey);
  let codes: Record<string, number>;
  try {
    codes = quantizePartyFeatures(manifest.inputs, party, options.features);
  } catch (e) {
    if (e instanceof ModelError) throw new PartyError('invalid_features', e.message, { details: e.details });
    throw e;
  }
  const publicKey = tfhe.TfheCompactPublicKey.deserialize(options.publicKey);
  const builder = tfhe.CompactCiphertextList.builder(publicKey);
  try {
    for (const input of inputs) {
      const code = codes[input.name]!;
      if (input.digits === 1) builder.push_u2(code);
      else builder.push_u4(code);
    }
    const list = builder.build();
    try {
      return {
        modelVersion: manifest.modelVersion,
        party,
        encoding: 'compact-list',
        inputs: inputs.map((i) => ({ name: i.name, digits: i.digits })),
        list: bytesToBase64(list.serialize()),
      };
    } finally {
      list.free();
    }
  } finally {
    builder.free();
    publicKey.free();
  }
}
