/**
 * Messages between the bootstrap pool (`pool.ts`) and its worker threads (`pbs-worker.ts`).
 * Every payload is structured-cloneable plain data; a server key's big arrays are
 * SharedArrayBuffer-backed, so posting a key shares it instead of copying it.
 */
import type { Ciphertext, LookupTable, ServerKey } from '../../fhe/index.ts';

export type WorkerRequest =
  /** Makes a key available under `keyId` (sent once per worker and key). */
  | { readonly type: 'key'; readonly keyId: number; readonly key: ServerKey }
  /** Forgets a key, so its memory can be freed once no one else holds it. */
  | { readonly type: 'drop'; readonly keyId: number }
  | {
      /** Bootstraps `cts[i]` with `luts[i]`, together (`programmableBootstrapBatch`). */
      readonly type: 'pbs';
      readonly taskId: number;
      readonly keyId: number;
      readonly cts: readonly Ciphertext[];
      readonly luts: readonly LookupTable[];
    };

/** One bootstrap's outcome: its result, or why it failed. */
export type BootstrapOutcome =
  | { readonly ok: true; readonly ct: Ciphertext }
  | {
      readonly ok: false;
      /** `EngineError` for an engine refusal, else the error's name. */
      readonly name: string;
      /** The `EngineErrorCode` when `name` is `EngineError`. */
      readonly code?: string;
      readonly message: string;
    };

/** The outcomes of a `pbs` request, in order. */
export type WorkerResponse = { readonly type: 'done'; readonly taskId: number; readonly outcomes: readonly BootstrapOutcome[] };
