/**
 * The served model as the service sees it: its public facts ({@link modelInfo}) and the check of
 * a party's encrypted inputs against its manifest ({@link checkPartyInputs}), before anything
 * is stored. Validation rules come from `model/party-inputs.ts`, shared with the gateway.
 */
import { ApiError } from '../../protocol/errors.ts';
import { base64ToBytes, COMPRESSED_CIPHERTEXT_BYTES } from '../../protocol/ciphertexts.ts';
import type { ModelInfo, Party, PartyInputs } from '../../protocol/evaluator-api.ts';
import { ModelError } from '../../model/errors.ts';
import type { Manifest } from '../../model/manifest.ts';
import { validatePartyInputs } from '../../model/party-inputs.ts';

/** The manifest fields the service uses. */
export type ServedManifest = Pick<Manifest, 'modelVersion' | 'inputs'> & { parameterSet: Pick<Manifest['parameterSet'], 'id'> };

const PARTY_ORDER: readonly Party[] = ['applicant', 'bank', 'bureau'];

export function modelInfo(manifest: ServedManifest): ModelInfo {
  const parties = new Set(manifest.inputs.map((i) => i.party));
  return {
    modelVersion: manifest.modelVersion,
    paramSet: manifest.parameterSet.id,
    parties: PARTY_ORDER.filter((p) => parties.has(p)),
  };
}

/**
 * Checks names, digit counts and every ciphertext's size; `checkCiphertext` (the engine's
 * deserializer) then checks each ciphertext's fields against the parameter set.
 * @throws {ApiError} 409 `model_version_mismatch`, 422 `invalid_inputs` or `invalid_ciphertext`
 */
export function checkPartyInputs(
  manifest: ServedManifest,
  inputs: PartyInputs,
  checkCiphertext?: (bytes: Uint8Array) => void,
): void {
  try {
    validatePartyInputs(manifest, inputs, inputs.party);
  } catch (e) {
    if (!(e instanceof ModelError)) throw e;
    if (e.code === 'version_mismatch') throw new ApiError(409, 'model_version_mismatch', e.message);
    throw new ApiError(422, 'invalid_inputs', e.message, { details: e.details });
  }
  for (const [name, digits] of Object.entries(inputs.inputs)) {
    digits.forEach((b64, digit) => {
      const where = { input: name, digit };
      let bytes: Uint8Array;
      try {
        bytes = base64ToBytes(b64);
      } catch {
        throw new ApiError(422, 'invalid_ciphertext', `${name}[${digit}] is not valid base64`, { details: where });
      }
      if (bytes.length !== COMPRESSED_CIPHERTEXT_BYTES) {
        throw new ApiError(422, 'invalid_ciphertext', `${name}[${digit}] is ${bytes.length} bytes, a compressed ciphertext is ${COMPRESSED_CIPHERTEXT_BYTES}`, {
          details: where,
        });
      }
      try {
        checkCiphertext?.(bytes);
      } catch (e) {
        throw new ApiError(422, 'invalid_ciphertext', `${name}[${digit}] is not a valid ciphertext: ${(e as Error).message}`, {
          details: where,
        });
      }
    });
  }
}
