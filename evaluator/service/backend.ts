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
  /** Work done ahead ({@link EvaluationBackend.precompute}); used only if its uploads are the run's. */
  precomputed?: Precomputed;
}

/**
 * The part of a run that some parties' inputs alone determine, started before the others'
 * inputs arrive (a session's bank and bureau usually upload long before the applicant asks for a
 * check), so the run after the last upload does only the rest. Nothing is decrypted or revealed:
 * it is the same computation on the same ciphertexts, done earlier.
 */
export interface Precomputed {
  /** The uploads it used, by party: a run adopts it only when it has these very uploads (same objects). */
  readonly inputs: ReadonlyMap<Party, PartyUpload>;
  /** Bootstraps it performs. */
  readonly bootstraps: number;
  /** Memory its ciphertexts take once done (an upper bound), for the session's budget. */
  readonly bytes: number;
  /** Resolves when all of it is done; rejects with its first failure (then no run adopts it). */
  readonly done: Promise<void>;
  /** Stops what is still queued; `done` then rejects. */
  cancel(): void;
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
  /**
   * Starts the work `inputs` (some parties' uploads, already checked) allow ahead of the run, at
   * a priority below every run's; undefined when there is none worth doing (or every party is
   * present: that is the run). Throws as `run` does for inputs the engine refuses.
   */
  precompute(request: { key: K; inputs: ReadonlyMap<Party, PartyUpload> }): Precomputed | undefined;
  /** Runs the circuit once; rejects with the signal's reason when aborted. */
  run(request: RunRequest<K>): Promise<EncryptedResult>;
  /** Whether worker threads are up. */
  ready(): boolean;
  /** Stops worker threads. */
  close(): Promise<void>;
}
