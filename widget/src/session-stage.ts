/** Where a check is, as a const object plus a type of the same name (like Lit's `TaskStatus`). */
export const SessionStage = {
  /** The form is shown. */
  Idle: 'idle',
  /** Generating (or loading cached) keys in the worker. */
  Keygen: 'keygen',
  /** Uploading the compact public key, then the compressed server key. */
  Uploading: 'uploading',
  /** Quantizing, encrypting and uploading each party's answers. */
  Encrypting: 'encrypting',
  /** Applicant mode: waiting for the bank's and the bureau's backends to upload. */
  WaitingForParties: 'waiting',
  /** The evaluator runs the circuit. */
  Running: 'running',
  /** Decrypting the result in the worker. */
  Decrypting: 'decrypting',
  /** The decision is shown. */
  Done: 'done',
  /** The check failed; the error panel is shown. */
  Failed: 'failed',
} as const;
export type SessionStage = (typeof SessionStage)[keyof typeof SessionStage];

/** The long steps shown in the progress list, in order. */
export const PROGRESS_STAGES = [
  SessionStage.Keygen,
  SessionStage.Uploading,
  SessionStage.Encrypting,
  SessionStage.WaitingForParties,
  SessionStage.Running,
  SessionStage.Decrypting,
] as const;
export type ProgressStage = (typeof PROGRESS_STAGES)[number];
