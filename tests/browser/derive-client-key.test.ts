/// <reference types="mocha" />
/**
 * The widget's cut of the shortint client key out of a `TfheClientKey` against the engine's own
 * reader of the same layout, on node-tfhe's keys (via the oracle) and on corrupted copies: the
 * same bytes, or the same error code.
 */
import { expect } from '@open-wc/testing';
import { deriveShortintClientKey as engineDerive } from '../../fhe/compact/client-key.ts';
import { isEngineError } from '../../fhe/errors.ts';
import { deriveShortintClientKey, KeyLayoutError } from '../../widget/src/crypto/derive-client-key.ts';
import { oracleBytes } from './support/fixtures.ts';
import { patched } from '../support/bytes.ts';

type Outcome = { bytes: Uint8Array } | { code: string };

function outcome(derive: () => Uint8Array): Outcome {
  try {
    return { bytes: derive() };
  } catch (e) {
    if (e instanceof KeyLayoutError || isEngineError(e)) return { code: e.code };
    throw e;
  }
}

describe('deriveShortintClientKey: the widget’s and the engine’s agree', () => {
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
      const ours = outcome(() => deriveShortintClientKey(k, t));
      expect(ours).to.deep.equal(outcome(() => engineDerive(k, t)));
      expect(ours).to.deep.equal(code ? { code } : { bytes: derivedByEngine });
    });
  }
});
