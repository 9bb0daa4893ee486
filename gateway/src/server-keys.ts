/**
 * Checks the evaluation (server) key while it streams into storage, never holding more than the
 * field being read: its frame and headers (object kinds, every length consistent with the
 * parameters and the total size, the parameter set equal to the model's) with the parser every
 * tier uses (`protocol/server-key.ts`). A bad key is refused with 422 `invalid_server_key` naming
 * the field, before it is stored; the engine still checks every value before using the key.
 */
import type { ApiError } from '../../protocol/errors.ts';
import { PublicBodyLimits, PublicApiError } from '../../protocol/public-api.ts';
import { ServerKeyFrameError, ServerKeyFrameReader } from '../../protocol/server-key.ts';
import { servedManifest } from './model.ts';

/** What a check covers: the whole key (single-request upload, or a key in one part), or part 1 of several. */
export type ServerKeyScope = 'whole' | 'first-part';

function refusal(e: ServerKeyFrameError): ApiError {
  return new PublicApiError(
    422,
    'invalid_server_key',
    `The server key is not a tfhe 1.6.1 compressed server key of the model's parameters: ${e.message}.`,
    {
      details: { field: e.field, parameterSet: servedManifest().parameterSet.id },
    },
  );
}

/**
 * The body of a key of `keyBytes` bytes, passed through while its frame is read. On a bad frame
 * the returned stream errors (so storage keeps nothing) and `refused()` gives the 422 to answer;
 * the rest of the body is still read and dropped, so the client, which is still sending, can
 * read that answer (`settled()` resolves once it has all arrived). `first-part`: the bytes are
 * the key's first part, whose lengths and kinds must be all there and are checked against the
 * total.
 */
export function checkedServerKey(
  body: ReadableStream<Uint8Array>,
  keyBytes: number,
  scope: ServerKeyScope,
): { stream: ReadableStream<Uint8Array>; refused: () => ApiError | undefined; settled: () => Promise<void> } {
  const frame = new ServerKeyFrameReader({
    maxBytes: PublicBodyLimits.serverKey,
    declaredBytes: keyBytes,
    expected: servedManifest().parameterSet.id,
  });
  const source = body.getReader();
  let error: ApiError | undefined;
  let rest: Promise<void> = Promise.resolve();
  const refuse = (e: unknown, controller: ReadableStreamDefaultController<Uint8Array>) => {
    if (!(e instanceof ServerKeyFrameError)) throw e;
    error = refusal(e);
    controller.error(error);
    rest = drain(source);
  };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await source.read();
      try {
        if (!done) {
          frame.push(value);
          controller.enqueue(value);
          return;
        }
        if (scope === 'whole') frame.finish();
        else if (!frame.headerChecked) throw new ServerKeyFrameError('size', 'the first part ends before the key\u2019s lengths do');
        controller.close();
      } catch (e) {
        refuse(e, controller);
      }
    },
    cancel(reason) {
      return source.cancel(reason);
    },
  });
  return { stream, refused: () => error, settled: () => rest };
}

/** Reads a body to its end, keeping nothing. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    for (;;) if ((await reader.read()).done) return;
  } catch {
    // The client went away: nothing to answer.
  }
}
