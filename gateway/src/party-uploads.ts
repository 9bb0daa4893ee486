/**
 * Checks a party's upload before it is stored, so a bad one is refused to its sender instead of
 * failing the applicant's session later at the evaluator: names and digit counts against the
 * served manifest (either encoding), and for a `compact-list` upload the list's structure — the
 * model's parameter set (dimension k·N, moduli), unpacked, no casting, exactly the declared
 * values. The list parser is the engine's browser- and workerd-safe module; no ciphertext is
 * decrypted or evaluated here, and compressed ciphertexts stay the evaluator's to check.
 */
import { base64ToBytes, type Party, type PartyUpload } from '../../protocol/ciphertexts.ts';
import { COMPACT_PUBLIC_KEY_SHAPES } from '../../protocol/compact-public-key.ts';
import { ApiError } from '../../protocol/errors.ts';
import { ModelError } from '../../model/errors.ts';
import type { Manifest } from '../../model/manifest.ts';
import { validatePartyUpload } from '../../model/party-inputs.ts';
import { assertUnsignedValues } from '../../evaluator/engine/compact/compact-list.ts';
import { deserializeCompactCiphertextList } from '../../evaluator/engine/compact/serialize.ts';
import { isEngineError } from '../../evaluator/engine/errors.ts';

/**
 * @throws ApiError 409 `model_version_mismatch`, 422 `invalid_inputs` (names, digit counts) or
 *   422 `invalid_ciphertext` (a compact list that is not one of the model's set or of its declarations).
 */
export function checkPartyUpload(manifest: Manifest, upload: PartyUpload, party: Party): void {
  try {
    validatePartyUpload(manifest, upload, party);
  } catch (e) {
    if (!(e instanceof ModelError)) throw e;
    if (e.code === 'version_mismatch') throw new ApiError(409, 'model_version_mismatch', e.message, { details: { modelVersion: manifest.modelVersion } });
    throw new ApiError(422, 'invalid_inputs', e.message, { details: e.details });
  }
  if (upload.encoding !== 'compact-list') return;
  const set = manifest.parameterSet;
  // A list holds what the session's public key encrypts to.
  const shape = COMPACT_PUBLIC_KEY_SHAPES[set.id];
  const refuse = (message: string, details: Record<string, unknown> = {}): never => {
    throw new ApiError(422, 'invalid_ciphertext', `The ${party} compact list ${message}`, { details });
  };
  try {
    const list = deserializeCompactCiphertextList(base64ToBytes(upload.list));
    if (list.lweDimension !== shape.lweDimension || list.messageModulus !== shape.messageModulus || list.carryModulus !== shape.carryModulus) {
      refuse(
        `has dimension ${list.lweDimension} and message/carry modulus ${list.messageModulus}/${list.carryModulus}; ` +
          `${set.tfheName} needs ${shape.lweDimension} and ${shape.messageModulus}/${shape.carryModulus}`,
      );
    }
    assertUnsignedValues(list, upload.inputs.map((i) => i.digits));
  } catch (e) {
    if (!isEngineError(e)) throw e;
    refuse(`is not a valid list of the declared inputs: ${e.message}`, { engineCode: e.code });
  }
}
