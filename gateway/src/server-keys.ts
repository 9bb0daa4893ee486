/**
 * Checks the evaluation (server) key while it streams into storage, never holding more than the
 * field being read: its frame and headers (object kinds, every length consistent with the
 * parameters and the total size, the parameter set equal to the model's) with the parser every
 * tier uses (`protocol/server-key.ts`). A bad key is refused with 422 `invalid_server_key` naming
 * the field, before it is stored; the engine still checks every value before using the key.
 */
import { ApiError } from '../../protocol/errors.ts';
import { PublicBodyLimits } from '../../protocol/public-api.ts';
import { ServerKeyFrameError, ServerKeyFrameReader } from '../../protocol/server-key.ts';
import { servedManifest } from './model.ts';

/** What a check covers: the whole key (single-request upload, or a key in one part), or part 1 of several. */
export type ServerKeyScope = 'whole' | 'first-part';

function refusal(e: ServerKeyFrameError): ApiError {
  return new ApiError(422, 'invalid_server_key', `The server key is not a tfhe 1.6.1 compressed server key of the model's parameters: ${e.message}.`, {
    details: { field: e.field, parameterSet: servedManifest().parameterSet.id },
  });
}

/**
 * A pass-through stream that reads the frame of a key of `keyBytes` bytes as it flows. On a bad
 * frame it errors (so storage keeps nothing) and `refused()` returns the 422 to answer.
 * `first-part`: the bytes are the key's first part; its header (through the bootstrap key's
 * sizes) must be in it and is checked against the total.
 */
export function serverKeyCheck(keyBytes: number, scope: ServerKeyScope): { check: TransformStream<Uint8Array, Uint8Array>; refused: () => ApiError | undefined } {
  const reader = new ServerKeyFrameReader({
    maxBytes: PublicBodyLimits.serverKey,
    declaredBytes: keyBytes,
    expected: servedManifest().parameterSet.id,
  });
  let error: ApiError | undefined;
  const guard = (fn: () => void) => {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof ServerKeyFrameError)) throw e;
      error = refusal(e);
      throw error;
    }
  };
  const check = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      guard(() => reader.push(chunk));
      controller.enqueue(chunk);
    },
    flush() {
      guard(() => {
        if (scope === 'whole') reader.finish();
        else if (!reader.headerChecked) throw new ServerKeyFrameError('size', 'the first part ends before the key\u2019s header does');
      });
    },
  });
  return { check, refused: () => error };
}
