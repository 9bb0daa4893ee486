/**
 * node-tfhe, the oracle, decrypts what our engine or a service produced: shared by the tests and
 * the benches (tools/bench/) that hold a test client key.
 */
import * as tfhe from 'node-tfhe';
import { serializeCiphertext, type Ciphertext } from '../../fhe/index.ts';
import { base64ToBytes } from '../../protocol/ciphertexts.ts';

/** A serialized shortint ciphertext (raw bytes or base64, as the result API carries it) decrypted. */
export function decryptSerialized(clientKey: tfhe.ShortintClientKey, ciphertext: Uint8Array | string): number {
  const bytes = typeof ciphertext === 'string' ? base64ToBytes(ciphertext) : ciphertext;
  return Number(tfhe.Shortint.decrypt(clientKey, tfhe.Shortint.deserialize_ciphertext(bytes)));
}

/** One of our engine's ciphertexts decrypted, through its tfhe-rs serialization. */
export function decryptCiphertext(clientKey: tfhe.ShortintClientKey, ct: Ciphertext): number {
  return decryptSerialized(clientKey, serializeCiphertext(ct));
}
