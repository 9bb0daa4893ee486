/**
 * Checks a party's upload before it is stored, so a bad one is refused to its sender instead of
 * failing the applicant's session later at the evaluator: names and digit counts against the
 * served manifest (either encoding), and for a `compact-list` upload the list's structure — the
 * model's parameter set (dimension k·N, moduli), unpacked, no casting, exactly the declared
 * values. The list check is the protocol's (`protocol/compact-list.ts`), the same the evaluator
 * runs; no ciphertext is decrypted or evaluated here, and compressed ciphertexts stay the
 * evaluator's to check.
 */
import { base64ToBytes, isBase64Error } from '../../protocol/bytes.ts';
import type { Party, PartyUpload } from '../../protocol/ciphertexts.ts';
import { checkCompactListUpload, isCompactListError } from '../../protocol/compact-list.ts';
import { ModelError } from '../../model/errors.ts';
import type { Manifest } from '../../model/manifest.ts';
import { validatePartyUpload } from '../../model/party-inputs.ts';
import { PublicApiError } from '../../protocol/public-api.ts';

/** Who is uploading: the credential's kind and whether the session's tenant is in demo mode. */
export interface UploadSender {
  readonly credential: 'token' | 'party';
  readonly demo: boolean;
}

/**
 * @throws ApiError 409 `model_version_mismatch`, 422 `invalid_inputs` (names, digit counts, or a
 *   party key's `shortint-compressed` upload on a non-demo tenant) or 422 `invalid_ciphertext`
 *   (a compact list that is not one of the model's set or of its declarations).
 */
export function checkPartyUpload(manifest: Manifest, upload: PartyUpload, party: Party, sender: UploadSender): void {
  // Compressed ciphertexts need the applicant's secret key, which a party backend never holds:
  // whatever it encrypted them with, they decrypt to noise and the decision is silently wrong.
  if (sender.credential === 'party' && !sender.demo && upload.encoding !== 'compact-list') {
    throw new PublicApiError(
      422,
      'invalid_inputs',
      `A ${party} key uploads compact-list inputs, encrypted with the session's compact public key; ` +
        `${upload.encoding} ciphertexts need the applicant's secret key, which only the applicant's page holds.`,
      { details: { encoding: upload.encoding, expected: 'compact-list' } },
    );
  }
  try {
    validatePartyUpload(manifest, upload, party);
  } catch (e) {
    if (!(e instanceof ModelError)) throw e;
    if (e.code === 'version_mismatch')
      throw new PublicApiError(409, 'model_version_mismatch', e.message, { details: { modelVersion: manifest.modelVersion } });
    throw new PublicApiError(422, 'invalid_inputs', e.message, { details: e.details });
  }
  if (upload.encoding !== 'compact-list') return;
  const set = manifest.parameterSet;
  try {
    // A list holds what the session's public key encrypts to.
    checkCompactListUpload(
      base64ToBytes(upload.list),
      set.id,
      upload.inputs.map((i) => i.digits),
      set.tfheName,
    );
  } catch (e) {
    // The schema admits only canonical base64, so a decode error is a schema/decoder mismatch: still the sender's bytes.
    if (isBase64Error(e))
      throw new PublicApiError(422, 'invalid_ciphertext', `The ${party} compact list is not base64: ${e.message}`, {
        details: { engineCode: e.code },
      });
    if (!isCompactListError(e)) throw e;
    const what = e.code === 'parameter_mismatch' ? e.message : `is not a valid list of the declared inputs: ${e.message}`;
    throw new PublicApiError(422, 'invalid_ciphertext', `The ${party} compact list ${what}`, { details: { engineCode: e.code } });
  }
}
