import { describe, expect, it } from 'vitest';
import * as tfhe from 'node-tfhe';
import { loadTestKeys } from '../support/tfhe-keys.ts';

describe('test key cache', () => {
  it('holds node-tfhe keys of the documented sizes that round-trip a message', () => {
    const keys = loadTestKeys('tuniform');
    expect(keys.compressedServerKeyBytes.length).toBe(30_146_816);
    expect(keys.clientKeyBytes.length).toBe(23_897);
    const ct = tfhe.Shortint.encrypt(keys.clientKey, 3n);
    expect(tfhe.Shortint.decrypt(keys.clientKey, ct)).toBe(3n);
  });
});
