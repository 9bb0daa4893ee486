/**
 * Eight sessions started at the same moment through the real stack (the gateway in workerd under
 * wrangler's dev server, the real evaluator process, real keys): each uploads its 30 MB
 * evaluation key and public key at once, the bank and the bureau upload through the party SDK,
 * and each runs and decrypts. Clients retry as the product's do (`protocol/retry.ts`: 429/503,
 * non-JSON 503 from the dev proxy, network errors; "try again" on a retriable failed run), and
 * the applicant must see no failure: every decision equals the cleartext model's.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Manifest } from '../../model/manifest.ts';
import { submitPartyInputs } from '../../party/index.ts';
import { SessionStatus } from '../../protocol/public-api.ts';
import { loadPublicKeyTestKeys } from '../support/tfhe-keys.ts';
import { bearer, createSession, getManifest, type Session } from './support/client.ts';
import { freePort, startEvaluatorProcess, type EvaluatorProcess } from './support/evaluator.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { retryingFetch } from './support/retrying-fetch.ts';
import { encryptPartyInputs, ownFeatures, sampleApplication } from './support/inputs.ts';
import { expectResultMatchesModel, readProgress } from './support/sessions.ts';
import { KEYS } from './support/tenants.ts';

const SESSIONS = 8;
const keys = loadPublicKeyTestKeys('tuniform');

let gw: TestGateway;
let evaluator: EvaluatorProcess;
let manifest: Manifest;

beforeAll(async () => {
  const port = await freePort();
  [evaluator, gw] = await Promise.all([startEvaluatorProcess(port), startGateway({ evaluatorUrl: `http://127.0.0.1:${port}` })]);
  manifest = await getManifest(gw);
});
afterAll(async () => {
  await gw?.dispose();
  await evaluator?.stop();
});

/** What the applicant's client saw go wrong and recovered from, for the report. */
const retried: string[] = [];

const send = retryingFetch(
  (path, init) => gw.fetch(path, init),
  (what) => retried.push(what),
);

const octets = (s: Session, body: Uint8Array) => ({
  method: 'PUT',
  headers: { ...bearer(s.token), 'content-type': 'application/octet-stream' },
  body: body as Uint8Array<ArrayBuffer>,
});

async function oneApplicant(i: number): Promise<void> {
  const features = sampleApplication(100 + i);
  const s = await createSession(gw, 'acme');
  const base = `/v1/sessions/${s.sessionId}`;
  await Promise.all([
    send(`${base}/server-key`, octets(s, keys.compressedServerKeyBytes), [200, 201]),
    send(`${base}/public-key`, octets(s, keys.compactPublicKeyBytes), [200, 201]),
  ]);
  const applicant = JSON.stringify(encryptPartyInputs(manifest, 'applicant', keys.clientKey, features));
  await send(
    `${base}/inputs/applicant`,
    { method: 'PUT', headers: { ...bearer(s.token), 'content-type': 'application/json' }, body: applicant },
    [200, 201],
  );
  await Promise.all(
    (['bank', 'bureau'] as const).map((party) =>
      submitPartyInputs({
        gatewayUrl: gw.url,
        partyKey: KEYS.acme[party],
        sessionId: s.sessionId,
        party,
        features: ownFeatures(party, features),
      }),
    ),
  );
  // "Try again" on a retriable failed run, as the widget offers it; a final failure fails the test.
  for (let attempt = 0; ; attempt++) {
    await send(`${base}/run`, { method: 'POST', headers: bearer(s.token) }, [200, 202]);
    const last = (await readProgress(gw, s)).at(-1);
    if (last?.state === 'done') break;
    const status = SessionStatus.parse(await (await send(base, { headers: bearer(s.token) }, [200])).json());
    expect(status.run.error?.retriable, JSON.stringify(status.run.error)).toBe(true);
    expect(attempt).toBeLessThan(3);
    retried.push(`run: ${status.run.error?.code}`);
  }
  await expectResultMatchesModel(gw, manifest, keys, s, features);
  await send(base, { method: 'DELETE', headers: bearer(s.token) }, [204]);
}

describe('a burst of sessions', () => {
  test(`${SESSIONS} sessions started at once all reach their decision`, async () => {
    const outcomes = await Promise.allSettled(Array.from({ length: SESSIONS }, (_, i) => oneApplicant(i)));
    const failures = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [`session ${i}: ${(o.reason as Error).message}`] : []));
    console.log(`burst: ${SESSIONS} sessions, ${failures.length} failed; retried: ${JSON.stringify(retried)}`);
    expect(failures).toEqual([]);
  }, 900_000);
});
