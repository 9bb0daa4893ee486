/**
 * Checks a party's encrypted-inputs payload against the public manifest, before any ciphertext
 * is decoded: right model version, right party, exactly that party's input names, and the right
 * number of digit ciphertexts for each. The gateway runs it on upload and the evaluator again
 * before a run.
 *
 * Browser-safe.
 */
import { PartyInputs } from '../protocol/ciphertexts.ts';
import { ModelError, formatIssues } from './errors.ts';
import type { Manifest } from './manifest.ts';
import type { Party } from '../protocol/ciphertexts.ts';

/** What the manifest expects from one party: input name → digit count, in manifest order. */
export function expectedInputs(manifest: Pick<Manifest, 'inputs'>, party: Party): Map<string, number> {
  return new Map(manifest.inputs.filter((i) => i.party === party).map((i) => [i.name, i.digits]));
}

/**
 * Validates a payload (parsed JSON or an already-parsed {@link PartyInputs}).
 * @param expectedParty when given, the party the caller is authenticated as
 * @returns the payload, typed
 * @throws ModelError `invalid_inputs` (shape, party, names, digit counts) or `version_mismatch`,
 *   with `details` naming what is wrong (`missing`, `unknown`, `digitCounts`).
 */
export function validatePartyInputs(
  manifest: Pick<Manifest, 'inputs' | 'modelVersion'>,
  payload: unknown,
  expectedParty?: Party,
): PartyInputs {
  const parsed = PartyInputs.safeParse(payload);
  if (!parsed.success) {
    throw new ModelError('invalid_inputs', `party inputs: ${formatIssues(parsed.error.issues)}`, {
      paths: parsed.error.issues.map((i) => i.path.join('.')),
    });
  }
  const p = parsed.data;
  if (p.modelVersion !== manifest.modelVersion) {
    throw new ModelError(
      'version_mismatch',
      `inputs were encoded for model ${p.modelVersion}, the current model is ${manifest.modelVersion}`,
      { expected: manifest.modelVersion, got: p.modelVersion },
    );
  }
  if (expectedParty !== undefined && p.party !== expectedParty) {
    throw new ModelError('invalid_inputs', `payload is for party ${p.party}, expected ${expectedParty}`, {
      expected: expectedParty,
      got: p.party,
    });
  }
  const expected = expectedInputs(manifest, p.party);
  const given = Object.keys(p.inputs);
  const missing = [...expected.keys()].filter((n) => !Object.hasOwn(p.inputs, n));
  const unknown = given.filter((n) => !expected.has(n));
  const digitCounts = given
    .filter((n) => expected.has(n) && p.inputs[n]!.length !== expected.get(n))
    .map((n) => ({ input: n, expected: expected.get(n)!, got: p.inputs[n]!.length }));
  if (missing.length + unknown.length + digitCounts.length > 0) {
    const parts = [
      missing.length > 0 ? `missing ${missing.join(', ')}` : '',
      unknown.length > 0 ? `unknown ${unknown.join(', ')}` : '',
      ...digitCounts.map((d) => `${d.input} needs ${d.expected} digit ciphertext(s), got ${d.got}`),
    ].filter((s) => s !== '');
    throw new ModelError('invalid_inputs', `${p.party} inputs: ${parts.join('; ')}`, {
      party: p.party,
      missing,
      unknown,
      digitCounts,
    });
  }
  return p;
}
