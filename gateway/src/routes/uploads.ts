/**
 * Resumable server-key uploads: R2 multipart through the gateway. The session's Durable Object
 * keeps the upload's record and decides every step (`sessions/uploads.ts`); the Worker streams
 * each part into R2, checking part 1 as the key's header on the way.
 */
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { z } from 'zod';
import type { ApiError } from '../../../protocol/errors.ts';
import {
  SERVER_KEY_UPLOAD,
  ServerKeyUpload,
  ServerKeyUploadRequest,
  UploadCompleted,
  UploadId,
  UploadPartAccepted,
  PublicApiError,
} from '../../../protocol/public-api.ts';
import type { AppEnv } from '../env.ts';
import { validationHook } from '../errors.ts';
import { limitBody } from '../middleware/body-limit/index.ts';
import { clientIp } from '../middleware/rate-limit/index.ts';
import { sessionAccess } from '../middleware/session-access/index.ts';
import { asWebWritable, fixedLengthStream } from '../platform.ts';
import { checkedServerKey } from '../server-keys.ts';
import { unwrap } from '../sessions/outcome.ts';
import { prepareInBackground, sessionStub } from '../sessions/store.ts';
import { SessionPath, binary, errorResponses, json, security } from './openapi-parts.ts';

export const uploads = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const UploadPath = SessionPath.extend({ uploadId: UploadId.meta({ param: { name: 'uploadId', in: 'path' } }) });
const PartPath = UploadPath.extend({
  partNumber: z
    .string()
    .regex(/^[0-9]{1,6}$/, 'must be a decimal part number')
    .meta({ param: { name: 'partNumber', in: 'path' }, description: '1-based' }),
});

const startUpload = createRoute({
  method: 'post',
  path: '/{sessionId}/server-key/uploads',
  operationId: 'startServerKeyUpload',
  summary: 'Start, or resume, a resumable server-key upload',
  description:
    `Announce the key's size and SHA-256; parts are then sent in order, each exactly \`partSize\` (${SERVER_KEY_UPLOAD.partSize}) bytes ` +
    'but the last. 201 with a new upload; 200 with the unfinished upload of the same size and hash and the parts it already holds ' +
    '(resume: send the rest). Another size or hash replaces an unfinished upload. A session holding an accepted key answers 409 ' +
    '`server_key_exists` (details.sha256: equal means done), unless the evaluator refused that key. Takes the session\u2019s ' +
    'active-session slots like `PUT …/server-key` (429 `too_many_active_sessions`).',
  security: security.token,
  middleware: [sessionAccess(), limitBody(1024)],
  request: { params: SessionPath, body: { required: true, content: { 'application/json': { schema: ServerKeyUploadRequest } } } },
  responses: {
    201: json(ServerKeyUpload, 'Upload started'),
    200: json(ServerKeyUpload, 'The unfinished upload of this key, to resume'),
    ...errorResponses(400, 401, 403, 404, 409, 410, 413, 415, 422),
  },
});

uploads.openapi(startUpload, async (c) => {
  const { sessionId, credential } = c.get('session');
  const ip = clientIp(c);
  const { upload, created } = unwrap(
    await sessionStub(c.env, sessionId).startUpload(credential, c.req.valid('json'), {
      ...(ip === undefined ? {} : { ip }),
      limits: c.get('tenant').activeSessions,
    }),
  );
  return c.json(upload, created ? 201 : 200);
});

const getUpload = createRoute({
  method: 'get',
  path: '/{sessionId}/server-key/uploads/{uploadId}',
  operationId: 'getServerKeyUpload',
  summary: 'An unfinished upload and the parts it holds',
  security: security.token,
  middleware: [sessionAccess()],
  request: { params: UploadPath },
  responses: { 200: json(ServerKeyUpload, 'The upload'), ...errorResponses(401, 403, 404, 410) },
});

uploads.openapi(getUpload, async (c) => {
  const { sessionId, credential } = c.get('session');
  return c.json(unwrap(await sessionStub(c.env, sessionId).uploadStatus(credential, c.req.valid('param').uploadId)), 200);
});

const putPart = createRoute({
  method: 'put',
  path: '/{sessionId}/server-key/uploads/{uploadId}/parts/{partNumber}',
  operationId: 'putServerKeyPart',
  summary: 'Upload one part',
  description:
    '`application/octet-stream` with an exact `Content-Length`, streamed into storage. Parts go in order (409 `part_out_of_order`, ' +
    'details.nextPart); a part already stored is 409 `part_exists` (take it as stored); each has the size the total implies (400 ' +
    '`invalid_part_size`). Part 1 is checked as the key\u2019s header (object kinds, lengths, the model\u2019s parameter set, ' +
    'the announced total): 422 `invalid_server_key` with details.field, nothing stored.',
  security: security.token,
  middleware: [sessionAccess()],
  request: { params: PartPath, body: { required: true, content: { 'application/octet-stream': { schema: binary } } } },
  responses: { 200: json(UploadPartAccepted, 'Part stored'), ...errorResponses(400, 401, 403, 404, 409, 410, 411, 415, 422) },
});

uploads.openapi(putPart, (c) => storePart(c, c.req.valid('param')));

async function storePart(c: Context<AppEnv>, params: { uploadId: string; partNumber: string }) {
  const { sessionId, credential } = c.get('session');
  const partNumber = Number(params.partNumber);
  if (c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase() !== 'application/octet-stream') {
    throw new PublicApiError(415, 'unsupported_media_type', 'Send the part as application/octet-stream.');
  }
  const declared = c.req.header('content-length');
  if (declared === undefined || !/^[0-9]{1,12}$/.test(declared))
    throw new PublicApiError(411, 'length_required', 'Send the exact Content-Length of the part.');
  const length = Number(declared);
  const body = c.req.raw.body;
  const stub = sessionStub(c.env, sessionId);
  const begun = await stub.beginPart(credential, params.uploadId, partNumber, length);
  if (!begun.ok && body && length <= 2 * SERVER_KEY_UPLOAD.partSize) {
    // Refused before a byte was read: read the part (bounded: about a part's size) and drop it,
    // so a client still sending it gets this answer rather than a reset connection.
    await body.pipeTo(new WritableStream()).catch(() => undefined);
  }
  const target = unwrap(begun);
  let etag: string;
  try {
    if (!body) throw new PublicApiError(400, 'invalid_request', 'The part is empty.');
    let source: ReadableStream<Uint8Array> = body;
    let refused: () => ApiError | undefined = () => undefined;
    let settled = () => Promise.resolve();
    if (partNumber === 1) {
      // Part 1 holds every length of the key: it is checked on its way into R2.
      const checked = checkedServerKey(body, target.keySize, length === target.keySize ? 'whole' : 'first-part');
      ({ stream: source, refused, settled } = checked);
    }
    const fixed = fixedLengthStream(length);
    const piping = source.pipeTo(asWebWritable(fixed.writable));
    const multipart = c.env.BLOBS.resumeMultipartUpload(target.r2Key, target.r2UploadId);
    const [uploaded, piped] = await Promise.allSettled([multipart.uploadPart(partNumber, fixed.readable), piping]);
    const refusal = refused();
    if (refusal) {
      await settled();
      throw refusal;
    }
    if (piped.status === 'rejected') {
      throw new PublicApiError(400, 'invalid_request', `The part did not carry exactly the ${length} bytes its Content-Length declared.`);
    }
    if (uploaded.status === 'rejected') throw uploaded.reason;
    etag = uploaded.value.etag;
  } catch (error) {
    // The lease ends either way; a part is recorded only once R2 took all of its checked bytes.
    await stub.endPart(credential, params.uploadId, partNumber, target.lease);
    throw error;
  }
  return c.json(unwrap(await stub.endPart(credential, params.uploadId, partNumber, target.lease, { size: length, etag })), 200);
}

const complete = createRoute({
  method: 'post',
  path: '/{sessionId}/server-key/uploads/{uploadId}/complete',
  operationId: 'completeServerKeyUpload',
  summary: 'Finish the upload',
  description:
    'Every part stored (else 409 `upload_incomplete`, details.missingParts): storage assembles the key, its size and SHA-256 are ' +
    'checked against the announced ones (422 `server_key_hash_mismatch`: the upload is discarded, start a new one), and the key is ' +
    'accepted and handed to the evaluator in the background. Answers the session status.',
  security: security.token,
  middleware: [sessionAccess(), limitBody(1024)],
  request: { params: UploadPath },
  responses: { 200: json(UploadCompleted, 'Key accepted'), ...errorResponses(401, 403, 404, 409, 410, 413, 422) },
});

uploads.openapi(complete, async (c) => {
  const { sessionId, credential } = c.get('session');
  const status = unwrap(await sessionStub(c.env, sessionId).completeUpload(credential, c.req.valid('param').uploadId));
  prepareInBackground(c);
  return c.json(status, 200);
});
