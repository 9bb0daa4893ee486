/**
 * Checks the applicant's compact public key before it is stored, so a malformed key, or one of
 * another parameter set, is refused to the browser that sent it instead of failing the bank's and
 * the bureau's encryptions later. The parser is the one every tier uses
 * (`protocol/compact-public-key.ts`); the key is only read for its parameters, never used.
 */
import { checkCompactPublicKey, isCompactPublicKeyError, type CompactPublicKeyInfo } from '../../protocol/compact-public-key.ts';
import type { Manifest } from '../../model/manifest.ts';
import { PublicApiError } from '../../protocol/public-api.ts';

/**
 * @throws ApiError 422 `invalid_public_key`, with the parser's reason in the message and its code
 *   in `details.keyCode` (`parameter_mismatch` for a well-formed key of another set).
 */
export function checkPublicKeyUpload(manifest: Manifest, bytes: Uint8Array): CompactPublicKeyInfo {
  const set = manifest.parameterSet;
  try {
    return checkCompactPublicKey(bytes, set.id, set.tfheName);
  } catch (e) {
    if (!isCompactPublicKeyError(e)) throw e;
    const what = e.code === 'parameter_mismatch' ? 'is' : 'is not a tfhe 1.6.1 compact public key:';
    throw new PublicApiError(422, 'invalid_public_key', `The public key ${what} ${e.message}`, {
      details: { keyCode: e.code, parameterSet: set.id },
    });
  }
}
