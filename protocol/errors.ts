/**
 * The one error shape of every BlindScore HTTP API (public gateway and internal evaluator):
 * `{ code, message, requestId? }` with a machine-readable snake_case `code` and a human
 * `message`. Each tier throws {@link ApiError}; its single `onError` handler serializes it.
 */
import { z } from 'zod';

export const ErrorBody = z
  .object({
    code: z.string().regex(/^[a-z][a-z0-9_]*$/),
    message: z.string(),
    requestId: z.string().optional(),
    /** Whether the same request may succeed later without changes (e.g. evaluator unavailable). */
    retriable: z.boolean().optional(),
    /** Extra machine-readable facts, e.g. `{ missingParties: ['bank'] }`. */
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type ErrorBody = z.infer<typeof ErrorBody>;

/** HTTP status codes an {@link ApiError} may carry. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 410 | 411 | 413 | 415 | 422 | 429 | 500 | 502 | 503 | 504;

/** What an error body carries besides its code and message. */
export interface ApiErrorExtra {
  retriable?: boolean;
  details?: Record<string, unknown>;
}

/**
 * An error meant for the caller: status, code, message. Modelled on Hono's HTTPException. `Code`
 * is the API's list of codes: each tier throws through its typed constructor
 * (`PublicApiError` in `public-api.ts`, `EvaluatorApiError` in `evaluator-api.ts`), so a code
 * missing from its list does not compile.
 */
export class ApiError<Code extends string = string> extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: ErrorStatus,
    readonly code: Code,
    message: string,
    readonly extra: ApiErrorExtra = {},
  ) {
    super(message);
  }

  /** The JSON body for this error. */
  toBody(requestId?: string): ErrorBody {
    return {
      code: this.code,
      message: this.message,
      ...(requestId === undefined ? {} : { requestId }),
      ...(this.extra.retriable === undefined ? {} : { retriable: this.extra.retriable }),
      ...(this.extra.details === undefined ? {} : { details: this.extra.details }),
    };
  }
}
