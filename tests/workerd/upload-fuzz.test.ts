/**
 * Bad party uploads in workerd: every malformed body is a 4xx with a documented code, never a
 * 5xx. The named cases are those outside testing found (base64 that uses only the alphabet but
 * does not decode, once a 500 `internal`); the seeded fuzz run mutates valid uploads of every
 * kind (compact lists by party keys, compressed ciphertexts by the session token, a demo
 * tenant's token for every party) and sends them with bounded concurrency. A failure names its
 * seed and index; `npm run fuzz` runs the same mutators far longer (tests/fuzz/). Every request
 * crosses wrangler's dev proxy and a Durable Object: a few ms each on an idle 2-core machine,
 * ten times more when it is shared, hence the generous timeout.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Manifest } from '../../model/manifest.ts';
import { ErrorBody } from '../../protocol/errors.ts';
import { PublicErrorCode } from '../../protocol/public-api.ts';
import { loadPublicKeyTestKeys } from '../support/tfhe-keys.ts';
import { createRng, mutateJsonBody } from '../fuzz/mutate.ts';
import { bearer, createSession, expectError, getManifest, partyKey, putJson, type Session } from './support/client.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { encryptCompactInputs, encryptPartyInputs, sampleApplication } from './support/inputs.ts';
import { KEYS, testTenants } from './support/tenants.ts';

const FUZZ_SEED = Number(process.env['FUZZ_SEED'] ?? 0x13);
const FUZZ_INPUTS = Number(process.env['FUZZ_INPUTS'] ?? 20_000);
const CONCURRENCY = 16;

const keys = loadPublicKeyTestKeys('tuniform');
const features = sampleApplication(13);
// Party keys send thousands of requests here: lift the tenants' party request rate.
const unlimited = { rateLimits: { sessionsPerMinute: 120, partyRequestsPerMinute: 10_000_000 } };

let gw: TestGateway;
let manifest: Manifest;
let acme: Session;
let demo: Session;

beforeAll(async () => {
  gw = await startGateway({ tenants: testTenants({ acme: unlimited, demo: unlimited }) });
  manifest = await getManifest(gw);
  acme = await createSession(gw, 'acme');
  demo = await createSession(gw, 'demo');
});
afterAll(async () => {
  await gw?.dispose();
});

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};
const inputsPath = (s: Session, party: string) => `/v1/sessions/${s.sessionId}/inputs/${party}`;

describe('malformed party uploads', () => {
  test.each(['A', 'AAAAA', 'AAAAAA=', 'AB==', '+'])(
    'a compact list %j that uses only base64 characters but does not decode is 400 invalid_request',
    async (list) => {
      const upload = { ...encryptCompactInputs(manifest, 'bank', keys.compactPublicKeyBytes, features), list };
      const body = await expectError(await putJson(gw, inputsPath(acme, 'bank'), partyKey(KEYS.acme.bank), upload), 400, 'invalid_request');
      expect(JSON.stringify(body.details)).toContain('list');
    },
  );

  test('a valid compact list plus one character, or minus its padding, is 400 invalid_request', async () => {
    const good = encryptCompactInputs(manifest, 'bureau', keys.compactPublicKeyBytes, features);
    for (const list of [`${good.list}A`, good.list.replace(/=+$/, ''), `${good.list}=`]) {
      if (list === good.list) continue;
      await expectError(
        await putJson(gw, inputsPath(acme, 'bureau'), partyKey(KEYS.acme.bureau), { ...good, list }),
        400,
        'invalid_request',
      );
    }
    expect((await putJson(gw, inputsPath(acme, 'bureau'), partyKey(KEYS.acme.bureau), good)).status).toBe(201);
  });

  test(`${FUZZ_INPUTS} mutated uploads (seed ${FUZZ_SEED}): no answer is 5xx, every refusal is a documented code`, async () => {
    const seeds = [
      {
        session: acme,
        party: 'applicant',
        headers: bearer(acme.token),
        body: encryptPartyInputs(manifest, 'applicant', keys.clientKey, features),
      },
      {
        session: acme,
        party: 'bank',
        headers: partyKey(KEYS.acme.bank),
        body: encryptCompactInputs(manifest, 'bank', keys.compactPublicKeyBytes, features),
      },
      {
        session: acme,
        party: 'bureau',
        headers: partyKey(KEYS.acme.bureau),
        body: encryptCompactInputs(manifest, 'bureau', keys.compactPublicKeyBytes, features),
      },
      { session: demo, party: 'bank', headers: bearer(demo.token), body: encryptPartyInputs(manifest, 'bank', keys.clientKey, features) },
      {
        session: demo,
        party: 'bureau',
        headers: partyKey(KEYS.demo.bureau),
        body: encryptCompactInputs(manifest, 'bureau', keys.compactPublicKeyBytes, features),
      },
    ];
    // Each mutant is a function of (seed, index) alone: a failure is replayed from those two.
    const mutant = (i: number) => {
      const rng = createRng((FUZZ_SEED * 0x9e3779b1 + i) >>> 0);
      const seed = seeds[rng.int(seeds.length)]!;
      return { path: inputsPath(seed.session, seed.party), headers: seed.headers, body: mutateJsonBody(rng, seed.body as never) };
    };
    const statuses = new Map<number, number>();
    const codes = new Map<string, number>();
    const failures: string[] = [];
    let next = 0;
    async function worker(): Promise<void> {
      while (next < FUZZ_INPUTS) {
        const i = next++;
        const c = mutant(i);
        const res = await gw.fetch(c.path, { method: 'PUT', headers: { ...c.headers, 'content-type': 'application/json' }, body: c.body });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const text = await res.text();
        if (res.status >= 500) failures.push(`#${i} ${res.status} ${text.slice(0, 200)}`);
        else if (res.status >= 400) {
          const parsed = ErrorBody.safeParse(parseJson(text));
          const code = parsed.success ? parsed.data.code : '(not an ErrorBody)';
          codes.set(code, (codes.get(code) ?? 0) + 1);
          if (!parsed.success || PublicErrorCode[code as keyof typeof PublicErrorCode] !== res.status)
            failures.push(`#${i} ${res.status} ${text.slice(0, 200)}`);
        }
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const summary = {
      seed: FUZZ_SEED,
      inputs: FUZZ_INPUTS,
      statuses: Object.fromEntries([...statuses].sort()),
      codes: Object.fromEntries([...codes].sort()),
    };
    console.log(`upload fuzz: ${JSON.stringify(summary)}`);
    expect(failures.slice(0, 10)).toEqual([]);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(FUZZ_INPUTS);
    // The mutants reach past the schema: some are refused by the list parser, some accepted.
    expect(codes.get('invalid_ciphertext') ?? 0).toBeGreaterThan(0);
    expect((statuses.get(201) ?? 0) + (statuses.get(200) ?? 0)).toBeGreaterThan(0);
  }, 1_800_000);
});
