import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../../../model/errors.ts';
import { parseManifest } from '../../../model/manifest.ts';
import { validatePartyInputs } from '../../../model/party-inputs.ts';

const manifest = parseManifest(readFileSync(new URL('../../../model/artifacts/manifest.json', import.meta.url), 'utf8'));
const ct = 'A'.repeat(164); // base64 of 123 bytes: shape only, never decoded here

function payload(inputs: Record<string, string[]>, party = 'bureau', modelVersion = manifest.modelVersion) {
  return { modelVersion, party, encoding: 'shortint-compressed', inputs };
}

function errorOf(f: () => unknown): ModelError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelError);
    return e as ModelError;
  }
  throw new Error('expected a ModelError');
}

describe('party inputs against the manifest', () => {
  const digits = (name: string) => manifest.inputs.find((i) => i.name === name)!.digits;
  const good = { years_employed: Array(digits('years_employed')).fill(ct), employed: Array(digits('employed')).fill(ct) };

  it('accepts exactly the party’s inputs with their digit counts', () => {
    expect(validatePartyInputs(manifest, payload(good), 'bureau').party).toBe('bureau');
  });

  it('names missing and unknown inputs and wrong digit counts', () => {
    const e = errorOf(() => validatePartyInputs(manifest, payload({ years_employed: [ct], salary: [ct] })));
    expect(e.code).toBe('invalid_inputs');
    expect(e.details).toMatchObject({
      missing: ['employed'],
      unknown: ['salary'],
      digitCounts: [{ input: 'years_employed', expected: 2, got: 1 }],
    });
  });

  it('refuses another model version, another party, and malformed payloads', () => {
    expect(errorOf(() => validatePartyInputs(manifest, payload(good, 'bureau', 'ab'.repeat(32)))).code).toBe('version_mismatch');
    expect(errorOf(() => validatePartyInputs(manifest, payload(good), 'bank')).code).toBe('invalid_inputs');
    expect(errorOf(() => validatePartyInputs(manifest, { ...payload(good), extra: 1 })).code).toBe('invalid_inputs');
    expect(errorOf(() => validatePartyInputs(manifest, null)).code).toBe('invalid_inputs');
  });
});
