import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../../../model/errors.ts';
import { parseManifest } from '../../../model/manifest.ts';
import { validatePartyInputs, validatePartyUpload } from '../../../model/party-inputs.ts';

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

describe('compact-list uploads against the manifest', () => {
  const list = 'A'.repeat(22_000); // base64 shape only: the engine checks the bytes
  const upload = (inputs: { name: string; digits: number }[], party = 'bureau') => ({
    modelVersion: manifest.modelVersion,
    party,
    encoding: 'compact-list',
    inputs,
    list,
  });
  const good = [
    { name: 'employed', digits: 1 },
    { name: 'years_employed', digits: 2 },
  ];

  it('accepts the party’s inputs in any declared list order; both encodings go through validatePartyUpload', () => {
    expect(validatePartyUpload(manifest, upload(good), 'bureau').encoding).toBe('compact-list');
    expect(validatePartyUpload(manifest, upload([...good].reverse()), 'bureau').party).toBe('bureau');
    const shortint = payload({ years_employed: ['A'.repeat(164), 'A'.repeat(164)], employed: ['A'.repeat(164)] });
    expect(validatePartyUpload(manifest, shortint, 'bureau').encoding).toBe('shortint-compressed');
  });

  it('names missing and unknown inputs and wrong digit counts from the declarations', () => {
    const e = errorOf(() =>
      validatePartyUpload(
        manifest,
        upload([
          { name: 'years_employed', digits: 1 },
          { name: 'salary', digits: 1 },
        ]),
      ),
    );
    expect(e.code).toBe('invalid_inputs');
    expect(e.details).toMatchObject({
      missing: ['employed'],
      unknown: ['salary'],
      digitCounts: [{ input: 'years_employed', expected: 2, got: 1 }],
    });
  });

  it('refuses duplicate names, oversized or non-base64 lists, another party, and compact lists where only shortint inputs are taken', () => {
    expect(errorOf(() => validatePartyUpload(manifest, upload([...good, good[0]!]))).code).toBe('invalid_inputs');
    expect(errorOf(() => validatePartyUpload(manifest, { ...upload(good), list: 'A'.repeat(28_000) })).code).toBe('invalid_inputs');
    expect(errorOf(() => validatePartyUpload(manifest, { ...upload(good), list: 'not base64!' })).code).toBe('invalid_inputs');
    expect(errorOf(() => validatePartyUpload(manifest, { ...upload(good), list: '' })).code).toBe('invalid_inputs');
    expect(errorOf(() => validatePartyUpload(manifest, upload(good), 'bank')).code).toBe('invalid_inputs');
    expect(errorOf(() => validatePartyInputs(manifest, upload(good))).code).toBe('invalid_inputs');
  });
});
