/** A party's encrypted inputs: checked, stored in R2 under a fresh name, committed to the session (or deleted). */
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import { PartyUpload } from '../../../protocol/ciphertexts.ts';
import { InputsAccepted, PublicBodyLimits, PublicApiError } from '../../../protocol/public-api.ts';
import { blobKeys, putBytes, utf8 } from '../blobs.ts';
import { servedManifest } from '../model.ts';
import { checkPartyUpload } from '../party-uploads.ts';
import type { AppEnv } from '../env.ts';
import { validationHook } from '../errors.ts';
import { limitBody } from '../middleware/body-limit/index.ts';
import { sessionAccess } from '../middleware/session-access/index.ts';
import { unwrap } from '../sessions/outcome.ts';
import { prepareInBackground, sessionStub } from '../sessions/store.ts';
import { InputsPath, errorResponses, json, security } from './openapi-parts.ts';

export const inputs = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const putInputs = createRoute({
  method: 'put',
  path: '/{sessionId}/inputs/{party}',
  operationId: 'putInputs',
  summary: "Upload a party's encrypted inputs",
  description:
    'The session token uploads the applicant\u2019s inputs (every party\u2019s for demo tenants); a party key uploads its own party\u2019s. ' +
    'A byte-identical repeat answers 200 with `duplicate: true`; different inputs replace earlier ones until the run starts. ' +
    'Party backends send `compact-list` bodies (encrypted with the session\u2019s compact public key); names, digit counts and ' +
    'the list\u2019s structure are checked against the model before anything is stored.',
  security: security.tokenOrParty,
  middleware: [sessionAccess({ level: 'token-or-party' }), limitBody(PublicBodyLimits.partyInputs)],
  request: { params: InputsPath, body: { required: true, content: { 'application/json': { schema: PartyUpload } } } },
  responses: {
    201: json(InputsAccepted, 'Stored'),
    200: json(InputsAccepted, 'Already stored (byte-identical)'),
    ...errorResponses(400, 401, 403, 404, 409, 410, 413, 415, 422),
  },
});

inputs.openapi(putInputs, async (c) => {
  const { sessionId, credential, modelVersion } = c.get('session');
  const { party } = c.req.valid('param');
  const inputs = c.req.valid('json');
  if (inputs.party !== party)
    throw new PublicApiError(400, 'party_mismatch', `The body is ${inputs.party}'s inputs, the path says ${party}.`);
  if (inputs.modelVersion !== modelVersion) {
    throw new PublicApiError(409, 'model_version_mismatch', 'The inputs were built for another model version.', {
      details: { modelVersion },
    });
  }
  const stub = sessionStub(c.env, sessionId);
  unwrap(await stub.mayUploadInputs(credential, party));
  checkPartyUpload(servedManifest(), inputs, party, { credential: credential.kind, demo: c.get('tenant').demo });
  const bytes = utf8(JSON.stringify(inputs));
  const blob = await putBytes(c.env.BLOBS, blobKeys.inputs(sessionId, party), bytes, 'application/json');
  const committed = await stub.commitInputs(credential, party, blob);
  // A refused upload is not kept (a call that threw may have committed: its blob stays, and goes with the session).
  if (!committed.ok) await c.env.BLOBS.delete(blob.key);
  const { accepted, discard } = unwrap(committed);
  if (discard) await c.env.BLOBS.delete(discard);
  if (!accepted.duplicate) prepareInBackground(c);
  return c.json(accepted, accepted.duplicate ? 200 : 201);
});
