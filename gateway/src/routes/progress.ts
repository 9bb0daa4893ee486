/**
 * `GET /v1/sessions/:sessionId/progress`: server-sent events of {@link SessionProgress}.
 *
 * While the run is on the evaluator, its own progress stream is relayed (validated with the
 * shared schema, so only well-formed progress reaches the browser); at its end the session's
 * Durable Object is asked for the final state, which also stores the result. When the relay is
 * not possible (evaluator stream down, session not yet running) the object is long-polled: it
 * answers as soon as its record changes, so a run handed over is seen at once, not a poll later.
 * A run that ends `done` is preceded by its encrypted result (`PROGRESS_RESULT_EVENT`), so the
 * page decrypts without another round trip: read from the evaluator the moment the relay sees the
 * run succeed (so the page decrypts while the session object collects and stores the result; the
 * `done` follows once it has), or from storage when the stream opens on a run already done.
 */
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { ProgressEventName, RunProgress } from '../../../protocol/evaluator-api.ts';
import {
  PROGRESS_ERROR_EVENT,
  PROGRESS_EVENT,
  PROGRESS_RESULT_EVENT,
  ResultResponse,
  type SessionProgress,
} from '../../../protocol/public-api.ts';
import { readBlobText, type BlobRef } from '../blobs.ts';
import type { Bindings } from '../env.ts';
import type { AppEnv } from '../env.ts';
import { EvaluatorClient } from '../evaluator/client.ts';
import { toApiError, unwrap } from '../sessions/outcome.ts';
import { sessionStub } from '../sessions/store.ts';

/** How long one long poll of the session object waits for a change. */
const LONG_POLL_MS = 10_000;
const PING_MS = 15_000;
/** A stream ends after this long even if the run has not; clients reconnect. */
const MAX_STREAM_MS = 15 * 60_000;

const terminal = (p: SessionProgress) => p.state === 'done' || p.state === 'failed';

export async function progressStream(c: Context<AppEnv>): Promise<Response> {
  const { sessionId, credential, modelVersion } = c.get('session');
  const stub = sessionStub(c.env, sessionId);
  // The first read happens before the stream opens, so auth and state errors are HTTP errors.
  let info = unwrap(await stub.progress(credential, false));
  return streamSSE(c, async (stream) => {
    const abort = new AbortController();
    stream.onAbort(() => abort.abort());
    const ping = setInterval(() => void stream.write(': ping\n\n').catch(() => undefined), PING_MS);
    let last = '';
    const send = async (progress: SessionProgress) => {
      const data = JSON.stringify(progress);
      if (data === last) return;
      last = data;
      await stream.writeSSE({ event: PROGRESS_EVENT, data });
    };
    let resultSent: string | undefined;
    try {
      const deadline = Date.now() + MAX_STREAM_MS;
      while (!abort.signal.aborted && Date.now() < deadline) {
        // The result goes first: a client that sees `done` already holds it.
        if (info.result && info.result.runId !== resultSent) {
          const result = await storedResult(c.env, info.result.ref, info.result.runId);
          if (result) await stream.writeSSE({ event: PROGRESS_RESULT_EVENT, data: JSON.stringify(result) });
          resultSent = info.result.runId;
        }
        await send(info.progress);
        if (terminal(info.progress)) return;
        const ev = info.evaluatorSessionId ? new EvaluatorClient(c.env, sessionId, info.evaluatorSessionId) : undefined;
        const ended = ev ? await relay(ev, info.progress, send, abort.signal) : false;
        // The object refreshes from the evaluator (collecting a result) while the page gets it.
        const refreshed = ended ? stub.progress(credential, true) : undefined;
        refreshed?.catch(() => undefined); // awaited below; only a stream cut meanwhile leaves it
        const runId = info.progress.runId;
        if (ended === 'succeeded' && ev && runId && runId !== resultSent) {
          const result = await evaluatorResult(ev, runId, modelVersion);
          if (result) {
            await stream.writeSSE({ event: PROGRESS_RESULT_EVENT, data: JSON.stringify(result) });
            resultSent = runId;
          }
        }
        const next = refreshed ? await refreshed : await stub.progress(credential, false, last, LONG_POLL_MS);
        if (!next.ok) {
          // Deleted or expired while streaming: say so in-band, then close.
          await stream.writeSSE({ event: PROGRESS_ERROR_EVENT, data: JSON.stringify(toApiError(next.error).toBody(c.get('requestId'))) });
          return;
        }
        info = next.value;
      }
    } finally {
      clearInterval(ping);
    }
  });
}

/**
 * Relays the evaluator's progress events until its run ends. Returns how it ended (the caller
 * then reads the final state), or false when the stream could not be used.
 */
async function relay(
  ev: EvaluatorClient,
  base: SessionProgress,
  send: (p: SessionProgress) => Promise<void>,
  signal: AbortSignal,
): Promise<'succeeded' | 'failed' | false> {
  let body: ReadableStream<Uint8Array>;
  try {
    body = await ev.progress(signal);
  } catch {
    return false;
  }
  // TextDecoderStream accepts any BufferSource; the lib types only lack that variance.
  const decoder = new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>;
  const reader = body.pipeThrough(decoder).pipeThrough(new EventSourceParserStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      if (value.event !== ProgressEventName) continue;
      const parsed = RunProgress.safeParse(safeJson(value.data));
      if (!parsed.success) continue;
      if (parsed.data.state === 'succeeded' || parsed.data.state === 'failed') return parsed.data.state;
      await send({ ...base, state: 'running', run: parsed.data });
    }
  } catch {
    return false;
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

/**
 * A run's stored result as the API serves it, or undefined when it is gone (the session was
 * deleted meanwhile). Stored after validation; parsed again so what leaves is checked here too.
 */
export async function storedResult(env: Bindings, ref: BlobRef, runId: string): Promise<ResultResponse | undefined> {
  const text = await readBlobText(env.BLOBS, ref);
  return text === undefined ? undefined : ResultResponse.parse({ ...(JSON.parse(text) as object), runId });
}

/**
 * The result of the run the evaluator just finished, as the API serves it; undefined when it
 * cannot be read or is of another model (the session object then refuses it too, and the stream
 * reports the failure instead of `done`).
 */
async function evaluatorResult(ev: EvaluatorClient, runId: string, modelVersion: string): Promise<ResultResponse | undefined> {
  try {
    const result = await ev.result();
    return result.modelVersion === modelVersion ? ResultResponse.parse({ ...result, runId }) : undefined;
  } catch {
    return undefined;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
