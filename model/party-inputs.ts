/**
 * Checks a party's encrypted-inputs payload against the public manifest, before any ciphertext
 * is decoded: right model version, right party, exactly that party's input names, and the right
 * number of digit ciphertexts (or compact-list blocks) for each. The gateway runs it on upload
 * and the evaluator again before a run.
 *
 * Browser-safe.
 */
import type { z } from 'zod';
import { PartyInputs, PartyUpload } from '../protocol/ciphertexts.ts';
import type { Party } from '../protocol/ciphertexts.ts';
import { ModelError, formatIssues } from './errors.ts';
import type { Manifest } from './manifest.ts';

/** What the manifest expects from one party: input name → digit count, in manifest order. */
export function expectedInputs(manifest: Pick<Manifest, 'inputs'>, party: Party): Map<string, number> {
  return new Map(manifest.inputs.filter((i) => i.party === party).map((i) => [i.name, i.digits]));
}

/**
 * Validates a `shortint-compressed` payload (parsed JSON or an already-parsed {@link PartyInputs}).
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
  return checkAgainstManifest(manifest, parsePayload(PartyInputs, payload), expectedParty);
}

/**
 * Validates a payload of either encoding (what `PUT …/inputs/:party` takes): a
 * `shortint-compressed` one as {@link validatePartyInputs} does, a `compact-list` one by its
 * declared inputs (names and digit counts in list order). The list's bytes are the engine's to
 * check against those declarations.
 * @throws ModelError `invalid_inputs` or `version_mismatch`, with the same `details`.
 */
export function validatePartyUpload(
  manifest: Pick<Manifest, 'inputs' | 'modelVersion'>,
  payload: unknown,
  expectedParty?: Party,
): PartyUpload {
  return checkAgainstManifest(manifest, parsePayload(PartyUpload, payload), expectedParty);
}

function parsePayload<T>(schema: z.ZodType<T>, payload: unknown): T {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    throw new ModelError('invalid_inputs', `party inputs: ${formatIssues(parsed.error.issues)}`, {
      paths: parsed.error.issues.map((i) => i.path.join('.')),
    });
  }
  return parsed.data;
}

/** Input name → digit count a payload declares (ciphertexts per name, or the compact list's entries). */
function declaredDigits(p: PartyUpload): Map<string, number> {
  if (p.encoding === 'compact-list') return new Map(p.inputs.map((i) => [i.name, i.digits]));
  return new Map(Object.entries(p.inputs).map(([name, digits]) => [name, digits.length]));
}

function checkAgainstManifest<T extends PartyUpload>(
  manifest: Pick<Manifest, 'inputs' | 'modelVersion'>,
  p: T,
  expectedParty: Party | undefined,
): T {
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
  const given = declaredDigits(p);
  const missing = [...expected.keys()].filter((n) => !given.has(n));
  const unknown = [...given.keys()].filter((n) => !expected.has(n));
  const digitCounts = [...given]
    .filter(([n, count]) => expected.has(n) && count !== expected.get(n))
    .map(([n, count]) => ({ input: n, expected: expected.get(n)!, got: count }));
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
