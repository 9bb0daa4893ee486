/**
 * A session's traffic as the widget and the party backends send it (uploads, the progress
 * stream), and the check that its result decrypts to the cleartext model's answer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import type { CreditFeatures } from '../../../model/features.ts';
import { explainCodes } from '../../../model/infer.ts';
import type { Manifest } from '../../../model/manifest.ts';
import type { TreeFile } from '../../../model/private-model.ts';
import { quantizeParsed } from '../../../model/quantize.ts';
import { PROGRESS_EVENT, PROGRESS_RESULT_EVENT, PublicHeaders, ResultResponse, SessionProgress } from '../../../protocol/public-api.ts';
import type { PublicKeyTestKeys, TestKeys } from '../../support/tfhe-keys.ts';
import { bearer, partyKey, putJson, putOctets, type Session } from './client.ts';
import type { TestGateway } from './gateway.ts';
import { encryptCompactInputs, encryptPartyInputs } from './inputs.ts';
import { KEYS } from './tenants.ts';
import { decryptSerialized } from '../../support/decrypt.ts';

/**
 * Uploads what the applicant's page sends (server key, compact public key, its own answers under
 * its secret key; session token) and the bank's and bureau's inputs the production way: acme party
 * keys, compact lists encrypted under the session's public key.
 */
export async function uploadSession(
  gw: TestGateway,
  manifest: Manifest,
  keys: PublicKeyTestKeys,
  s: Session,
  features: CreditFeatures,
  options: { serverKey?: boolean } = {},
): Promise<void> {
  if (options.serverKey !== false) {
    expect((await putOctets(gw, `/v1/sessions/${s.sessionId}/server-key`, bearer(s.token), keys.compressedServerKeyBytes)).status).toBe(
      201,
    );
  }
  expect((await putOctets(gw, `/v1/sessions/${s.sessionId}/public-key`, bearer(s.token), keys.compactPublicKeyBytes)).status).toBe(201);
  const applicant = await putJson(
    gw,
    `/v1/sessions/${s.sessionId}/inputs/applicant`,
    bearer(s.token),
    encryptPartyInputs(manifest, 'applicant', keys.clientKey, features),
  );
  expect(applicant.status, await applicant.clone().text()).toBe(201);
  for (const party of ['bank', 'bureau'] as const) {
    const upload = encryptCompactInputs(manifest, party, keys.compactPublicKeyBytes, features);
    const res = await putJson(gw, `/v1/sessions/${s.sessionId}/inputs/${party}`, partyKey(KEYS.acme[party]), upload);
    expect(res.status, await res.clone().text()).toBe(201);
  }
}

/**
 * Reads the session's progress stream until a final state. A stream may drop before it (the
 * API's contract, which the widget honours by reconnecting): read again, as a client would, at
 * most a few times.
 */
export async function readProgress(gw: TestGateway, s: Session): Promise<SessionProgress[] & { results: ResultResponse[] }> {
  const events: SessionProgress[] = [];
  const results: ResultResponse[] = [];
  for (let attempt = 0; attempt < 4; attempt++) {
    await readStream(await gw.fetch(`/v1/sessions/${s.sessionId}/progress`, { headers: bearer(s.token) }), events, results);
    const last = events.at(-1)?.state;
    if (last === 'done' || last === 'failed') break;
  }
  return Object.assign(events, { results });
}

/**
 * `POST …/run` asking for the event stream: the run and its progress in one request. Reads it
 * to its end (following with {@link readProgress} only if it dropped before a final state).
 */
export async function runAndFollow(gw: TestGateway, s: Session): Promise<SessionProgress[] & { results: ResultResponse[] }> {
  const events: SessionProgress[] = [];
  const results: ResultResponse[] = [];
  const res = await gw.fetch(`/v1/sessions/${s.sessionId}/run`, {
    method: 'POST',
    headers: { ...bearer(s.token), accept: 'text/event-stream' },
  });
  await readStream(res, events, results);
  // The run the request started is named before any event.
  expect(res.headers.get(PublicHeaders.runId)).toBe(events[0]?.runId);
  const last = events.at(-1)?.state;
  if (last !== 'done' && last !== 'failed') {
    const more = await readProgress(gw, s);
    events.push(...more);
    results.push(...more.results);
  }
  return Object.assign(events, { results });
}

/** Reads one progress event stream into `events` and `results`, checking each event. */
async function readStream(res: Response, events: SessionProgress[], results: ResultResponse[]): Promise<void> {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const decoder = new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>;
  const reader = res.body!.pipeThrough(decoder).pipeThrough(new EventSourceParserStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (value.event === PROGRESS_RESULT_EVENT) {
      results.push(ResultResponse.parse(JSON.parse(value.data)));
      continue;
    }
    expect(value.event).toBe(PROGRESS_EVENT);
    const progress = SessionProgress.parse(JSON.parse(value.data));
    // A run's end comes with its result: the stream's last result is that run's.
    if (progress.state === 'done') expect(results.at(-1)?.runId).toBe(progress.runId);
    events.push(progress);
  }
}

const tree = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', '..', 'model', 'artifacts', 'tree.json'), 'utf8')) as TreeFile;

/**
 * The session's encrypted result, decrypted, equals the cleartext model's decision and
 * explanation; with `runId`, it must be that run's. Returns the run the result is of.
 */
export async function expectResultMatchesModel(
  gw: TestGateway,
  manifest: Manifest,
  keys: TestKeys,
  s: Session,
  features: CreditFeatures,
  runId?: string,
): Promise<string> {
  const query = runId === undefined ? '' : `?runId=${runId}`;
  const res = await gw.fetch(`/v1/sessions/${s.sessionId}/result${query}`, { headers: bearer(s.token) });
  expect(res.status).toBe(200);
  const result = ResultResponse.parse(await res.json());
  if (runId !== undefined) expect(result.runId).toBe(runId);
  const decrypt = (b64: string) => decryptSerialized(keys.clientKey, b64);
  const expected = explainCodes(tree, quantizeParsed(manifest.inputs, features), manifest.explanation);
  expect(result.explanation.bins).toEqual(manifest.explanation.bins.map((b) => b.label));
  expect({ decision: decrypt(result.decision), bits: result.explanation.ciphertexts.map(decrypt) }).toEqual(expected);
  return result.runId;
}
