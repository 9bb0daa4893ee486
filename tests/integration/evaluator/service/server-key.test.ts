/**
 * Server-key uploads over loopback with real node-tfhe keys: the key's own header fields decide
 * its exact size, and a wrong size, a corrupt frame, a key of another parameter set or an
 * oversized body is refused with a 4xx while the body streams; other sessions keep working.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody } from '../../../../protocol/errors.ts';
import {
  COMPRESSED_SERVER_KEY_BYTES,
  EvaluatorBodyLimits,
  evaluatorPath,
  importSharedSecret,
  ServerKeyAccepted,
  SessionStatus,
  fetchEvaluatorIdentity,
  signEvaluatorRequest,
} from '../../../../protocol/evaluator-api.ts';
import { sha256Hex } from '../../../../protocol/bytes.ts';
import { loadTestKeys } from '../../../support/tfhe-keys.ts';
import { manifestOnlyBackend, TEST_MANIFEST } from './support/backends.ts';
import { startTestEvaluator, TEST_SECRET, type TestEvaluator } from './support/harness.ts';
import { streamUpload } from './support/stream-upload.ts';

let ev: TestEvaluator;
let n = 0;
const OCTETS = 'application/octet-stream';

async function newSession(): Promise<string> {
  const id = `key-session-${String(++n).padStart(4, '0')}-abcdefghijkl`;
  const res = await ev.request('PUT', evaluatorPath.session(id), { json: { modelVersion: TEST_MANIFEST.modelVersion } });
  expect(res.status).toBe(201);
  return id;
}

async function putKey(id: string, bytes: Uint8Array<ArrayBuffer>): Promise<Response> {
  return ev.request('PUT', evaluatorPath.serverKey(id), { bytes, contentType: OCTETS });
}

async function expectError(res: Response | { status: number; body: string }, status: number, code: string): Promise<ErrorBody> {
  const body = ErrorBody.parse(res instanceof Response ? await res.json() : JSON.parse(res.body));
  expect({ status: res.status, code: body.code }).toEqual({ status, code });
  return body;
}

/** Signed headers for a chunked upload whose full body is not hashed (it is refused before its end). */
async function chunkedHeaders(path: string, contentSha256 = '0'.repeat(64)): Promise<Record<string, string>> {
  const key = await importSharedSecret(TEST_SECRET);
  return {
    ...(await signEvaluatorRequest(key, { bootId: ev.bootId, method: 'PUT', pathAndQuery: path, contentSha256 })),
    'content-type': OCTETS,
  };
}

/**
 * A signed key upload with its Content-Length whose body goes out in two parts: `first` bytes
 * now, the rest on `finish()`; `abort()` drops the connection mid-body.
 */
async function pausedUpload(url: string, path: string, body: Uint8Array<ArrayBuffer>, first: number) {
  const key = await importSharedSecret(TEST_SECRET);
  const bootId = await fetchEvaluatorIdentity(key, (p) => fetch(url + p));
  const signed = await signEvaluatorRequest(key, { bootId, method: 'PUT', pathAndQuery: path, contentSha256: await sha256Hex(body) });
  const headers = { ...signed, 'content-type': OCTETS, 'content-length': String(body.length) };
  let req!: ReturnType<typeof httpRequest>;
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req = httpRequest(url + path, { method: 'PUT', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
  });
  req.write(body.subarray(0, first));
  return {
    response,
    finish: () => void req.end(body.subarray(first)),
    abort: () => {
      response.catch(() => {});
      req.destroy();
    },
  };
}

const tuniform = () => loadTestKeys('tuniform').compressedServerKeyBytes as Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  ev = await startTestEvaluator(manifestOnlyBackend(), { EVALUATOR_PREEXPAND_KEYS: 'false' });
});
afterAll(async () => {
  await ev.close();
});

describe('server key upload', () => {
  it('accepts a real key of the model parameter set exactly once', async () => {
    const id = await newSession();
    const res = await putKey(id, tuniform());
    expect(res.status).toBe(201);
    expect(ServerKeyAccepted.parse(await res.json())).toEqual({ bytes: COMPRESSED_SERVER_KEY_BYTES.tuniform, paramSet: 'tuniform' });
    const status = SessionStatus.parse(await (await ev.request('GET', evaluatorPath.session(id))).json());
    expect(status.serverKey).toMatchObject({ received: true, paramSet: 'tuniform' });
    await expectError(await putKey(id, tuniform()), 409, 'server_key_exists');
  });

  it('names the parameter sets when the key is for another one', async () => {
    const id = await newSession();
    const body = await expectError(
      await putKey(id, loadTestKeys('gaussian').compressedServerKeyBytes as Uint8Array<ArrayBuffer>),
      422,
      'key_parameter_mismatch',
    );
    expect(body.details).toEqual({ expected: 'tuniform', received: 'gaussian' });
    expect(ev.service.budget.stored).toBeLessThan(2 * COMPRESSED_SERVER_KEY_BYTES.tuniform);
  });

  it('refuses truncated keys, trailing bytes and corrupt header fields', async () => {
    const id = await newSession();
    const key = tuniform();
    const truncated = await expectError(await putKey(id, key.slice(0, 1_000_000)), 422, 'invalid_server_key');
    expect(truncated.message).toContain(`imply ${COMPRESSED_SERVER_KEY_BYTES.tuniform - 140} bytes`);

    const longer = new Uint8Array(key.length + 8);
    longer.set(key);
    expect((await expectError(await putKey(id, longer), 422, 'invalid_server_key')).message).toMatch(/imply|after its last field/);

    const badVariant = key.slice();
    badVariant[0] = 7;
    expect((await expectError(await putKey(id, badVariant), 422, 'invalid_server_key')).message).toContain('atomic pattern');

    const badKskLength = key.slice();
    new DataView(badKskLength.buffer).setUint32(4, 8193, true);
    expect((await expectError(await putKey(id, badKskLength), 422, 'invalid_server_key')).message).toMatch(/keyswitch key/);

    const badModulus = key.slice();
    // The keyswitch key's modulus sits after its 8,192 bodies, 3 u64 fields and the 44-byte seed.
    badModulus[12 + 8192 * 8 + 24 + 44] = 1;
    expect((await expectError(await putKey(id, badModulus), 422, 'invalid_server_key')).message).toContain('modulus');

    // Truncated without a Content-Length: refused when the body ends short of its fields.
    const prefix = key.subarray(0, 2_000_000);
    const headers = await chunkedHeaders(evaluatorPath.serverKey(id), await sha256Hex(prefix));
    const res = await streamUpload(`${ev.url}${evaluatorPath.serverKey(id)}`, 'PUT', headers, prefix.length, (o, s) =>
      prefix.subarray(o, o + s),
    );
    expect((await expectError(res, 422, 'invalid_server_key')).message).toContain('truncated');

    // A body that does not hash to its signed value is refused even when the key is well formed.
    const forged = await streamUpload(
      `${ev.url}${evaluatorPath.serverKey(id)}`,
      'PUT',
      await chunkedHeaders(evaluatorPath.serverKey(id)),
      key.length,
      (o, s) => key.subarray(o, o + s),
    );
    await expectError(forged, 400, 'body_hash_mismatch');

    // The session still takes its real key.
    expect((await putKey(id, key)).status).toBe(201);
  });

  it('refuses a Content-Length over the cap before reading, and a streamed body past the cap while it streams', async () => {
    const id = await newSession();
    const path = evaluatorPath.serverKey(id);
    const over = await fetch(`${ev.url}${path}`, {
      method: 'PUT',
      headers: { ...(await chunkedHeaders(path)), 'content-length': String(EvaluatorBodyLimits.serverKey + 1) },
      body: new Uint8Array(16),
    }).catch((e: unknown) => e as Error);
    // Either the 413 arrives, or the connection closes under the client that announced too much.
    if (over instanceof Response) await expectError(over, 413, 'body_too_large');

    // A frame whose keyswitch key ends just below the cap, so only the cap can stop it.
    const words = (EvaluatorBodyLimits.serverKey - 16) / 8 - 0.5;
    const header = new Uint8Array(12);
    new DataView(header.buffer).setUint32(4, Math.floor(words), true);
    const total = 40 * 1024 * 1024;
    const res = await streamUpload(`${ev.url}${path}`, 'PUT', await chunkedHeaders(path), total, (o, s) => {
      const c = new Uint8Array(s);
      if (o === 0) c.set(header);
      return c;
    });
    // The 413 arrives, or the server hangs up first: either way it stopped reading mid-stream.
    if (!res.closedEarly) await expectError(res, 413, 'body_too_large');
    expect(res.bytesSent).toBeLessThan(total);

    // Another session is served as usual.
    expect((await putKey(await newSession(), tuniform())).status).toBe(201);
  });

  it('refuses other content types and unknown sessions before reading the body', async () => {
    const id = await newSession();
    await expectError(
      await ev.request('PUT', evaluatorPath.serverKey(id), { bytes: new Uint8Array(8), contentType: 'application/json' }),
      415,
      'unsupported_media_type',
    );
    await expectError(await putKey('unknown-session-0000000000000', new Uint8Array(8)), 404, 'session_not_found');
  });
});

describe('memory budget', () => {
  it('admits keys only while one expanded key per concurrent run still fits, and frees on delete', async () => {
    // 200 MB: 160 MB stay reserved for a run's expanded key, so one 30 MB key fits, not two.
    const small = await startTestEvaluator(manifestOnlyBackend(), { EVALUATOR_PREEXPAND_KEYS: 'false', EVALUATOR_MEMORY_BUDGET_MB: '200' });
    try {
      const create = async (id: string) =>
        expect((await small.request('PUT', evaluatorPath.session(id), { json: { modelVersion: TEST_MANIFEST.modelVersion } })).status).toBe(
          201,
        );
      const put = (id: string) => small.request('PUT', evaluatorPath.serverKey(id), { bytes: tuniform(), contentType: OCTETS });
      await create('memory-session-one-000000000');
      await create('memory-session-two-000000000');
      expect((await put('memory-session-one-000000000')).status).toBe(201);
      const refused = await expectError(await put('memory-session-two-000000000'), 503, 'memory_exhausted');
      expect(refused.retriable).toBe(true);
      expect((await small.request('DELETE', evaluatorPath.session('memory-session-one-000000000'))).status).toBe(204);
      expect(small.service.budget.stored).toBe(0);
      expect((await put('memory-session-two-000000000')).status).toBe(201);
    } finally {
      await small.close();
    }
  });

  it("holds an admitted key upload's bytes while it streams: a concurrent one is refused before its body is read", async () => {
    const small = await startTestEvaluator(manifestOnlyBackend(), { EVALUATOR_PREEXPAND_KEYS: 'false', EVALUATOR_MEMORY_BUDGET_MB: '200' });
    try {
      const ids = ['admission-one-00000000000000', 'admission-two-00000000000000', 'admission-three-000000000000'];
      for (const id of ids) {
        expect((await small.request('PUT', evaluatorPath.session(id), { json: { modelVersion: TEST_MANIFEST.modelVersion } })).status).toBe(
          201,
        );
      }
      const key = tuniform();
      const MiB = 1024 * 1024;
      const upload = (id: string) => pausedUpload(small.url, evaluatorPath.serverKey(id), key, MiB);

      // The first upload is admitted and its declared length stays reserved while it streams.
      const first = await upload(ids[0]!);
      await expect.poll(() => small.service.budget.stored).toBe(key.length);
      // A second one no longer fits: its 503 arrives while most of its body is still unsent,
      // so the server answered without reading (or allocating) it.
      const second = await upload(ids[1]!);
      const refused = await second.response;
      second.abort();
      await expectError(refused, 503, 'memory_exhausted');
      expect(small.service.budget.stored).toBe(key.length);

      // Completing the first upload turns its reservation into the session's bytes, once.
      first.finish();
      expect((await first.response).status).toBe(201);
      expect(small.service.budget.stored).toBe(key.length);
      expect((await small.request('DELETE', evaluatorPath.session(ids[0]!))).status).toBe(204);
      expect(small.service.budget.stored).toBe(0);

      // An upload that dies mid-body gives its reservation back.
      const dropped = await upload(ids[2]!);
      await expect.poll(() => small.service.budget.stored).toBe(key.length);
      dropped.abort();
      await expect.poll(() => small.service.budget.stored).toBe(0);
      const res = await small.request('PUT', evaluatorPath.serverKey(ids[1]!), { bytes: key, contentType: OCTETS });
      expect(res.status).toBe(201);
      expect(small.service.budget.stored).toBe(key.length);
    } finally {
      await small.close();
    }
  });
});
