/// <reference types="mocha" />
/**
 * The cut of the shortint client key out of a `TfheClientKey` (`fhe/compact/client-key.ts`, the
 * module the widget's crypto worker loads), in the browser, on node-tfhe's keys (via the oracle)
 * and on corrupted copies: node-tfhe's own cut, or the error code each corruption must give.
 */
import { expect } from '@open-wc/testing';
import { deriveShortintClientKey } from '../../fhe/compact/client-key.ts';
import { isEngineError } from '../../fhe/errors.ts';
import { oracleBytes } from './support/fixtures.ts';
import { patched } from '../support/bytes.ts';

type Outcome = { bytes: Uint8Array } | { code: string };

function outcome(derive: () => Uint8Array): Outcome {
  try {
    return { bytes: derive() };
  } catch (e) {
    if (isEngineError(e)) return { code: e.code };
    throw e;
  }
}

describe('deriveShortintClientKey in the browser', () => {
  let hl: Uint8Array;
  let template: Uint8Array;
  let derivedByEngine: Uint8Array;

  before(async () => {
    [hl, template, derivedByEngine] = await Promise.all([
      oracleBytes('high-level-key'),
      oracleBytes('shortint-template'),
      oracleBytes('client-key'),
    ]);
  });

  it('cuts the same shortint key out of node-tfhe’s high-level key', () => {
    const ours = deriveShortintClientKey(hl, template);
    expect(ours).to.deep.equal(derivedByEngine);
    expect(ours.byteLength).to.equal(template.byteLength);
    expect(ours.buffer).to.not.equal(hl.buffer);
  });

  // k·N = 2048 GLWE words start at 12; N at 12 + 2048·8; the LWE key's length right after.
  const glweEnd = 12 + 2048 * 8;
  const cases: [string, (hl: Uint8Array, template: Uint8Array) => [Uint8Array, Uint8Array], string][] = [
    ['truncated inside the GLWE key', (k, t) => [k.subarray(0, 100), t], 'truncated'],
    ['shorter than the template', (k, t) => [k.subarray(0, t.length - 1), t], 'truncated'],
    ['a secret “bit” of 2', (k, t) => [patched(k, 12, 2n), t], 'invalid_value'],
    ['a secret word with high bits set', (k, t) => [patched(k, 12 + 8 * 7, 1n << 40n), t], 'invalid_value'],
    ['the KeySwitch32 atomic pattern', (k, t) => [patched(k, 0, 1n, 4), t], 'unsupported'],
    ['an absurd GLWE key length', (k, t) => [patched(k, 4, 1n << 40n), t], 'invalid_length'],
    ['a polynomial size that does not divide k·N', (k, t) => [patched(k, glweEnd, 1000n), t], 'invalid_length'],
    ['a polynomial size of 0', (k, t) => [patched(k, glweEnd, 0n), t], 'invalid_value'],
    ['a parameter byte changed', (k, t) => [k, patched(t, t.length - 8, 0xffn, 4)], 'parameter_mismatch'],
    [
      'the template’s own secret differing (ignored)',
      (k, t) => [k, patched(t, 20, 1n - new DataView(t.buffer, t.byteOffset).getBigUint64(20, true))],
      '',
    ],
  ];
  for (const [name, corrupt, code] of cases) {
    it(`${name}: ${code || 'the same key'}`, () => {
      const [k, t] = corrupt(hl, template);
      expect(outcome(() => deriveShortintClientKey(k, t))).to.deep.equal(code ? { code } : { bytes: derivedByEngine });
    });
  }
});
