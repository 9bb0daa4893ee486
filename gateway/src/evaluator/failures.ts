/**
 * How the gateway reads an evaluator failure: retriable (evaluator down, overloaded, confused)
 * or final (it rejected what the session holds: a bad key or bad inputs), as a public
 * {@link Failure}. No I/O here, so the session's run transitions use it outside workerd too.
 */
import type { ErrorBody } from '../../../protocol/errors.ts';
import { isPublicErrorCode, type PublicErrorCode } from '../../../protocol/public-api.ts';
import { boundRetryAfter } from '../errors.ts';
import type { Failure } from '../sessions/outcome.ts';

/** A failed evaluator call, already classified for the public API. */
export class EvaluatorFailure extends Error {
  override readonly name = 'EvaluatorFailure';
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

/** Codes with which the evaluator rejects what the session holds: retrying cannot help. */
const FINAL_REJECTIONS: Readonly<Partial<Record<PublicErrorCode, { status: 409 | 422; message: string }>>> = {
  invalid_server_key: { status: 422, message: 'The evaluator rejected the server key.' },
  key_parameter_mismatch: { status: 422, message: "The server key's parameter set is not the model's." },
  invalid_inputs: { status: 422, message: 'The evaluator rejected a party\u2019s inputs: they do not fit the model.' },
  invalid_ciphertext: { status: 422, message: 'The evaluator rejected a ciphertext.' },
  model_version_mismatch: { status: 409, message: 'The evaluator serves another model version.' },
};
const OVERLOADED = new Set(['queue_full', 'memory_exhausted', 'shutting_down']);

/**
 * The wait an evaluator error names, in whole seconds within the gateway's bounds: its
 * `retry-after` (delay-seconds or an HTTP-date, RFC 9110 §10.2.3), else its body's
 * `details.retryAfterSeconds` (both are set on `queue_full`); undefined when it names none.
 */
export function evaluatorRetryAfter(header: string | null | undefined, body: ErrorBody | undefined): number | undefined {
  const value = header?.trim();
  if (value && /^\d+$/.test(value)) return boundRetryAfter(Number(value));
  const date = value ? Date.parse(value) : Number.NaN;
  if (Number.isFinite(date)) return boundRetryAfter((date - Date.now()) / 1000);
  const hinted = body?.details?.['retryAfterSeconds'];
  return typeof hinted === 'number' && Number.isFinite(hinted) ? boundRetryAfter(hinted) : undefined;
}

/**
 * Classifies an evaluator error response. A retriable failure keeps the wait the evaluator named
 * (`retryAfter`, its `retry-after` header) as `details.retryAfterSeconds`, which the gateway's
 * own answer sends as `retry-after`.
 */
export function classifyEvaluatorError(status: number, body: ErrorBody | undefined, retryAfter?: string | null): Failure {
  const facts = body ? { evaluatorCode: body.code, evaluatorStatus: status } : { evaluatorStatus: status };
  const code = body?.code;
  if (code !== undefined && isPublicErrorCode(code)) {
    const final = FINAL_REJECTIONS[code];
    if (final) return { status: final.status, code, message: final.message, retriable: false, details: facts };
  }
  // Every answer from here on is retriable.
  const wait = evaluatorRetryAfter(retryAfter, body);
  const details = wait === undefined ? facts : { ...facts, retryAfterSeconds: wait };
  if (status === 503 || (body && OVERLOADED.has(body.code))) {
    return {
      status: 503,
      code: 'evaluator_unavailable',
      message: 'The evaluator is busy or restarting; retry shortly.',
      retriable: true,
      details,
    };
  }
  if (body?.code === 'run_failed') {
    return { status: 500, code: 'run_failed', message: 'The evaluation failed; it may be retried.', retriable: true, details };
  }
  return { status: 502, code: 'evaluator_error', message: `The evaluator answered ${status} unexpectedly.`, retriable: true, details };
}
