/**
 * Byte formats and hostile input: exact sizes and byte identity with node-tfhe, and every kind
 * of corruption (truncation, trailing bytes, wrong object kind, absurd length prefixes, unknown
 * enum tags, foreign parameters) refused with an EngineError of the right code — never a crash,
 * a hang or a huge allocation.
 */
import * as tfhe from 'node-tfhe';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  deserializeCiphertext,
  deserializeCompressedCiphertext,
  deserializeCompressedServerKey,
  loadServerKey,
  programmableBootstrap,
  createLookupTable,
  serializeCiphertext,
  assertCiphertextMatchesKey,
  type ServerKey,
} from '../../../fhe/index.ts';
import { ServerKeyFrameReader } from '../../../protocol/server-key.ts';
import { loadTestKeys, type TestKeys } from '../../support/tfhe-keys.ts';
import { expectEngineError } from './support.ts';

function withU64(bytes: Uint8Array, offset: number, value: bigint): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setBigUint64(offset, value, true);
  return copy;
}

function withU32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(offset, value, true);
  return copy;
}

describe('ciphertext formats', () => {
  let keys: TestKeys;
  let ct: Uint8Array;
  let cct: Uint8Array;

  beforeAll(() => {
    keys = loadTestKeys('tuniform');
    ct = tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.encrypt(keys.clientKey, 3n));
    cct = tfhe.Shortint.serialize_compressed_ciphertext(tfhe.Shortint.encrypt_compressed(keys.clientKey, 2n));
  });

  it('round-trips node-tfhe ciphertext bytes exactly (16,464 bytes) and node-tfhe re-serializes ours identically', () => {
    const parsed = deserializeCiphertext(ct);
    expect(parsed.data.length).toBe(2 * 2049);
    expect(parsed.degree).toBe(3);
    expect(parsed.noiseLevel).toBe(1);
    const out = serializeCiphertext(parsed);
    expect(out.length).toBe(16_464);
    expect(Buffer.from(out).equals(Buffer.from(ct))).toBe(true);
    const again = tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.deserialize_ciphertext(out));
    expect(Buffer.from(again).equals(Buffer.from(out))).toBe(true);
  });

  it('refuses truncated ciphertexts at every field boundary', () => {
    for (const len of [0, 4, 8, 9, 16_000, 16_400, 16_431, 16_456, 16_463]) {
      expectEngineError(() => deserializeCiphertext(ct.subarray(0, len)), 'truncated');
    }
    for (const len of [0, 8, 20, 60, 100, 123]) {
      expectEngineError(() => deserializeCompressedCiphertext(cct.subarray(0, len)), 'truncated');
    }
  });

  it('refuses trailing bytes', () => {
    expectEngineError(() => deserializeCiphertext(Uint8Array.from([...ct, 0])), 'trailing_bytes');
    expectEngineError(() => deserializeCompressedCiphertext(Uint8Array.from([...cct, 1, 2])), 'trailing_bytes');
  });

  it('refuses absurd length prefixes before allocating anything', () => {
    for (const n of [1n << 62n, (1n << 64n) - 1n, 1n << 32n]) {
      expectEngineError(() => deserializeCiphertext(withU64(ct, 0, n)), 'invalid_length');
    }
    // A compressed ciphertext claiming a huge LWE size is refused before the mask is generated.
    expectEngineError(() => deserializeCompressedCiphertext(withU64(cct, 8, 1n << 40n)), 'invalid_value');
  });

  it('refuses the wrong kind of object', () => {
    expectEngineError(() => deserializeCiphertext(cct), 'invalid_length'); // its random body read as a length
    expectEngineError(() => deserializeCompressedCiphertext(ct), 'invalid_value');
    expectEngineError(() => deserializeCiphertext(keys.clientKeyBytes), 'invalid_length');
    expectEngineError(() => deserializeCompressedServerKey(ct), 'invalid_value');
  });

  it('refuses unknown enum tags, non-native moduli and wrong scalar widths', () => {
    const modulusAt = 8 + 2049 * 8;
    const patternAt = modulusAt + 24 + 32;
    expectEngineError(() => deserializeCiphertext(withU32(ct, patternAt, 7)), 'invalid_value');
    expectEngineError(() => deserializeCiphertext(withU32(ct, patternAt, 1)), 'unsupported'); // KeySwitch32
    expectEngineError(() => deserializeCiphertext(withU32(ct, patternAt + 4, 1)), 'unsupported'); // BootstrapKeyswitch
    expectEngineError(() => deserializeCiphertext(withU32(ct, patternAt + 4, 2)), 'invalid_value');
    expectEngineError(() => deserializeCiphertext(withU64(ct, modulusAt + 16, 32n)), 'invalid_value');
    expectEngineError(() => deserializeCiphertext(withU64(ct, modulusAt, 1n << 62n)), 'unsupported');
    expectEngineError(() => deserializeCompressedCiphertext(withU32(cct, 16, 1)), 'unsupported'); // XOF seed
    expectEngineError(() => deserializeCompressedCiphertext(withU32(cct, 16, 9)), 'invalid_value');
    expectEngineError(() => deserializeCompressedCiphertext(withU64(cct, 52, 16n)), 'invalid_value'); // byte index
  });

  it('refuses ciphertexts of another parameter set (node-tfhe 1_1 and 3_3 keys)', () => {
    const key22 = { ...deserializeCompressedServerKey(keys.compressedServerKeyBytes).params };
    for (const name of [
      tfhe.ShortintParametersName.V1_1_PARAM_MESSAGE_1_CARRY_1_KS_PBS_GAUSSIAN_2M128,
      tfhe.ShortintParametersName.V1_1_PARAM_MESSAGE_3_CARRY_3_KS_PBS_GAUSSIAN_2M128,
    ]) {
      const other = tfhe.Shortint.new_client_key(new tfhe.ShortintParameters(name));
      const bytes = tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.encrypt(other, 1n));
      expect(() => deserializeCiphertext(bytes)).not.toThrow();
      expectEngineError(() => deserializeCiphertext(bytes, key22), 'parameter_mismatch');
      const cbytes = tfhe.Shortint.serialize_compressed_ciphertext(tfhe.Shortint.encrypt_compressed(other, 1n));
      expectEngineError(() => deserializeCompressedCiphertext(cbytes, key22), 'parameter_mismatch');
    }
    // A small-key (PBS-KS order) ciphertext is a supported format but not a supported pattern.
    const pbsKs = tfhe.Shortint.new_client_key(
      new tfhe.ShortintParameters(tfhe.ShortintParametersName.V1_1_PARAM_MESSAGE_2_CARRY_2_PBS_KS_GAUSSIAN_2M128),
    );
    expectEngineError(() => deserializeCiphertext(tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.encrypt(pbsKs, 1n))), 'unsupported');
  });
});

describe('compressed server key format', () => {
  let bytes: Uint8Array;
  let key: ServerKey;
  let keys: TestKeys;

  beforeAll(() => {
    keys = loadTestKeys('tuniform');
    bytes = keys.compressedServerKeyBytes;
    key = loadServerKey(bytes);
  });

  it('reads every parameter from the key', () => {
    expect(key.params).toEqual({
      lweDimension: 918,
      glweDimension: 1,
      polynomialSize: 2048,
      pbsBaseLog: 23,
      pbsLevel: 1,
      ksBaseLog: 4,
      ksLevel: 4,
      messageModulus: 4,
      carryModulus: 4,
      maxDegree: 15,
      maxNoiseLevel: 5,
      modulusSwitch: { kind: 'centered_mean' },
    });
    const gaussian = deserializeCompressedServerKey(loadTestKeys('gaussian').compressedServerKeyBytes).params;
    expect(gaussian.lweDimension).toBe(866);
    expect([gaussian.ksBaseLog, gaussian.ksLevel]).toEqual([3, 5]);
    expect(gaussian.modulusSwitch).toMatchObject({ kind: 'drift', zerosCount: 1446, msBound: 2 ** 58 });
  });

  it('references the bodies in the input at their tfhe 1.6.1 offsets (both sets) and copies them only from an unaligned start', () => {
    const sameBytes = (a: Uint32Array, b: Uint8Array) =>
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    const sets = [
      { input: bytes, offsets: [12, 65_652, null] },
      { input: loadTestKeys('gaussian').compressedServerKeyBytes, offsets: [12, 82_036, 28_459_236] },
    ] as const;
    for (const { input, offsets } of sets) {
      // Upload buffers are SharedArrayBuffers; start 8 bytes in, so offsets are not all zero-based.
      const shared = new Uint8Array(new SharedArrayBuffer(input.length + 8), 8, input.length);
      shared.set(input);
      const unaligned = new Uint8Array(new ArrayBuffer(input.length + 1), 1, input.length);
      unaligned.set(input);
      const viewed = deserializeCompressedServerKey(shared);
      const copied = deserializeCompressedServerKey(unaligned);
      expect(copied.params).toEqual(viewed.params);
      const bodies = (k: typeof viewed) => [k.keyswitchKey.bodies, k.bootstrapKey.bodies, k.modulusSwitchZeros?.bodies ?? null];
      const copiedBodies = bodies(copied);
      bodies(viewed).forEach((body, i) => {
        const offset = offsets[i];
        if (offset === null || offset === undefined) {
          expect(body).toBeNull();
          return;
        }
        expect(body?.buffer).toBe(shared.buffer);
        expect(body?.byteOffset).toBe(8 + offset);
        const serialized = input.subarray(offset, offset + body!.byteLength);
        expect(sameBytes(body!, serialized)).toBe(true);
        const copy = copiedBodies[i]!;
        expect(copy.buffer).not.toBe(unaligned.buffer);
        expect(sameBytes(copy, serialized)).toBe(true);
      });
    }
  });

  it('reads the layout the gateway streams: the frame reader, fed in chunks, gives the offsets and seeds the engine views', () => {
    for (const input of [bytes, loadTestKeys('gaussian').compressedServerKeyBytes]) {
      const reader = new ServerKeyFrameReader({ maxBytes: input.length, declaredBytes: input.length });
      for (let at = 0; at < input.length; at += 65_536) reader.push(input.subarray(at, at + 65_536));
      const layout = reader.finish();
      const parsed = deserializeCompressedServerKey(input);
      const parts = [
        [layout.keyswitchKey, parsed.keyswitchKey],
        [layout.bootstrapKey, parsed.bootstrapKey],
        [layout.modulusSwitchZeros, parsed.modulusSwitchZeros],
      ] as const;
      for (const [streamed, engine] of parts) {
        if (streamed === null || engine === null) {
          expect(streamed).toBe(engine);
          continue;
        }
        expect(engine.bodies.byteOffset - input.byteOffset).toBe(streamed.offset);
        expect(engine.bodies.length).toBe(2 * streamed.words);
        expect(streamed.seed).toEqual({ kind: 'ctr', ...engine.seed });
      }
      expect([layout.maxDegree, layout.maxNoiseLevel]).toEqual([parsed.params.maxDegree, parsed.params.maxNoiseLevel]);
    }
  });

  it('refuses truncated keys, trailing bytes and absurd length prefixes without allocating', () => {
    for (const len of [0, 3, 12, 65_000, 65_652, 1_000_000, bytes.length - 1]) {
      expectEngineError(() => deserializeCompressedServerKey(bytes.subarray(0, len)), 'truncated');
    }
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expectEngineError(() => deserializeCompressedServerKey(longer), 'trailing_bytes');
    expectEngineError(() => deserializeCompressedServerKey(withU64(bytes, 4, 1n << 61n)), 'invalid_length');
    expectEngineError(() => deserializeCompressedServerKey(withU64(bytes, 4, 8191n)), 'invalid_value');
  });

  it('refuses unknown or unsupported variants and inconsistent sizes', () => {
    expectEngineError(() => deserializeCompressedServerKey(withU32(bytes, 0, 1)), 'unsupported'); // KeySwitch32
    expectEngineError(() => deserializeCompressedServerKey(withU32(bytes, 0, 5)), 'invalid_value');
    const bskTag = 12 + 8192 * 8 + 24 + 44 + 24;
    expect(bskTag).toBe(65_640); // the bootstrap-key bodies start 12 bytes later, at 65,652
    expectEngineError(() => deserializeCompressedServerKey(withU32(bytes, bskTag, 1)), 'unsupported'); // multi-bit
    expectEngineError(() => deserializeCompressedServerKey(withU32(bytes, bskTag, 2)), 'invalid_value');
    const msTag = bytes.length - 4 - 32 - 4;
    expectEngineError(() => deserializeCompressedServerKey(withU32(bytes, msTag, 3)), 'invalid_value');
    // ks_base_log × ks_level beyond 64 bits
    expectEngineError(() => deserializeCompressedServerKey(withU64(bytes, 12 + 8192 * 8, 40n)), 'unsupported');
    // a keyswitch level count that does not match the number of bodies
    expectEngineError(() => deserializeCompressedServerKey(withU64(bytes, 12 + 8192 * 8 + 8, 3n)), 'invalid_length');
    // max degree above message·carry − 1
    expectEngineError(() => deserializeCompressedServerKey(withU64(bytes, bytes.length - 16, 16n)), 'invalid_value');
  });

  it('refuses ciphertexts, tables and keys that do not belong together', () => {
    const other = tfhe.Shortint.new_client_key(
      new tfhe.ShortintParameters(tfhe.ShortintParametersName.V1_1_PARAM_MESSAGE_3_CARRY_3_KS_PBS_GAUSSIAN_2M128),
    );
    const foreign = deserializeCiphertext(tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.encrypt(other, 1n)));
    expectEngineError(() => assertCiphertextMatchesKey(foreign, key), 'parameter_mismatch');
    const lut = createLookupTable(key.params, (v) => v);
    expectEngineError(() => programmableBootstrap(key, foreign, lut), 'parameter_mismatch');
    const mine = deserializeCiphertext(tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.encrypt(keys.clientKey, 1n)));
    expectEngineError(() => programmableBootstrap(key, mine, { ...lut, polynomialSize: 1024 }), 'parameter_mismatch');
    expectEngineError(() => programmableBootstrap(key, { ...mine, degree: 16 }, lut), 'degree_overflow');
    expectEngineError(() => programmableBootstrap(key, { ...mine, noiseLevel: 6 }, lut), 'noise_overflow');
    expectEngineError(() => programmableBootstrap({ ...key, format: 'x' } as unknown as ServerKey, mine, lut), 'invalid_argument');
    expectEngineError(() => programmableBootstrap({ ...key, fourierBootstrapKey: new Float64Array(8) }, mine, lut), 'invalid_argument');
  });
});
