/**
 * One session's state: its compressed server key, each party's encrypted inputs, the run's
 * progress and its encrypted result. Plain data plus a progress fan-out; the rules live in
 * `evaluator-service.ts`.
 */
import type {
  ErrorBody,
  EncryptedResult,
  ParamSetName,
  Party,
  PartyUpload,
  RunProgress,
  SessionStatus,
} from '../../../protocol/evaluator-api.ts';
import type { Precomputed } from '../backend.ts';

export const IDLE: RunProgress = { state: 'idle', stage: 'idle', completed: 0, total: 0, fraction: 0 };

/** A run state that no later event changes. */
export const isTerminal = (p: RunProgress) => p.state === 'succeeded' || p.state === 'failed';

export class Session {
  /** The compressed key as uploaded, kept while the session lives (several runs use it). */
  serverKey: { bytes: Uint8Array; paramSet: ParamSetName } | undefined;
  /** Why the last key upload was refused, until a key is accepted. */
  keyRefusal: ErrorBody | undefined;
  readonly inputs = new Map<Party, { value: PartyUpload; bytes: number }>();
  result: { value: EncryptedResult; bytes: number } | undefined;
  /** Work done ahead with the inputs present before the last party's arrived (charged to the session). */
  precomputed: { value: Precomputed; bytes: number } | undefined;
  /** Precomputations started so far (the service caps them per session). */
  precomputations = 0;
  /** Bytes of this session admitted to the memory budget. */
  storedBytes = 0;
  private current: RunProgress = IDLE;
  private readonly listeners = new Set<(p: RunProgress) => void>();

  constructor(
    readonly id: string,
    readonly modelVersion: string,
    readonly createdAt: number,
    readonly expiresAt: number,
  ) {}

  get progress(): RunProgress {
    return this.current;
  }

  /** Records a progress change and tells every subscriber. */
  setProgress(p: RunProgress): void {
    this.current = p;
    for (const fn of this.listeners) fn(p);
  }

  /** Calls `fn` on every change until the returned function is called. */
  subscribe(fn: (p: RunProgress) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Parties whose inputs the run still needs, in `required` order. */
  missingParties(required: readonly Party[]): Party[] {
    return required.filter((p) => !this.inputs.has(p));
  }

  /** Makes the session `idle` again for the next run (its inputs changed after one ended). */
  nextRun(): void {
    this.result = undefined;
    this.setProgress(IDLE);
  }

  status(required: readonly Party[], expansion: 'none' | 'expanding' | 'ready'): SessionStatus {
    return {
      sessionId: this.id,
      modelVersion: this.modelVersion,
      createdAt: new Date(this.createdAt).toISOString(),
      expiresAt: new Date(this.expiresAt).toISOString(),
      serverKey: this.serverKey
        ? { received: true, paramSet: this.serverKey.paramSet, expansion }
        : { received: false, ...(this.keyRefusal ? { refused: this.keyRefusal } : {}) },
      parties: { received: required.filter((p) => this.inputs.has(p)), missing: this.missingParties(required) },
      run: this.current,
    };
  }
}
