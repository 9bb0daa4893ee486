/** Key uploads (the server key streamed into R2, the public key checked first), and the public key download. */
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { z } from 'zod';
import { KeyAccepted, PublicBodyLimits, PublicHeaders, Sha256Hex, PublicApiError } from '../../../protocol/public-api.ts';
import { blobKeys, hashExact, openBlob, putBytes, putStreamExact, readExact, type BlobRef, type KeyKind } from '../blobs.ts';
import type { AppEnv } from '../env.ts';
import { validationHook } from '../errors.ts';
import { servedManifest } from '../model.ts';
import { checkPublicKeyUpload } from '../public-keys.ts';
import { checkedServerKey } from '../server-keys.ts';
import { sessionAccess } from '../middleware/session-access/index.ts';
import { clientIp } from '../middleware/rate-limit/index.ts';
import { toApiError, unwrap } from '../sessions/outcome.ts';
import { keyExists } from '../sessions/record.ts';
import { prepareInBackground, sessionStub } from '../sessions/store.ts';
import { SessionPath, binary, errorResponses, json, security } from './openapi-parts.ts';

export const keys = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const Sha256Header = z.object({ [PublicHeaders.contentSha256]: Sha256Hex.optional() });

function keyUploadRoute(kind: KeyKind) {
  const noun = kind === 'server-key' ? 'compressed server key' : 'compact public key';
  return createRoute({
    method: 'put',
    path: `/{sessionId}/${kind}`,
    operationId: kind === 'server-key' ? 'putServerKey' : 'putPublicKey',
    summary: `Upload the ${noun}`,
    description:
      `The ${noun} as \`application/octet-stream\`; \`Content-Length\` is required and must be exact. ` +
      (kind === 'server-key'
        ? 'Streamed to storage. Once a key is accepted, a repeat is never stored, and an announced hash or a length that ' +
          'differs is refused (409 `server_key_exists`) before the body is read. A session holding a server key takes one of ' +
          'the tenant\u2019s active-session slots and one of its IP\u2019s until it is deleted, expires or its run ends; past ' +
          'either cap the upload is refused unread with 429 `too_many_active_sessions` (retriable, `retry-after`). ' +
          'The key\u2019s frame is checked as it streams (object kinds, every length against the parameters and the Content-Length, ' +
          'the model\u2019s parameter set): a bad key is refused with 422 `invalid_server_key` (details.field) and nothing is stored. ' +
          'A key the evaluator refused may be replaced by a corrected one. '
        : 'Parsed before it is stored: a key that is malformed, truncated or of another parameter set than the model\u2019s ' +
          'is refused with 422 `invalid_public_key` (the message says what is wrong) and nothing is stored. ') +
      'A byte-identical repeat answers 200 with `duplicate: true`; a different key after one was accepted is refused.',
    security: security.token,
    middleware: [sessionAccess()],
    request: {
      params: SessionPath,
      headers: Sha256Header,
      body: { required: true, content: { 'application/octet-stream': { schema: binary } } },
    },
    responses: {
      201: json(KeyAccepted, 'Stored'),
      200: json(KeyAccepted, 'Already stored (byte-identical)'),
      ...errorResponses(400, 401, 403, 404, 409, 410, 411, 413, 415, 422),
    },
  });
}

/**
 * The compact public key is small (~33 kB): read whole, checked against the model's parameter
 * set (422 `invalid_public_key`, nothing stored), then stored. The session commits it after.
 */
async function storePublicKey(
  c: Context<AppEnv>,
  body: ReadableStream<Uint8Array>,
  length: number,
  expected: string | undefined,
): Promise<BlobRef> {
  const bytes = await readExact(body, length, expected);
  checkPublicKeyUpload(servedManifest(), bytes);
  return putBytes(c.env.BLOBS, blobKeys.key(c.get('session').sessionId, 'public-key'), bytes, 'application/octet-stream');
}

/**
 * The server key is streamed into R2 through its frame check (422 `invalid_server_key` naming
 * the field; R2 keeps nothing of a refused key), never held whole.
 */
async function storeServerKey(
  c: Context<AppEnv>,
  body: ReadableStream<Uint8Array>,
  length: number,
  expected: string | undefined,
): Promise<BlobRef> {
  const { stream, refused, settled } = checkedServerKey(body, length, 'whole');
  try {
    return await putStreamExact(c.env.BLOBS, blobKeys.key(c.get('session').sessionId, 'server-key'), stream, length, expected);
  } catch (error) {
    const refusal = refused();
    if (!refusal) throw error;
    await settled();
    throw refusal;
  }
}

/**
 * Answers an upload of a server key when one is already accepted (the session refused a
 * differing length or announced hash): a duplicate without reading the body if its hash was
 * announced, else after hashing the body without storing it.
 */
async function repeatOf(existing: BlobRef, body: ReadableStream<Uint8Array>, length: number, expected: string | undefined) {
  if (expected !== undefined) await body.cancel();
  const sha256 = expected ?? (await hashExact(body, length));
  if (sha256 !== existing.sha256) throw toApiError(keyExists('server-key', existing.sha256));
  return { bytes: existing.bytes, sha256: existing.sha256, duplicate: true } satisfies KeyAccepted;
}

async function uploadKey(c: Context<AppEnv>, kind: KeyKind) {
  const { sessionId, credential } = c.get('session');
  const limit = kind === 'server-key' ? PublicBodyLimits.serverKey : PublicBodyLimits.publicKey;
  if (c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase() !== 'application/octet-stream') {
    throw new PublicApiError(415, 'unsupported_media_type', 'Send the key as application/octet-stream.');
  }
  const declared = c.req.header('content-length');
  if (declared === undefined || !/^[0-9]{1,12}$/.test(declared)) {
    throw new PublicApiError(411, 'length_required', 'Send the exact Content-Length of the key.');
  }
  const length = Number(declared);
  if (length > limit) throw new PublicApiError(413, 'body_too_large', `The ${kind} exceeds ${limit} bytes.`, { details: { limit } });
  const body = c.req.raw.body;
  if (length === 0 || !body) throw new PublicApiError(400, 'invalid_request', 'The key is empty.');
  const stub = sessionStub(c.env, sessionId);
  const expected = c.req.header(PublicHeaders.contentSha256);
  if (kind === 'server-key') {
    const { existing } = unwrap(
      await stub.admitServerKey(
        credential,
        { bytes: length, ...(expected === undefined ? {} : { sha256: expected }) },
        {
          ...(clientIp(c) === undefined ? {} : { ip: clientIp(c) }),
          limits: c.get('tenant').activeSessions,
        },
      ),
    );
    // A key is already accepted: this upload is a duplicate or refused, and never stored.
    if (existing) return c.json(await repeatOf(existing, body, length, expected), 200);
  } else if (expected !== undefined) {
    const existing = unwrap(await stub.keyRef(credential, kind));
    if (existing && existing.sha256 === expected && existing.bytes === length) {
      await body.cancel();
      return c.json({ bytes: existing.bytes, sha256: existing.sha256, duplicate: true }, 200);
    }
  }
  const blob = kind === 'server-key' ? await storeServerKey(c, body, length, expected) : await storePublicKey(c, body, length, expected);
  const committed = await stub.commitKey(credential, kind, blob);
  if (!committed.ok) await c.env.BLOBS.delete(blob.key);
  const { accepted, discard } = unwrap(committed);
  if (discard) await c.env.BLOBS.delete(discard);
  if (kind === 'server-key' && !accepted.duplicate) prepareInBackground(c);
  return c.json(accepted, accepted.duplicate ? 200 : 201);
}

keys.openapi(keyUploadRoute('server-key'), (c) => uploadKey(c, 'server-key'));
keys.openapi(keyUploadRoute('public-key'), (c) => uploadKey(c, 'public-key'));

const getPublicKey = createRoute({
  method: 'get',
  path: '/{sessionId}/public-key',
  operationId: 'getPublicKey',
  summary: 'Download the compact public key',
  description: 'For party backends, which encrypt their inputs under it. Session token or a party key of the same tenant.',
  security: security.tokenOrParty,
  middleware: [sessionAccess({ level: 'token-or-party' })],
  request: { params: SessionPath },
  responses: {
    200: { description: 'The key bytes', content: { 'application/octet-stream': { schema: binary } } },
    ...errorResponses(401, 403, 404, 409, 410),
  },
});

keys.openapi(getPublicKey, async (c) => {
  const { sessionId, credential } = c.get('session');
  const ref = unwrap(await sessionStub(c.env, sessionId).keyRef(credential, 'public-key'));
  const body = ref ? await openBlob(c.env.BLOBS, ref) : undefined;
  if (!ref || !body)
    throw new PublicApiError(409, 'public_key_not_ready', 'The public key has not been uploaded yet.', { retriable: true });
  return c.body(body, 200, {
    'content-type': 'application/octet-stream',
    'content-length': String(ref.bytes),
    [PublicHeaders.contentSha256]: ref.sha256,
  });
});
