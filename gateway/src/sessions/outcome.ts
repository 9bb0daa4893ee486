/**
 * Results of Durable Object calls. Workers RPC carries thrown errors as plain `Error`s (status
 * and code would be lost), so session methods return an {@link Outcome} and the Worker turns a
 * failure back into an `ApiError` with {@link unwrap}.
 */
import type { ApiError, ErrorStatus } from '../../../protocol/errors.ts';
import { isPublicErrorCode, PublicApiError, type PublicErrorCode } from '../../../protocol/public-api.ts';

export interface Failure {
  status: ErrorStatus;
  code: PublicErrorCode;
  message: string;
  retriable?: boolean;
  details?: Record<string, unknown>;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Failure };

export function ok<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function fail(
  status: ErrorStatus,
  code: PublicErrorCode,
  message: string,
  extra: Omit<Failure, 'status' | 'code' | 'message'> = {},
): Outcome<never> {
  return { ok: false, error: { status, code, message, ...extra } };
}

/** The failure an `ApiError` describes (one with a code the public API does not list is a 500 `internal`). */
export function failureOf(error: ApiError): Failure {
  if (!isPublicErrorCode(error.code)) return { status: 500, code: 'internal', message: error.message };
  return { status: error.status, code: error.code, message: error.message, ...error.extra };
}

export function toApiError(f: Failure): ApiError {
  const extra: { retriable?: boolean; details?: Record<string, unknown> } = {};
  if (f.retriable !== undefined) extra.retriable = f.retriable;
  if (f.details !== undefined) extra.details = f.details;
  return new PublicApiError(f.status, f.code, f.message, extra);
}

/** The value of a successful outcome; a failure is thrown as the `ApiError` it describes. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw toApiError(outcome.error);
}
