/**
 * The compact public key's parameters, for the engine. The parser is shared by every tier
 * (`protocol/compact-public-key.ts`: the gateway checks uploads with it, party backends the key
 * they encrypt under); here its refusals become {@link EngineError}s with the same codes.
 *
 * Browser-safe (no Node imports), so clients may import this module directly.
 */
import {
  compactPublicKeyProblems,
  isCompactPublicKeyError,
  readCompactPublicKeyInfo as readInfo,
  type CompactPublicKeyInfo,
  type ExpectedCompactPublicKey,
} from '../../protocol/compact-public-key.ts';
import { EngineError } from '../errors.ts';

export type { CompactPublicKeyInfo, ExpectedCompactPublicKey };
export { compactPublicKeyProblems };

/**
 * Parses and checks the whole key (lengths, moduli, enum tags) and returns its parameters.
 * @throws EngineError `truncated`, `trailing_bytes`, `invalid_length`, `invalid_value`, `unsupported`.
 */
export function readCompactPublicKeyInfo(bytes: Uint8Array): CompactPublicKeyInfo {
  try {
    return readInfo(bytes);
  } catch (e) {
    if (isCompactPublicKeyError(e)) throw new EngineError(e.code, e.message);
    throw e;
  }
}
