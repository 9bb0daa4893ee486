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
 * Browser-safe (no Node imports): the widget's crypto worker imports this module directly.
 */
import { EngineError } from '../errors.ts';
import { BincodeReader } from '../serialize/bincode.ts';

const MAX_KEY_BITS = 2 ** 17;

interface KeyLayout {
  /** Offset where the parameters start (after the small LWE key). */
  readonly secretEnd: number;
  readonly bigKeyBits: number;
  readonly polynomialSize: number;
  readonly smallKeyBits: number;
  /** The keys' serialized u64 words (views into the input). */
  readonly big: Uint8Array;
  readonly small: Uint8Array;
}

function readLayout(bytes: Uint8Array, what: string): KeyLayout {
  const r = new BincodeReader(bytes, what);
  const ap = r.tag('atomic pattern', ['Standard', 'KeySwitch32']);
  if (ap !== 0) throw new EngineError('unsupported', `${what}: the KeySwitch32 atomic pattern is not supported`);
  const bigKeyBits = r.vecLength('GLWE secret key', MAX_KEY_BITS);
  const big = r.u64WordsView(bigKeyBits, 'GLWE secret key');
  const polynomialSize = r.u64InRange('polynomial size', 1, 2 ** 16);
  const smallKeyBits = r.vecLength('LWE secret key', MAX_KEY_BITS);
  const small = r.u64WordsView(smallKeyBits, 'LWE secret key');
  if (bigKeyBits % polynomialSize !== 0) {
    throw new EngineError(
      'invalid_length',
      `${what}: a GLWE key of ${bigKeyBits} bits is not a whole number of polynomials of size ${polynomialSize}`,
    );
  }
  // Secret keys are binary: anything else is not a client key of these parameters.
  for (const view of [big, small]) {
    for (let i = 0; i < view.length; i++) {
      if ((i & 7) === 0 ? view[i]! > 1 : view[i] !== 0) {
        throw new EngineError('invalid_value', `${what}: secret key word ${i >> 3} is not a bit`);
      }
    }
  }
  return { secretEnd: r.offset, bigKeyBits, polynomialSize, smallKeyBits, big, small };
}

/**
 * The secret bits of `Shortint.serialize_client_key` bytes, one byte per bit: the GLWE key (k·N)
 * and the small LWE key (n). For audits that decrypt the engine's intermediate values (the
 * engine's operations never need a secret key).
 */
export function readClientKeySecrets(bytes: Uint8Array): { glweKey: Uint8Array; polynomialSize: number; lweKey: Uint8Array } {
  const layout = readLayout(bytes, 'shortint ClientKey');
  const bits = (view: Uint8Array) => Uint8Array.from({ length: view.length / 8 }, (_, i) => view[8 * i]!);
  return { glweKey: bits(layout.big), polynomialSize: layout.polynomialSize, lweKey: bits(layout.small) };
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
  const tpl = readLayout(shortintTemplate, 'shortint ClientKey template');
  if (hl.bigKeyBits !== tpl.bigKeyBits || hl.polynomialSize !== tpl.polynomialSize || hl.smallKeyBits !== tpl.smallKeyBits) {
    throw new EngineError(
      'parameter_mismatch',
      `TfheClientKey: keys of k·N = ${hl.bigKeyBits}, N = ${hl.polynomialSize}, n = ${hl.smallKeyBits}; ` +
        `the template has k·N = ${tpl.bigKeyBits}, N = ${tpl.polynomialSize}, n = ${tpl.smallKeyBits}`,
    );
  }
  const end = shortintTemplate.length;
  if (clientKeyBytes.length < end) {
    throw new EngineError('truncated', `TfheClientKey: ${clientKeyBytes.length} bytes cannot hold a shortint key of ${end}`);
  }
  const params = clientKeyBytes.subarray(hl.secretEnd, end);
  const expected = shortintTemplate.subarray(tpl.secretEnd);
  for (let i = 0; i < expected.length; i++) {
    if (params[i] !== expected[i]) {
      throw new EngineError('parameter_mismatch', `TfheClientKey: its parameters differ from the template's at byte ${hl.secretEnd + i}`);
    }
  }
  return clientKeyBytes.slice(0, end);
}
