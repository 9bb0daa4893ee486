/**
 * What the service needs from the FHE side: the served model, a check of a party's inputs
 * against its manifest, key expansion, and one run of the circuit. The service owns HTTP,
 * sessions, memory and scheduling; a backend owns the model, the engine and the worker pool.
 * `circuit-backend.ts` is the implementation over `fhe/` and `evaluator/circuit`.
 */
import type { EncryptedResult, ModelInfo, Party, PartyUpload } from '../../protocol/evaluator-api.ts';
import type { Expanded } from './keys/expanded-key-cache.ts';

/** Progress a run reports: a stage name and work done out of a total within the run. */
export interface BackendProgress {
  stage: string;
  completed: number;
  total: number;
}

export interface RunRequest<K> {
  key: K;
  inputs: Readonly<Record<Party, PartyUpload>>;
  onProgress: (p: BackendProgress) => void;
  signal: AbortSignal;
}

export interface EvaluationBackend<K = unknown> {
  readonly model: ModelInfo;
  /**
   * Checks one party's inputs against the manifest (names, digit counts, ciphertext bytes).
   * @throws {ApiError} 422 `invalid_inputs` or `invalid_ciphertext`
   */
  checkInputs(inputs: PartyUpload): void;
  /** Expands a compressed server key off the event loop. Rejects with 422 `invalid_server_key` on bad key material. */
  expandServerKey(compressed: Uint8Array): Promise<Expanded<K>>;
  /** Runs the circuit once; rejects with the signal's reason when aborted. */
  run(request: RunRequest<K>): Promise<EncryptedResult>;
  /** Whether worker threads are up. */
  ready(): boolean;
  /** Stops worker threads. */
  close(): Promise<void>;
}
