/**
 * What a refused, duplicate or replaced upload leaves in R2, in real workerd: every upload has a
 * blob of its own, and only blobs the session names survive. A run is held in `running` by an
 * evaluator that accepts connections and never answers (a real socket on loopback), so inputs
 * arrive after the run began.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Manifest } from '../../model/manifest.ts';
import { loadTestKeys } from '../support/tfhe-keys.ts';
import { bearer, createSession, expectError, getManifest, putJson, putOctets, type Session, sessionStatus } from './support/client.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { encryptPartyInputs, sampleApplication } from './support/inputs.ts';

const { clientKey, compressedServerKeyBytes: serverKey } = loadTestKeys('tuniform');
let gw: TestGateway;
let manifest: Manifest;
let stalled: Server;
const sockets = new Set<Socket>();

beforeAll(async () => {
  // Holds every connection open without a byte of answer.
  stalled = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
  const address = stalled.address();
  if (typeof address !== 'object' || !address) throw new Error('no port');
  gw = await startGateway({ evaluatorUrl: `http://127.0.0.1:${address.port}` });
  manifest = await getManifest(gw);
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  if (stalled?.listening) await new Promise((resolve) => stalled.close(resolve));
  await gw?.dispose();
});

const inputsPath = (s: Session, party: string) => `/v1/sessions/${s.sessionId}/inputs/${party}`;
const status = (s: Session) => sessionStatus(gw, s);

describe('party inputs in R2', () => {
  test('inputs refused because the run began leave no blob behind', async () => {
    const s = await createSession(gw, 'demo');
    expect((await putOctets(gw, `/v1/sessions/${s.sessionId}/server-key`, bearer(s.token), serverKey)).status).toBe(201);
    // Encryption is randomized: keep the bodies to repeat one byte for byte.
    const uploads = Object.fromEntries(
      (['applicant', 'bank', 'bureau'] as const).map((p) => [p, encryptPartyInputs(manifest, p, clientKey)]),
    );
    for (const [party, body] of Object.entries(uploads)) {
      expect((await putJson(gw, inputsPath(s, party), bearer(s.token), body)).status).toBe(201);
    }
    const before = await gw.blobKeys(`sessions/${s.sessionId}/inputs/`);
    expect(before).toHaveLength(3);

    const run = gw.fetch(`/v1/sessions/${s.sessionId}/run`, { method: 'POST', headers: bearer(s.token) });
    run.catch(() => undefined); // awaited below; a failed assertion before must not leave it unhandled
    await expect.poll(async () => (await status(s)).state, { timeout: 30_000, interval: 50 }).toBe('running');
    const changed = encryptPartyInputs(manifest, 'applicant', clientKey, sampleApplication(11));
    await expectError(await putJson(gw, inputsPath(s, 'applicant'), bearer(s.token), changed), 409, 'run_started');
    // A repeat of what the run uses is still a harmless duplicate, and its upload is not kept either.
    const repeat = await putJson(gw, inputsPath(s, 'bank'), bearer(s.token), uploads['bank']);
    expect(repeat.status).toBe(200);
    expect(await gw.blobKeys(`sessions/${s.sessionId}/inputs/`)).toEqual(before);

    // Let the held run fail (the evaluator goes away): it is retriable, nothing was lost.
    stalled.close();
    for (const socket of sockets) socket.destroy();
    const failed = await run;
    expect(failed.status).toBeGreaterThanOrEqual(500);
    await failed.arrayBuffer();
    expect(await gw.blobKeys(`sessions/${s.sessionId}/inputs/`)).toEqual(before);
  });

  test('replacing and re-uploading inputs, even all at once, keeps exactly the blob the session names', async () => {
    const s = await createSession(gw);
    const a = encryptPartyInputs(manifest, 'applicant', clientKey);
    const b = encryptPartyInputs(manifest, 'applicant', clientKey, sampleApplication(11));
    const answers = await Promise.all([a, b, a, b, a, b, a].map((body) => putJson(gw, inputsPath(s, 'applicant'), bearer(s.token), body)));
    const accepted = (await Promise.all(answers.map((r) => r.json()))) as { sha256: string }[];
    expect(answers.every((r) => r.status === 200 || r.status === 201)).toBe(true);
    expect(new Set(accepted.map((x) => x.sha256)).size).toBe(2);
    expect(await gw.blobKeys(`sessions/${s.sessionId}/inputs/applicant/`)).toHaveLength(1);
    // Sequentially, every step leaves one blob, and a fresh name each time something new is kept.
    const names: string[] = [];
    for (const body of [a, b, a, a]) {
      expect([200, 201]).toContain((await putJson(gw, inputsPath(s, 'applicant'), bearer(s.token), body)).status);
      const listed = await gw.blobKeys(`sessions/${s.sessionId}/inputs/applicant/`);
      expect(listed).toHaveLength(1);
      names.push(listed[0]!);
    }
    expect(names[3]).toBe(names[2]);
    expect(new Set(names.slice(0, 3)).size).toBe(3);
    expect((await status(s)).parties.received).toEqual(['applicant']);
  });
});
