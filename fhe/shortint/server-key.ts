/**
 * Checks on an expanded {@link ServerKey} received from a caller (possibly through
 * `postMessage`): the right layout tag and arrays of exactly the sizes its parameters imply,
 * so no algorithm ever indexes past an array.
 */
import { EngineError } from '../errors.ts';
import type { Ciphertext } from '../entities/ciphertext.ts';
import { assertCiphertextConformant } from '../entities/ciphertext.ts';
import type { ServerKey } from '../entities/server-key.ts';
import { SERVER_KEY_FORMAT } from '../entities/server-key.ts';
import { bigLweDimension } from '../params/parameters.ts';

export function assertServerKey(key: ServerKey): void {
  if (!key || key.format !== SERVER_KEY_FORMAT || !key.params) {
    throw new EngineError('invalid_argument', `not an expanded server key of format ${SERVER_KEY_FORMAT}`);
  }
  const p = key.params;
  const n = p.lweDimension;
  const kskWords = bigLweDimension(p) * p.ksLevel * (n + 1);
  const bskDoubles = n * p.pbsLevel * (p.glweDimension + 1) ** 2 * p.polynomialSize;
  const zeros = p.modulusSwitch.kind === 'drift' ? 2 * p.modulusSwitch.zerosCount * (n + 1) : 0;
  const ok =
    typeof key.keyId === 'string' &&
    key.keyswitchKeyLo instanceof Uint32Array &&
    key.keyswitchKeyHi instanceof Uint32Array &&
    key.keyswitchKeyLo.length === kskWords &&
    key.keyswitchKeyHi.length === kskWords &&
    key.fourierBootstrapKey instanceof Float64Array &&
    key.fourierBootstrapKey.length === bskDoubles &&
    (zeros === 0
      ? key.modulusSwitchZeros === null
      : key.modulusSwitchZeros instanceof Uint32Array && key.modulusSwitchZeros.length === zeros);
  if (!ok) throw new EngineError('invalid_argument', 'server key arrays do not have the sizes its parameters imply');
}

export function assertCiphertextMatchesKey(ct: Ciphertext, key: ServerKey): void {
  assertServerKey(key);
  assertCiphertextConformant(ct, key.params);
}

/**
 * Bytes an expanded key keeps resident: its whole shared WebAssembly memory (key arrays plus the
 * per-thread scratch slots) when it has one, else the sum of its arrays.
 */
export function serverKeyByteLength(key: ServerKey): number {
  if (key.memory) return key.memory.buffer.byteLength;
  return (
    key.keyswitchKeyLo.byteLength +
    key.keyswitchKeyHi.byteLength +
    key.fourierBootstrapKey.byteLength +
    (key.modulusSwitchZeros?.byteLength ?? 0)
  );
}
