/**
 * The one error type of the widget: a machine-readable `code` (the gateway's `ErrorBody.code`,
 * a crypto worker code, or one of the widget's own) and a message for developers. What the
 * applicant reads comes from the translations, keyed by code.
 */
export class BlindScoreError extends Error {
  override readonly name = 'BlindScoreError';
  constructor(
    readonly code: string,
    message: string,
    /** Whether trying again unchanged may succeed (network trouble, busy evaluator). */
    readonly retriable = false,
    readonly status?: number,
    /** The server's `Retry-After`, in milliseconds, when it sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Wraps anything thrown into a {@link BlindScoreError}. */
export function toBlindScoreError(e: unknown): BlindScoreError {
  if (e instanceof BlindScoreError) return e;
  if (e instanceof DOMException && e.name === 'AbortError') return new BlindScoreError('cancelled', 'cancelled');
  return new BlindScoreError('internal', e instanceof Error ? e.message : String(e));
}
