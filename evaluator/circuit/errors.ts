/**
 * The circuit layer's error type: compiling a model, checking inputs against a plan, running a
 * plan (cancelled, worker failure). Engine refusals keep their own `EngineError`.
 */
export type CircuitErrorCode =
  /** The model cannot be compiled within the parameter set's degree and noise limits. */
  | 'uncompilable'
  /** A plan fails its own consistency checks (degree/noise bookkeeping, references). */
  | 'invalid_plan'
  /** The inputs given to a run do not match the plan (missing input, wrong digit count). */
  | 'invalid_inputs'
  /** The run was cancelled through its AbortSignal. */
  | 'aborted'
  /** A worker thread failed or exited during a run. */
  | 'worker_failed'
  /** The pool was closed. */
  | 'pool_closed';

export class CircuitError extends Error {
  override readonly name = 'CircuitError';
  constructor(
    readonly code: CircuitErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
