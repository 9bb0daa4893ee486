/** Running a session: start or retry the run, follow its progress, read the encrypted result. */
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import {
  PROGRESS_EVENT,
  PROGRESS_RESULT_EVENT,
  PublicBodyLimits,
  ResultQuery,
  ResultResponse,
  RunRequest,
  RunResponse,
  SessionProgress,
  PublicApiError,
  PublicHeaders,
} from '../../../protocol/public-api.ts';
import type { AppEnv } from '../env.ts';
import { validationHook } from '../errors.ts';
import { limitBody } from '../middleware/body-limit/index.ts';
import { sessionAccess } from '../middleware/session-access/index.ts';
import { unwrap } from '../sessions/outcome.ts';
import { sessionStub } from '../sessions/store.ts';
import { progressStream, storedResult } from './progress.ts';
import { SessionPath, errorResponses, json, security } from './openapi-parts.ts';

export const runs = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const run = createRoute({
  method: 'post',
  path: '/{sessionId}/run',
  operationId: 'runSession',
  summary: 'Start a run, or retry a failed one',
  description:
    'Hands the stored key and inputs to the evaluator and starts a run with them: the answer carries its `runId` and `runNumber`. ' +
    'After a retriable failure, call again: the same run is retried, nothing needs uploading twice. After a run ended, new inputs ' +
    'and this call start the next run (a new `runId`); with the same key and inputs as the latest run, that run is answered instead. ' +
    '202 when a run was handed over, 200 when it already was (or is done). At most the tenant\u2019s `maxRunsPerSession` runs ' +
    '(429 `run_limit_reached`). ' +
    `With \`accept: text/event-stream\`, a run that could be handed over is answered (200) with its progress stream, exactly as ` +
    `\`GET …/progress\` streams it (the run\u2019s id in the \`${PublicHeaders.runId}\` header; the result comes just before \`done\`): ` +
    'the run and its progress in one round trip. Refusals are JSON errors either way.',
  security: security.token,
  middleware: [sessionAccess(), limitBody(PublicBodyLimits.run)],
  request: { params: SessionPath, body: { required: false, content: { 'application/json': { schema: RunRequest } } } },
  responses: {
    202: json(RunResponse, 'Run started'),
    200: {
      description: 'Already running or done (JSON); or, asked for `text/event-stream`, the run\u2019s progress stream',
      content: { 'application/json': { schema: RunResponse }, 'text/event-stream': { schema: SessionProgress } },
    },
    ...errorResponses(401, 403, 404, 409, 410, 413, 415, 422, 502, 503),
  },
});

runs.openapi(run, async (c) => {
  const { sessionId, credential } = c.get('session');
  const { status, started } = unwrap(await sessionStub(c.env, sessionId).run(credential));
  const runs = status.runs;
  if (!runs?.runId || runs.runNumber < 1) throw new PublicApiError(500, 'internal', 'The run has no id.');
  // The widget's path: no second request (and round trip) to follow the run it just started.
  if (c.req.header('accept')?.includes('text/event-stream')) {
    c.header(PublicHeaders.runId, runs.runId);
    return progressStream(c);
  }
  return c.json(RunResponse.parse({ ...status, runId: runs.runId, runNumber: runs.runNumber }), started ? 202 : 200);
});

const progress = createRoute({
  method: 'get',
  path: '/{sessionId}/progress',
  operationId: 'sessionProgress',
  summary: 'Progress as server-sent events',
  description:
    `\`text/event-stream\` of \`${PROGRESS_EVENT}\` events, each a SessionProgress JSON object: the current state first, then every change; ` +
    `the stream ends after \`done\` or \`failed\`. Just before \`done\` comes a \`${PROGRESS_RESULT_EVENT}\` event whose data is the run\u2019s ` +
    'RunResult (what `GET …/result?runId=` answers), so the result needs no further request. Read it with fetch (the token goes in the ' +
    'authorization header).',
  security: security.token,
  middleware: [sessionAccess()],
  request: { params: SessionPath },
  responses: {
    200: { description: 'Event stream', content: { 'text/event-stream': { schema: SessionProgress } } },
    ...errorResponses(401, 403, 404, 410),
  },
});

runs.openapi(progress, (c) => progressStream(c));

const result = createRoute({
  method: 'get',
  path: '/{sessionId}/result',
  operationId: 'getResult',
  summary: 'The encrypted result',
  description:
    'The latest run\u2019s, with its `runId`, once the session is `done`. With `?runId=`, only that run\u2019s (409 `run_superseded` ' +
    'when a later run started). Only the session token: party keys never read results.',
  security: security.token,
  middleware: [sessionAccess()],
  request: { params: SessionPath, query: ResultQuery },
  responses: { 200: json(ResultResponse, 'The encrypted decision and explanation'), ...errorResponses(401, 403, 404, 409, 410) },
});

runs.openapi(result, async (c) => {
  const { sessionId, credential } = c.get('session');
  const { runId } = c.req.valid('query');
  const { ref, runId: latest } = unwrap(await sessionStub(c.env, sessionId).result(credential, runId));
  const result = await storedResult(c.env, ref, latest);
  if (result === undefined) throw new PublicApiError(410, 'session_deleted', 'The result is gone.');
  return c.json(result, 200);
});
