import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  Base64Error,
  base64ToBytes,
  bytesToBase64,
  bytesToBase64url,
  bytesToHex,
  hexToBytes,
  isCanonicalBase64,
  sha256Hex,
} from '../../../protocol/bytes.ts';
import { CompactListInputs } from '../../../protocol/ciphertexts.ts';

describe('base64', () => {
  it('round-trips every length and agrees with Node', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = new Uint8Array(randomBytes(n));
      const b64 = bytesToBase64(bytes);
      expect(b64).toBe(Buffer.from(bytes).toString('base64'));
      expect(isCanonicalBase64(b64)).toBe(true);
      expect(base64ToBytes(b64)).toEqual(bytes);
    }
    // A result ciphertext's size (what the evaluator encodes after every run).
    const ciphertext = new Uint8Array(randomBytes(16_464));
    expect(bytesToBase64(ciphertext)).toBe(Buffer.from(ciphertext).toString('base64'));
  });

  // The strings outside testing found (a 500 from the gateway before): typed errors now.
  it.each([
    ['A', 1],
    ['AAAAA', 5],
    ['AAAAAA=', 7],
    [`${bytesToBase64(new Uint8Array(30))}A`, 41],
  ])('refuses %j with a typed error at %i', (s, offset) => {
    expect(isCanonicalBase64(s)).toBe(false);
    expect(() => base64ToBytes(s)).toThrow(Base64Error);
    expect(() => base64ToBytes(s)).toThrow(expect.objectContaining({ code: 'invalid_base64', offset }));
  });

  it.each(['AA', 'AAA', 'A===', '====', 'AA=A', 'AB==', 'AAB=', 'AA\u00e9A', 'AA A', 'AA-_'])(
    'refuses %j (unpadded, misplaced padding, pad bits, other alphabets)',
    (s) => {
      expect(() => base64ToBytes(s)).toThrow(Base64Error);
      expect(isCanonicalBase64(s)).toBe(false);
    },
  );

  it('is what the upload schemas admit', () => {
    const body = (list: string) => ({
      modelVersion: '0123456789abcdef',
      party: 'bank',
      encoding: 'compact-list',
      inputs: [{ name: 'x', digits: 1 }],
      list,
    });
    expect(CompactListInputs.safeParse(body('AAAA')).success).toBe(true);
    for (const list of ['A', 'AAAAA', 'AAAAAA=', 'AAAAA=', 'AB==']) expect(CompactListInputs.safeParse(body(list)).success).toBe(false);
  });
});

describe('base64url, hex and SHA-256, against Node', () => {
  it('agree with Buffer and node:crypto on every length', async () => {
    for (let n = 0; n < 70; n++) {
      const bytes = new Uint8Array(randomBytes(n));
      expect(bytesToBase64url(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
      const hex = bytesToHex(bytes);
      expect(hex).toBe(Buffer.from(bytes).toString('hex'));
      expect(bytesToHex(bytes.buffer)).toBe(hex);
      expect(hexToBytes(hex)).toEqual(bytes);
      expect(await sha256Hex(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
    expect(await sha256Hex('é')).toBe(createHash('sha256').update('é', 'utf8').digest('hex'));
  });
});
