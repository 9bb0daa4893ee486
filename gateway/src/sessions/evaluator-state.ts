/**
 * The transitions of a session record while it is handed to the evaluator and run there: each
 * function takes the record and what the evaluator answered, changes the record in place, and
 * says what must happen next. No I/O and no timing here: `evaluator-sync.ts` does the calls,
 * saves the record after each transition and keeps calls from overlapping.
 *
 * A hand-over: {@link beginAttempt}; the evaluator's session is reused, created, or replaced
 * ({@link evaluatorSessionStep}); the server key is sent once ({@link serverKeyStep}) and each
 * party's inputs when the evaluator lacks that version ({@link inputsToForward}); the run starts
 * ({@link runAnswered}). While it runs, each poll is one {@link pollAnswered} or
 * {@link pollFailed}; a run that ended is collected ({@link runSucceeded}) or failed
 * ({@link runFailed}).
 */
import type { Party } from '../../../protocol/ciphertexts.ts';
import type { ErrorBody, ErrorStatus } from '../../../protocol/errors.ts';
import type { RunProgress, SessionStatus as EvaluatorSessionStatus } from '../../../protocol/evaluator-api.ts';
import { isPublicErrorCode, PublicErrorCode, type SessionStatus } from '../../../protocol/public-api.ts';
import type { BlobRef } from '../blobs.ts';
import { classifyEvaluatorError } from '../evaluator/failures.ts';
import { ok, type Failure, type Outcome } from './outcome.ts';
import { IDLE_RUN, markFailed, statusOf, type SessionRecord, type StoredSession } from './record.ts';

/** What the evaluator says of its copy of the session: its status, or that it never had one or lost it. */
export type RemoteSession = EvaluatorSessionStatus | 'missing' | 'gone';

/** Consecutive failed polls (from the alarm) after which a running session is marked failed (retriable). */
export const MAX_POLL_FAILURES = 3;

/** Evaluator codes that refuse the server key itself. */
const KEY_REFUSALS = new Set(['invalid_server_key', 'key_parameter_mismatch']);

/** 422: the key announced is the one the evaluator refused; a corrected key is needed. */
export function refusedKeyAgain(): Failure {
  return {
    status: 422,
    code: 'invalid_server_key',
    message: 'The evaluator refused this server key; upload a corrected one.',
    retriable: false,
    details: { field: 'key' },
  };
}

/**
 * The failure a stored run error answers with again: its code and status when the public API
 * lists the code (every failure the gateway records does), else a 502 `evaluator_error`.
 */
export function failureOfRunError(e: ErrorBody, extra: Pick<Failure, 'retriable' | 'details'>): Failure {
  const code = isPublicErrorCode(e.code) ? e.code : 'evaluator_error';
  return { status: PublicErrorCode[code] as ErrorStatus, code, message: e.message, ...extra };
}

/** A new hand-over of the latest run: running, queued, its poll failures forgotten. */
export function beginAttempt(r: SessionRecord): void {
  r.phase = 'running';
  r.attempts += 1;
  r.pollFailures = 0;
  r.run = { ...IDLE_RUN, state: 'queued', stage: 'submitting' };
}

/**
 * What to do with the evaluator's session: `reuse` it; `create` it (it has none); `renew` (it
 * forgot the id: a new id, then create); `replace` (it holds another model or another key:
 * remove it, then as `renew`). A failed run leaves the evaluator session usable (a run may
 * start again there; new inputs make the next run), so only another model or key replaces it.
 */
export function evaluatorSessionStep(r: SessionRecord, remote: RemoteSession): 'reuse' | 'create' | 'renew' | 'replace' {
  if (remote === 'missing') return 'create';
  if (remote === 'gone') return 'renew';
  const otherKey = remote.serverKey.received && r.evaluator.serverKeySha256 !== r.serverKey?.sha256;
  return remote.modelVersion !== r.modelVersion || otherKey ? 'replace' : 'reuse';
}

/** The evaluator session is to be made afresh, under `sessionId`: it holds nothing yet. */
export function expectEmptyEvaluatorSession(r: SessionRecord, sessionId = r.evaluator.sessionId): void {
  r.evaluator = { sessionId, inputsSha256: {} };
}

/** The evaluator created the session (so deleting ours must delete it there too). */
export function evaluatorSessionCreated(r: SessionRecord): void {
  r.evaluator.created = true;
}

/** Whether the evaluator may hold a copy of this session (to delete with it). */
export function evaluatorTouched(r: SessionRecord): boolean {
  return r.attempts > 0 || r.evaluator.created === true;
}

/** The failure when the evaluator's session serves another model than the session's. */
export function modelMismatch(r: SessionRecord, remote: EvaluatorSessionStatus): Failure | undefined {
  return remote.modelVersion === r.modelVersion ? undefined : classifyEvaluatorError(409, { code: 'model_version_mismatch', message: '' });
}

/**
 * The server key's step: `send` it (the evaluator lacks it), `refused` (it lacks it, but it
 * refused this very key: only a corrected key is sent), or `held` (it has it; the record learns
 * whether its expansion is done).
 */
export function serverKeyStep(r: SessionRecord, remote: EvaluatorSessionStatus): 'send' | 'refused' | 'held' {
  if (remote.serverKey.received) {
    if (r.serverKeyEvaluator === 'pending' || r.serverKeyEvaluator === 'expanding') {
      r.serverKeyEvaluator = remote.serverKey.expansion === 'ready' ? 'ready' : 'expanding';
    }
    return 'held';
  }
  return r.serverKeyEvaluator === 'failed' ? 'refused' : 'send';
}

/** The evaluator accepted the server key `sha256` and expands it. */
export function serverKeyForwarded(r: SessionRecord, sha256: string): void {
  r.evaluator.serverKeySha256 = sha256;
  r.serverKeyEvaluator = 'expanding';
}

/**
 * Sending the key failed with `failure`; `refused` is the refusal the evaluator's status names,
 * if any (an evaluator that refused early cuts the upload short, so the sender sees only a
 * broken stream). A refusal is final: the key is marked `failed`, never forwarded again, and a
 * corrected key may replace it. Returns the failure to report and whether the record changed.
 */
export function serverKeyForwardFailed(
  r: SessionRecord,
  failure: Failure,
  refused: EvaluatorSessionStatus['serverKey']['refused'] | undefined,
): { failure: Failure; changed: boolean } {
  const reported = failure.retriable && refused ? classifyEvaluatorError(422, refused) : failure;
  if (!KEY_REFUSALS.has(reported.code)) return { failure: reported, changed: false };
  r.serverKeyEvaluator = 'failed';
  return { failure: reported, changed: true };
}

/** The party's stored inputs if the evaluator lacks them (or holds another version), else undefined. */
export function inputsToForward(r: SessionRecord, remote: EvaluatorSessionStatus, party: Party): BlobRef | undefined {
  const ref = r.inputs[party];
  if (!ref) return undefined;
  if (remote.parties.received.includes(party) && r.evaluator.inputsSha256[party] === ref.sha256) return undefined;
  return ref;
}

/** The evaluator holds `party`'s inputs `sha256`. */
export function inputsForwarded(r: SessionRecord, party: Party, sha256: string): void {
  r.evaluator.inputsSha256[party] = sha256;
}

/** What follows a run's progress: `collect` its result, record its `failure`, or `wait` for it. */
export type RunNext = 'collect' | 'failure' | 'wait';

function nextOf(run: RunProgress): RunNext {
  return run.state === 'succeeded' ? 'collect' : run.state === 'failed' ? 'failure' : 'wait';
}

/** The evaluator started (or reported) the run. */
export function runAnswered(r: SessionRecord, run: RunProgress): RunNext {
  r.run = run;
  return nextOf(run);
}

/** A poll's answer: the run's progress, or the evaluator lost the session (retriable failure). */
export function pollAnswered(r: SessionRecord, remote: RemoteSession): RunNext {
  if (remote === 'missing' || remote === 'gone') {
    markFailed(r, {
      status: 503,
      code: 'evaluator_unavailable',
      message: 'The evaluator lost the session (restarted?); retry the run.',
      retriable: true,
    });
    return 'wait';
  }
  r.pollFailures = 0;
  return runAnswered(r, remote.run);
}

/** An alarm's poll failed: after {@link MAX_POLL_FAILURES} in a row the run is marked failed. */
export function pollFailed(r: SessionRecord, failure: Failure): void {
  r.pollFailures += 1;
  if (r.pollFailures >= MAX_POLL_FAILURES) markFailed(r, failure);
}

/** The evaluator reported the run failed: its error, classified; a key refusal marks the key `failed`. */
export function runFailed(r: SessionRecord): void {
  const failure = classifyEvaluatorError(500, r.run.error ?? { code: 'run_failed', message: 'The run failed.' });
  if (KEY_REFUSALS.has(failure.code)) r.serverKeyEvaluator = 'failed';
  markFailed(r, failure);
}

/** The evaluator's result is for another model: the run failed (retriable). */
export function resultRefused(r: SessionRecord): void {
  markFailed(r, classifyEvaluatorError(502, undefined));
}

/** The run's result is stored at `result`: the session is done, the evaluator's key is expanded. */
export function runSucceeded(r: SessionRecord, result: BlobRef): void {
  r.result = result;
  r.phase = 'done';
  r.serverKeyEvaluator = 'ready';
}

/** While the evaluator expands the key, its status may say it is done; returns whether the record changed. */
export function keyExpansionObserved(r: SessionRecord, remote: RemoteSession | undefined): boolean {
  if (typeof remote !== 'object' || !remote.serverKey.received || remote.serverKey.expansion !== 'ready') return false;
  r.serverKeyEvaluator = 'ready';
  return true;
}

/** What a `run` call answers once its hand-over is over: the failure the record holds, or the status. */
export function attemptAnswer(stored: StoredSession | undefined, r: SessionRecord): Outcome<SessionStatus> {
  const latest = stored ?? r;
  if (latest.kind === 'session' && latest.phase === 'failed' && latest.run.error) {
    return { ok: false, error: failureOfRunError(latest.run.error, { retriable: latest.run.error.retriable ?? false }) };
  }
  return ok(statusOf(latest.kind === 'session' ? latest : r, 'full'));
}
