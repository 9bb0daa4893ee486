/**
 * One secret for both key families: the shortint client key inside a high-level client key.
 *
 * The widget makes a high-level `TfheClientKey` (for `TfheCompactPublicKey`, which parties
 * encrypt with) from custom shortint parameters. In tfhe 1.6.1 its `serialize()` bytes open with
 * exactly a shortint `ClientKey` of those parameters (bincode):
 *
 *   AtomicPatternClientKey::Standard (u32 0), GLWE secret key { data: Vec<u64> (k·N bits),
 *   polynomial_size }, LWE secret key { data: Vec<u64> (n bits) }, parameters, …
 *
 * followed by the high-level key's own fields. {@link deriveShortintClientKey} cuts that prefix,
 * checking it against a shortint key of the same parameters (`Shortint.serialize_client_key`
 * of any key, e.g. one made from a fixed seed): the key layout and every parameter byte must be
 * identical, only the secret bits come from the high-level key. `Shortint.deserialize_client_key`
 * of the result then decrypts what was encrypted under the compact public key and makes the
 * compressed server key the engine reads.
 *
 * Browser-safe (no Node imports): the widget's crypto worker imports this module directly. The
 * key's layout is read by the one reader of the shortint client key (`fhe/keygen/client-key.ts`).
 */
import { EngineError } from '../errors.ts';
import { readClientKeySecretBits, type ClientKeySecretBits } from '../keygen/client-key.ts';
import { engineReader } from '../serialize/bincode.ts';

/** A client key's secret bits (copies, zeroed by the caller) and where its parameters start. */
interface KeyLayout extends ClientKeySecretBits {
  readonly paramsStart: number;
}

function readLayout(bytes: Uint8Array, what: string): KeyLayout {
  const r = engineReader(bytes, what);
  const secrets = readClientKeySecretBits(r, what);
  if (secrets.glweKey.length % secrets.polynomialSize !== 0) {
    zero(secrets);
    throw new EngineError(
      'invalid_length',
      `${what}: a GLWE key of ${secrets.glweKey.length} bits is not a whole number of polynomials of size ${secrets.polynomialSize}`,
    );
  }
  return { ...secrets, paramsStart: r.pos };
}

function zero(secrets: ClientKeySecretBits): void {
  secrets.glweKey.fill(0);
  secrets.lweKey.fill(0);
}

/**
 * The secret bits of `Shortint.serialize_client_key` bytes, one byte per bit: the GLWE key (k·N)
 * and the small LWE key (n). For audits that decrypt the engine's intermediate values (the
 * engine's operations never need a secret key).
 */
export function readClientKeySecrets(bytes: Uint8Array): ClientKeySecretBits {
  const { glweKey, polynomialSize, lweKey } = readLayout(bytes, 'shortint ClientKey');
  return { glweKey, polynomialSize, lweKey };
}

/**
 * Returns `Shortint.serialize_client_key`-format bytes holding the secret keys of a high-level
 * client key (`TfheClientKey.serialize()`), with the parameters of `shortintTemplate`
 * (`Shortint.serialize_client_key` bytes of any key of the same parameter set).
 * @throws EngineError `parameter_mismatch` when the keys' dimensions or parameter bytes differ,
 *   `truncated` / `invalid_length` / `invalid_value` / `unsupported` for malformed input.
 */
export function deriveShortintClientKey(clientKeyBytes: Uint8Array, shortintTemplate: Uint8Array): Uint8Array {
  const hl = readLayout(clientKeyBytes, 'TfheClientKey');
  // Only the dimensions and offsets matter from here on: the secret copies are not needed.
  zero(hl);
  const tpl = readLayout(shortintTemplate, 'shortint ClientKey template');
  zero(tpl);
  const [hlBig, hlSmall, tplBig, tplSmall] = [hl.glweKey.length, hl.lweKey.length, tpl.glweKey.length, tpl.lweKey.length];
  if (hlBig !== tplBig || hl.polynomialSize !== tpl.polynomialSize || hlSmall !== tplSmall) {
    throw new EngineError(
      'parameter_mismatch',
      `TfheClientKey: keys of k·N = ${hlBig}, N = ${hl.polynomialSize}, n = ${hlSmall}; ` +
        `the template has k·N = ${tplBig}, N = ${tpl.polynomialSize}, n = ${tplSmall}`,
    );
  }
  const end = shortintTemplate.length;
  if (clientKeyBytes.length < end) {
    throw new EngineError('truncated', `TfheClientKey: ${clientKeyBytes.length} bytes cannot hold a shortint key of ${end}`);
  }
  const params = clientKeyBytes.subarray(hl.paramsStart, end);
  const expected = shortintTemplate.subarray(tpl.paramsStart);
  for (let i = 0; i < expected.length; i++) {
    if (params[i] !== expected[i]) {
      throw new EngineError('parameter_mismatch', `TfheClientKey: its parameters differ from the template's at byte ${hl.paramsStart + i}`);
    }
  }
  return clientKeyBytes.slice(0, end);
}
