/**
 * The streaming frame reader of `protocol/server-key.ts` against real node-tfhe compressed server
 * keys of both supported sets: any chunking reads the same frame as the whole key; every field
 * refused names itself; the expected set and the declared size are checked as soon as the
 * bootstrap key's header has arrived, long before the end.
 */
import { describe, expect, it } from 'vitest';
import { COMPRESSED_SERVER_KEY_BYTES } from '../../../protocol/evaluator-api.ts';
import { ServerKeyFrameReader, readServerKeyFrame, type ServerKeyParamSet } from '../../../protocol/server-key.ts';
import { patched } from '../../support/bytes.ts';
import { loadTestKeys } from '../../support/tfhe-keys.ts';

const MAX = 32 * 1024 * 1024;
/** The bootstrap key's u64 length in a 2_2 TUniform key (its bodies follow 8 bytes later, at 65,652). */
const BSK_LENGTH_AT = 65_644;

function readAll(bytes: Uint8Array, chunk: number, opts: ConstructorParameters<typeof ServerKeyFrameReader>[0]) {
  const reader = new ServerKeyFrameReader(opts);
  for (let at = 0; at < bytes.length; at += chunk) reader.push(bytes.subarray(at, at + chunk));
  return reader.finish();
}

/** A refusal of the frame reader naming `field` (or a field under it). */
const refusedAt = (field: string) =>
  expect.objectContaining({ name: 'ServerKeyFrameError', field: expect.stringMatching(new RegExp(`^${field.replaceAll('.', '\\.')}`)) });

describe.each(['tuniform', 'gaussian'] as ServerKeyParamSet[])('%s key', (set) => {
  const key = loadTestKeys(set).compressedServerKeyBytes;

  it('reads the same frame whole and in chunks of any size, holding none of the data', () => {
    const whole = readServerKeyFrame(key, key.length, MAX);
    expect(whole).toMatchObject({ complete: true, frame: { paramSet: set, totalBytes: COMPRESSED_SERVER_KEY_BYTES[set] } });
    for (const chunk of [1 << 20, 65_521, 4093]) {
      expect(readAll(key, chunk, { maxBytes: MAX, declaredBytes: key.length, expected: set })).toEqual(whole.complete && whole.frame);
    }
  });

  it('a prefix tells the least total size; the header alone is checked against the expected set and size', () => {
    const prefix = readServerKeyFrame(key, 70_000, MAX);
    expect(prefix.complete).toBe(false);
    const reader = new ServerKeyFrameReader({ maxBytes: MAX, declaredBytes: key.length, expected: set });
    reader.push(key.subarray(0, 200_000));
    expect(reader.headerChecked).toBe(true);
    expect(reader.complete).toBe(false);
    const other: ServerKeyParamSet = set === 'tuniform' ? 'gaussian' : 'tuniform';
    expect(() => new ServerKeyFrameReader({ maxBytes: MAX, expected: other }).push(key.subarray(0, 200_000))).toThrow(
      refusedAt('parameter_set$'),
    );
    expect(() =>
      new ServerKeyFrameReader({ maxBytes: MAX, declaredBytes: key.length + 4096, expected: set }).push(key.subarray(0, 200_000)),
    ).toThrow(refusedAt('size$'));
  });

  it('refuses a truncated key and trailing bytes', () => {
    expect(() => readAll(key.subarray(0, key.length - 1), 1 << 20, { maxBytes: MAX })).toThrow(refusedAt('size$'));
    const longer = new Uint8Array(key.length + 1);
    longer.set(key);
    expect(() => readAll(longer, 1 << 20, { maxBytes: MAX })).toThrow(refusedAt('size$'));
  });
});

describe('each corrupt field is refused by name', () => {
  const key = loadTestKeys('tuniform').compressedServerKeyBytes;
  const word = (at: number) => new DataView(key.buffer, key.byteOffset).getBigUint64(at, true);
  const cases: [string, Uint8Array, string][] = [
    ['atomic pattern', patched(key, 0, 1n, 4), 'atomic_pattern'],
    ['keyswitch length, one bit', patched(key, 4, word(4) ^ 1n), 'keyswitch_key'],
    ['keyswitch length, huge', patched(key, 4, 1n << 40n), 'keyswitch_key'],
    ['bootstrap length, one bit', patched(key, BSK_LENGTH_AT, word(BSK_LENGTH_AT) ^ 1n), 'bootstrap_key'],
    ['bootstrap kind', patched(key, BSK_LENGTH_AT - 4, 1n, 4), 'bootstrap_key.kind'],
    ['max degree', patched(key, key.length - 16, 3n), 'max_degree'],
  ];
  it.each(cases)('%s', (_, bad, field) => {
    expect(() => readAll(bad, 1 << 16, { maxBytes: MAX, declaredBytes: key.length, expected: 'tuniform' })).toThrow(refusedAt(field));
  });
});
