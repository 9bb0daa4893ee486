/**
 * Resumable server-key uploads (R2 multipart through the gateway in real workerd) and the key's
 * frame check before storage, with a real node-tfhe key: a connection cut mid-part resumes
 * re-sending only that part; every bad step (order, sizes, duplicates, another session's
 * upload, too many parts, a wrong final hash, a corrupt header) is a 4xx with its code and
 * loses nothing already stored; a refused key leaves the session ready for a correct one.
 */
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SERVER_KEY_UPLOAD, ServerKeyUpload, SessionStatus, UploadedPart } from '../../protocol/public-api.ts';
import { patched } from '../support/bytes.ts';
import { loadPublicKeyTestKeys } from '../support/tfhe-keys.ts';
import { bearer, createSession, expectError, putOctets, type Session, sessionStatus } from './support/client.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';

const keys = loadPublicKeyTestKeys('tuniform');
const key = keys.compressedServerKeyBytes;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const { partSize } = SERVER_KEY_UPLOAD;
const partCount = Math.ceil(key.length / partSize);
const partOf = (bytes: Uint8Array, n: number) => bytes.subarray((n - 1) * partSize, Math.min(bytes.length, n * partSize));
/** Uploads of ~30 MB in parts: as long as the machine needs (it is shared), within reason. */
const UPLOAD_TIMEOUT_MS = 600_000;
/** The offset of the bootstrap key's u64 length in a 2_2 TUniform key (its bodies start 8 bytes later, at 65,652). */
const BSK_LENGTH_AT = 65_644;

let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => {
  await gw?.dispose();
});

const base = (s: Session) => `/v1/sessions/${s.sessionId}/server-key/uploads`;

async function start(s: Session, size = key.length, hash = sha256(key)): Promise<Response> {
  return gw.fetch(base(s), {
    method: 'POST',
    headers: { ...bearer(s.token), 'content-type': 'application/json' },
    body: JSON.stringify({ size, sha256: hash }),
  });
}

function putPart(s: Session, uploadId: string, n: number, bytes: Uint8Array): Promise<Response> {
  return putOctets(gw, `${base(s)}/${uploadId}/parts/${n}`, bearer(s.token), bytes);
}

/** Sends a part, waiting out a lease still held by a request that was cut (409 `part_in_progress`, retriable). */
async function sendPart(s: Session, uploadId: string, n: number, bytes: Uint8Array): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const res = await putPart(s, uploadId, n, bytes);
    if (res.status !== 409 || attempt > 50) return res;
    const body = (await res.clone().json()) as { code: string };
    if (body.code !== 'part_in_progress') return res;
    await new Promise((r) => setTimeout(r, 100 * Math.min(attempt + 1, 10)));
  }
}

function complete(s: Session, uploadId: string): Promise<Response> {
  return gw.fetch(`${base(s)}/${uploadId}/complete`, { method: 'POST', headers: bearer(s.token) });
}

async function status(s: Session): Promise<SessionStatus> {
  return await sessionStatus(gw, s);
}

async function uploadOf(s: Session, uploadId: string): Promise<ServerKeyUpload> {
  const res = await gw.fetch(`${base(s)}/${uploadId}`, { headers: bearer(s.token) });
  expect(res.status).toBe(200);
  return ServerKeyUpload.parse(await res.json());
}

/**
 * Sends the first `cutAfter` bytes of a part, then drops the connection (as a phone losing its
 * network mid-part). Resolves once the socket is gone.
 */
function cutPart(s: Session, uploadId: string, n: number, bytes: Uint8Array, cutAfter: number): Promise<void> {
  return new Promise((resolve) => {
    const req = request(new URL(`${base(s)}/${uploadId}/parts/${n}`, gw.url), {
      method: 'PUT',
      headers: { ...bearer(s.token), 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
    });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.write(bytes.subarray(0, cutAfter), () => setTimeout(() => req.destroy(), 50));
  });
}

describe('resumable server-key upload', () => {
  test(
    'a connection cut mid-part: resuming lists the stored parts and re-sends only the cut one',
    async () => {
      expect(partCount).toBeGreaterThan(3);
      const s = await createSession(gw);
      const started = await start(s);
      expect(started.status).toBe(201);
      const upload = ServerKeyUpload.parse(await started.json());
      expect(upload).toMatchObject({ size: key.length, sha256: sha256(key), partSize, partCount, parts: [] });
      const sent: number[] = [];
      for (const n of [1, 2]) {
        const res = await sendPart(s, upload.uploadId, n, partOf(key, n));
        expect(res.status, await res.clone().text()).toBe(200);
        expect(UploadedPart.parse(await res.json())).toEqual({ partNumber: n, size: partSize });
        sent.push(n);
      }
      await cutPart(s, upload.uploadId, 3, partOf(key, 3), 1024 * 1024);
      sent.push(3);

      // The page reloads: it announces the same key again and learns what is stored.
      const resumed = await start(s);
      expect(resumed.status).toBe(200);
      const state = ServerKeyUpload.parse(await resumed.json());
      expect(state.uploadId).toBe(upload.uploadId);
      expect(state.parts).toEqual([1, 2].map((partNumber) => ({ partNumber, size: partSize })));
      for (let n = state.parts.length + 1; n <= partCount; n++) {
        const res = await sendPart(s, upload.uploadId, n, partOf(key, n));
        expect(res.status, await res.clone().text()).toBe(200);
        sent.push(n);
      }
      // Each part went once, but the one cut mid-way, which went twice.
      expect(sent).toEqual([1, 2, 3, ...Array.from({ length: partCount - 2 }, (_, i) => i + 3)]);
      const done = await complete(s, upload.uploadId);
      expect(done.status, await done.clone().text()).toBe(200);
      const accepted = SessionStatus.parse(await done.json());
      expect(accepted.serverKey).toMatchObject({ received: true, bytes: key.length, sha256: sha256(key) });
      // Only the assembled key is stored; the upload is finished.
      expect(await gw.blobKeys(`sessions/${s.sessionId}/`)).toHaveLength(1);
      await expectError(await gw.fetch(`${base(s)}/${upload.uploadId}`, { headers: bearer(s.token) }), 404, 'upload_not_found');
      // The same key announced again is done already.
      const again = await expectError(await start(s), 409, 'server_key_exists');
      expect(again.details).toEqual({ sha256: sha256(key) });
    },
    UPLOAD_TIMEOUT_MS,
  );

  test(
    'bad steps are refused with their code, and nothing already stored is lost',
    async () => {
      const s = await createSession(gw);
      const other = await createSession(gw);
      await expectError(await start(s, 32 * 1024 * 1024 + 1), 413, 'body_too_large');
      const badBody = await gw.fetch(base(s), {
        method: 'POST',
        headers: { ...bearer(s.token), 'content-type': 'application/json' },
        body: '{"size":-1}',
      });
      await expectError(badBody, 400, 'invalid_request');
      const { uploadId } = ServerKeyUpload.parse(await (await start(s)).json());

      const outOfOrder = await expectError(await putPart(s, uploadId, 2, partOf(key, 2)), 409, 'part_out_of_order');
      expect(outOfOrder.details).toMatchObject({ nextPart: 1 });
      await expectError(await putPart(s, uploadId, 0, partOf(key, 1)), 400, 'invalid_part_number');
      // More parts than the announced size (or the cap) allows.
      const beyond = await expectError(await putPart(s, uploadId, partCount + 1, partOf(key, partCount)), 400, 'invalid_part_number');
      expect(beyond.details).toEqual({ partCount });
      await expectError(await putPart(s, uploadId, 1, key.subarray(0, partSize - 1)), 400, 'invalid_part_size');
      await expectError(await putPart(s, uploadId, 1, key.subarray(0, partSize + 1)), 400, 'invalid_part_size');
      // Another session's upload id, with that session's own token: not found there.
      await expectError(await putPart(other, uploadId, 1, partOf(key, 1)), 404, 'upload_not_found');
      await expectError(await putPart(s, 'AAAAAAAAAAAAAAAAAAAAAA', 1, partOf(key, 1)), 404, 'upload_not_found');
      // Another session's token on this session's path (refused before the body is read: a small one).
      await expectError(
        await putPart({ sessionId: s.sessionId, token: other.token }, uploadId, 1, key.subarray(0, 1024)),
        401,
        'invalid_token',
      );

      expect((await putPart(s, uploadId, 1, partOf(key, 1))).status).toBe(200);
      const duplicate = await expectError(await putPart(s, uploadId, 1, partOf(key, 1)), 409, 'part_exists');
      expect(duplicate.details).toEqual({ partNumber: 1, size: partSize });
      const early = await expectError(await complete(s, uploadId), 409, 'upload_incomplete');
      expect(early.details).toEqual({ missingParts: Array.from({ length: partCount - 1 }, (_, i) => i + 2) });
      // Every refusal left part 1 in place.
      expect((await uploadOf(s, uploadId)).parts).toEqual([{ partNumber: 1, size: partSize }]);
      for (let n = 2; n <= partCount; n++) expect((await putPart(s, uploadId, n, partOf(key, n))).status).toBe(200);
      expect((await complete(s, uploadId)).status).toBe(200);
      expect((await status(s)).serverKey).toMatchObject({ received: true, sha256: sha256(key) });
    },
    UPLOAD_TIMEOUT_MS,
  );

  test(
    'a wrong final hash discards the upload; a new upload of the right key is accepted',
    async () => {
      const s = await createSession(gw);
      const wrong = sha256(patched(key, key.length - 8, 12_345n));
      const { uploadId } = ServerKeyUpload.parse(await (await start(s, key.length, wrong)).json());
      for (let n = 1; n <= partCount; n++) expect((await putPart(s, uploadId, n, partOf(key, n))).status).toBe(200);
      const mismatch = await expectError(await complete(s, uploadId), 422, 'server_key_hash_mismatch');
      expect(mismatch.details).toMatchObject({ expected: wrong, received: sha256(key) });
      expect((await status(s)).serverKey.received).toBe(false);
      expect(await gw.blobKeys(`sessions/${s.sessionId}/`)).toEqual([]);
      await expectError(await putPart(s, uploadId, 1, partOf(key, 1)), 404, 'upload_not_found');

      const fresh = ServerKeyUpload.parse(await (await start(s)).json());
      expect(fresh.uploadId).not.toBe(uploadId);
      for (let n = 1; n <= partCount; n++) expect((await putPart(s, fresh.uploadId, n, partOf(key, n))).status).toBe(200);
      expect((await complete(s, fresh.uploadId)).status).toBe(200);
      expect((await status(s)).serverKey).toMatchObject({ received: true, sha256: sha256(key) });
    },
    UPLOAD_TIMEOUT_MS,
  );

  test('deleting the session aborts an unfinished upload', async () => {
    const s = await createSession(gw);
    const { uploadId } = ServerKeyUpload.parse(await (await start(s)).json());
    expect((await putPart(s, uploadId, 1, partOf(key, 1))).status).toBe(200);
    expect((await gw.fetch(`/v1/sessions/${s.sessionId}`, { method: 'DELETE', headers: bearer(s.token) })).status).toBe(204);
    await expectError(await putPart(s, uploadId, 2, partOf(key, 2)), 410, 'session_deleted');
    expect(await gw.blobKeys(`sessions/${s.sessionId}/`)).toEqual([]);
  });
});

describe('the server key is checked before it is stored', () => {
  const corrupt: [string, Uint8Array, string][] = [
    // A length field with one bit flipped (byte 4: the keyswitch key's length).
    ['keyswitch key length', patched(key, 4, BigInt(new DataView(key.buffer, key.byteOffset).getUint32(4, true) ^ 1), 4), 'keyswitch_key'],
    [
      'bootstrap key length',
      patched(key, BSK_LENGTH_AT, new DataView(key.buffer, key.byteOffset).getBigUint64(BSK_LENGTH_AT, true) ^ 1n),
      'bootstrap_key',
    ],
    ['atomic pattern', patched(key, 0, 1n, 4), 'atomic_pattern'],
  ];

  test.each(corrupt)(
    'multipart: part 1 with a bad %s is refused naming the field; the correct part 1 is then accepted',
    async (_, bad, field) => {
      const s = await createSession(gw);
      const { uploadId } = ServerKeyUpload.parse(await (await start(s)).json());
      const refused = await expectError(await putPart(s, uploadId, 1, partOf(bad, 1)), 422, 'invalid_server_key');
      expect(String(refused.details?.['field'])).toMatch(new RegExp(`^${field}`));
      expect((await uploadOf(s, uploadId)).parts).toEqual([]);
      expect((await sendPart(s, uploadId, 1, partOf(key, 1))).status).toBe(200);
    },
  );

  test.each(corrupt)(
    'single request: a key with a bad %s is refused naming the field, nothing stored; a correct key is accepted',
    async (_, bad, field) => {
      const s = await createSession(gw);
      const refused = await expectError(
        await putOctets(gw, `/v1/sessions/${s.sessionId}/server-key`, bearer(s.token), bad),
        422,
        'invalid_server_key',
      );
      expect(String(refused.details?.['field'])).toMatch(new RegExp(`^${field}`));
      expect(await gw.blobKeys(`sessions/${s.sessionId}/`)).toEqual([]);
      expect((await putOctets(gw, `/v1/sessions/${s.sessionId}/server-key`, bearer(s.token), key)).status).toBe(201);
    },
    UPLOAD_TIMEOUT_MS,
  );

  test(
    'a key of another parameter set, and a key whose size is not its fields\u2019, are refused',
    async () => {
      const gaussian = loadPublicKeyTestKeys('gaussian').compressedServerKeyBytes;
      const s = await createSession(gw);
      const other = await expectError(
        await putOctets(gw, `/v1/sessions/${s.sessionId}/server-key`, bearer(s.token), gaussian),
        422,
        'invalid_server_key',
      );
      expect(other.details).toMatchObject({ field: 'parameter_set' });
      const { uploadId } = ServerKeyUpload.parse(await (await start(s, key.length + 4096)).json());
      const size = await expectError(await putPart(s, uploadId, 1, partOf(key, 1)), 422, 'invalid_server_key');
      expect(size.details).toMatchObject({ field: 'size' });
      const truncated = await expectError(
        await putOctets(gw, `/v1/sessions/${s.sessionId}/server-key`, bearer(s.token), key.subarray(0, key.length - 8)),
        422,
        'invalid_server_key',
      );
      expect(truncated.details).toMatchObject({ field: 'size' });
    },
    UPLOAD_TIMEOUT_MS,
  );
});
