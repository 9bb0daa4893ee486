/**
 * The authenticated session API. Routes only validate, call the service and serialize; the
 * rules live in `evaluator-service.ts`.
 */
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { ApiError } from '../../../protocol/errors.ts';
import {
  CreateSessionRequest,
  EvaluatorBodyLimits,
  EvaluatorRoutes,
  InputsParams,
  PartyUpload,
  ProgressEventName,
  RunRequest,
  SessionParams,
  type RunProgress,
  EvaluatorApiError,
} from '../../../protocol/evaluator-api.ts';
import { parseWith, readBody, readJson } from '../body/read-body.ts';
import type { AppEnv } from '../env.ts';
import type { EvaluatorService } from '../evaluator-service.ts';
import { readServerKeyFrame, ServerKeyFrameError, type FrameState } from '../../../protocol/server-key.ts';
import { isTerminal } from '../sessions/session.ts';

/** Comment lines on idle progress streams, so proxies keep them open. */
const SSE_PING_MS = 15_000;

export function sessionRoutes(service: EvaluatorService) {
  return new Hono<AppEnv>()
    .get(EvaluatorRoutes.model, (c) => c.json(service.model))

    .put(EvaluatorRoutes.session, async (c) => {
      const { sessionId } = parseWith(SessionParams, c.req.param());
      const body = await readJson(c, CreateSessionRequest, EvaluatorBodyLimits.control);
      const { status, created } = service.createSession(sessionId, body);
      return c.json(status, created ? 201 : 200);
    })
    .get(EvaluatorRoutes.session, (c) => {
      const { sessionId } = parseWith(SessionParams, c.req.param());
      return c.json(service.sessionStatus(sessionId));
    })
    .delete(EvaluatorRoutes.session, (c) => {
      const { sessionId } = parseWith(SessionParams, c.req.param());
      service.deleteSession(sessionId);
      return c.body(null, 204);
    })

    .put(EvaluatorRoutes.serverKey, async (c) => {
      const { sessionId } = parseWith(SessionParams, c.req.param());
      if (!/^application\/octet-stream\s*(;|$)/i.test(c.req.header('content-type') ?? '')) {
        throw new EvaluatorApiError(415, 'unsupported_media_type', 'server key must be application/octet-stream');
      }
      const limit = EvaluatorBodyLimits.serverKey;
      const declared = c.req.header('content-length');
      const declaredBytes = declared !== undefined && /^[0-9]+$/.test(declared) ? Number(declared) : undefined;
      // Refuse before reading a byte when the session cannot take a key; the admitted bytes stay
      // reserved while the body streams, so concurrent uploads cannot all pass and then allocate.
      const reservation = service.reserveServerKey(sessionId, Math.min(declaredBytes ?? limit, limit));
      try {
        const seen: { state: FrameState } = { state: { complete: false, minTotalBytes: 0 } };
        const bytes = await readBody(c, {
          limit,
          shared: true,
          inspect: (buf, length) => {
            try {
              seen.state = checkFrame(buf, length, limit, declaredBytes);
            } catch (e) {
              throw e instanceof ApiError ? service.keyRefused(sessionId, e) : e;
            }
          },
        });
        const { state } = seen;
        if (!state.complete) {
          throw service.keyRefused(
            sessionId,
            new EvaluatorApiError(
              422,
              'invalid_server_key',
              `server key is truncated: its fields need at least ${Math.max(state.minTotalBytes, 1)} bytes, got ${bytes.length}`,
            ),
          );
        }
        return c.json(service.acceptServerKey(sessionId, bytes, state.frame, reservation), 201);
      } finally {
        reservation.release();
      }
    })

    .put(EvaluatorRoutes.inputs, async (c) => {
      const { sessionId, party } = parseWith(InputsParams, c.req.param());
      // Fail fast on an unknown session before reading the body.
      service.sessionStatus(sessionId);
      const inputs = await readJson(c, PartyUpload, EvaluatorBodyLimits.partyInputs);
      return c.json(service.putInputs(sessionId, party, inputs, JSON.stringify(inputs).length), 201);
    })

    .post(EvaluatorRoutes.run, async (c) => {
      const { sessionId } = parseWith(SessionParams, c.req.param());
      await readJson(c, RunRequest, EvaluatorBodyLimits.control);
      const { progress, started } = service.startRun(sessionId);
      return c.json(progress, started ? 202 : 200);
    })

    .get(EvaluatorRoutes.progress, (c) => {
      const { sessionId } = parseWith(SessionParams, c.req.param());
      const pending: RunProgress[] = [];
      let wake = () => {};
      // Subscribe before the stream opens, so an unknown session is a 404, not an empty stream.
      const { current, unsubscribe } = service.subscribe(sessionId, (p) => {
        pending.push(p);
        wake();
      });
      pending.push(current);
      return streamSSE(c, async (stream) => {
        let open = true;
        stream.onAbort(() => {
          open = false;
          wake();
        });
        const ping = setInterval(() => void stream.write(': ping\n\n'), SSE_PING_MS);
        try {
          while (open) {
            const p = pending.shift();
            if (p === undefined) {
              await new Promise<void>((resolve) => (wake = resolve));
              continue;
            }
            await stream.writeSSE({ event: ProgressEventName, data: JSON.stringify(p) });
            if (isTerminal(p)) break;
          }
        } finally {
          clearInterval(ping);
          unsubscribe();
        }
      });
    })

    .get(EvaluatorRoutes.result, (c) => {
      const { sessionId } = parseWith(SessionParams, c.req.param());
      return c.json(service.result(sessionId));
    });
}

/** Frame check of the arrived prefix, against the cap and the declared Content-Length. */
function checkFrame(buf: Uint8Array, length: number, limit: number, declared: number | undefined): FrameState {
  let state: FrameState;
  try {
    state = readServerKeyFrame(buf, length, limit);
  } catch (e) {
    if (e instanceof ServerKeyFrameError)
      throw new EvaluatorApiError(422, 'invalid_server_key', `invalid server key: ${e.message}`, { details: { field: e.field } });
    throw e;
  }
  const implied = state.complete ? state.frame.totalBytes : state.minTotalBytes;
  if (declared !== undefined && (state.complete ? implied !== declared : implied > declared)) {
    throw new EvaluatorApiError(422, 'invalid_server_key', `server key fields imply ${implied} bytes, Content-Length is ${declared}`);
  }
  return state;
}
