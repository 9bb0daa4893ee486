/**
 * A session as its Durable Object stores it, and the pure rules over it: which state it is in,
 * who may do what, and the public status derived from it. No I/O here.
 *
 * Lifecycle: `created` → `keys` → `inputs` → `running` → `done` | `failed`, and from `done` or
 * `failed` back to `running` for the next run (up to `maxRuns`), then a tombstone (`deleted` or
 * `expired`) that keeps answering 410 for a day before the object is wiped.
 */
import type { Party } from '../../../protocol/ciphertexts.ts';
import type { ErrorBody } from '../../../protocol/errors.ts';
import type { RunProgress } from '../../../protocol/evaluator-api.ts';
import type { ServerKeyEvaluatorState, SessionProgress, SessionState, SessionStatus } from '../../../protocol/public-api.ts';
import type { BlobRef } from '../blobs.ts';
import { digestsEqual } from '../crypto/tokens.ts';
import type { AccessLevel, SessionCredential } from './access.ts';
import { fail, ok, type Failure, type Outcome } from './outcome.ts';
import type { SlotHold } from './slots.ts';
import type { KeyUpload, OpenMultipart } from './uploads.ts';

export interface SessionRecord {
  kind: 'session';
  sessionId: string;
  tenantId: string;
  /** SHA-256 (hex) of the capability token. */
  tokenHash: string;
  modelVersion: string;
  demo: boolean;
  /** Parties whose inputs a run needs. */
  parties: Party[];
  createdAt: number;
  expiresAt: number;
  serverKey?: BlobRef;
  /** The unfinished resumable upload of the server key, if any. */
  upload?: KeyUpload;
  publicKey?: BlobRef;
  inputs: Partial<Record<Party, BlobRef>>;
  phase: 'open' | 'running' | 'done' | 'failed';
  /** The latest run's progress. */
  run: RunProgress;
  /** The latest run: its id and 1-based number (0 and no id before the first). */
  runId?: string;
  runNumber: number;
  /** The tenant's cap on runs per session. */
  maxRuns: number;
  /** What the latest run used (the server key's and each party's inputs' SHA-256). */
  runInputs?: { serverKey: string; inputs: Partial<Record<Party, string>> };
  /** Hand-overs of the latest run to the evaluator (1 + its retries). */
  attempts: number;
  /** Where the evaluator is with the server key, as far as the gateway knows. */
  serverKeyEvaluator: ServerKeyEvaluatorState;
  /** What the evaluator holds for this session, as far as the gateway knows. */
  evaluator: { sessionId: string; created?: boolean; serverKeySha256?: string; inputsSha256: Partial<Record<Party, string>> };
  /** Consecutive failed status polls while running. */
  pollFailures: number;
  result?: BlobRef;
  /** The active-session slots this session holds (from its server key's upload until its end). */
  slots?: SlotHold;
}

export interface Tombstone {
  kind: 'tombstone';
  reason: 'deleted' | 'expired';
  sessionId: string;
  tenantId: string;
  tokenHash: string;
  /** Whether every R2 object of the session is gone (retried by the alarm until it is). */
  blobsDeleted: boolean;
  /** Multipart uploads still to abort (their parts are not objects a prefix sweep finds). */
  openUploads?: OpenMultipart[];
  purgeAt: number;
}

export type StoredSession = SessionRecord | Tombstone;

/** How long a tombstone answers 410 before the object forgets the session entirely. */
export const TOMBSTONE_MS = 24 * 3600 * 1000;

export const IDLE_RUN: RunProgress = { state: 'idle', stage: 'idle', completed: 0, total: 0, fraction: 0 };

export function missingParties(r: SessionRecord): Party[] {
  return r.parties.filter((p) => r.inputs[p] === undefined);
}

export function stateOf(r: SessionRecord): SessionState {
  if (r.phase !== 'open') return r.phase;
  if (!r.serverKey) return 'created';
  return missingParties(r).length > 0 ? 'keys' : 'inputs';
}

/**
 * How much a status tells: `full` for the session token; `party` for bank and bureau keys, which
 * learn only whether the keys arrived. A returning applicant's cached keys hash the same in every
 * session, so key hashes or sizes in a party's view would let the bank link their checks.
 */
export type StatusDetail = 'full' | 'party';

function blobInfo(ref: BlobRef | undefined, detail: StatusDetail): SessionStatus['publicKey'] {
  if (!ref) return { received: false };
  return detail === 'full' ? { received: true, bytes: ref.bytes, sha256: ref.sha256 } : { received: true };
}

/** The detail a credential may see. */
export function detailFor(cred: SessionCredential): StatusDetail {
  return cred.kind === 'token' ? 'full' : 'party';
}

export function statusOf(r: SessionRecord, detail: StatusDetail): SessionStatus {
  const received = r.parties.filter((p) => r.inputs[p] !== undefined);
  return {
    sessionId: r.sessionId,
    state: stateOf(r),
    modelVersion: r.modelVersion,
    demo: r.demo,
    createdAt: new Date(r.createdAt).toISOString(),
    expiresAt: new Date(r.expiresAt).toISOString(),
    serverKey: detail === 'full' ? { ...blobInfo(r.serverKey, detail), evaluator: r.serverKeyEvaluator } : blobInfo(r.serverKey, detail),
    publicKey: blobInfo(r.publicKey, detail),
    parties: { received, missing: missingParties(r) },
    run: r.run,
    ...(detail === 'full'
      ? { runs: { ...(r.runId === undefined ? {} : { runId: r.runId }), runNumber: r.runNumber, maxRuns: r.maxRuns } }
      : {}),
    attempts: r.attempts,
  };
}

/** What the progress stream sends. */
export function progressOf(r: SessionRecord): SessionProgress {
  return {
    state: stateOf(r),
    run: r.run,
    ...(r.runId === undefined ? {} : { runId: r.runId }),
    runNumber: r.runNumber,
    serverKey: r.serverKeyEvaluator,
  };
}

/** Whether the latest run is over: done, or failed for good (a retriable failure may run again). */
export function runEnded(r: SessionRecord): boolean {
  return r.phase === 'done' || (r.phase === 'failed' && r.run.error?.retriable !== true);
}

/** Whether the session is finished with the evaluator: its last allowed run is over. */
export function runsExhausted(r: SessionRecord): boolean {
  return r.runNumber >= r.maxRuns && runEnded(r);
}

/** The key and inputs a run started now would use. */
export function currentRunInputs(r: SessionRecord): NonNullable<SessionRecord['runInputs']> {
  const inputs: Partial<Record<Party, string>> = {};
  for (const p of r.parties) if (r.inputs[p]) inputs[p] = r.inputs[p].sha256;
  return { serverKey: r.serverKey?.sha256 ?? '', inputs };
}

/** Whether the latest run used exactly what the session holds now. */
export function sameRunInputs(r: SessionRecord): boolean {
  const last = r.runInputs;
  if (!last) return false;
  const now = currentRunInputs(r);
  return last.serverKey === now.serverKey && r.parties.every((p) => last.inputs[p] === now.inputs[p]);
}

/** Whether the evaluator refused the stored server key: it may be replaced by a new one. */
export function serverKeyReplaceable(r: SessionRecord): boolean {
  return r.serverKeyEvaluator === 'failed' && r.phase !== 'running';
}

/** 409: a different key of this kind was already accepted. */
export function keyExists(kind: 'server-key' | 'public-key', sha256: string): Failure {
  return {
    status: 409,
    code: kind === 'server-key' ? 'server_key_exists' : 'public_key_exists',
    message: `A different ${kind.replace('-', ' ')} was already accepted for this session.`,
    details: { sha256 },
  };
}

/** Marks the run failed with a public error body. */
export function markFailed(r: SessionRecord, f: Failure): void {
  const error: ErrorBody = { code: f.code, message: f.message, retriable: f.retriable ?? false };
  if (f.details) error.details = f.details;
  r.phase = 'failed';
  r.run = { ...r.run, state: 'failed', stage: 'failed', error };
}

/**
 * Checks a credential against a stored session: the token through its hash in constant time, a
 * party key through its tenant. Tombstones answer 410 only to a caller who could have opened
 * the session.
 */
export function authorize(stored: StoredSession | undefined, cred: SessionCredential, level: AccessLevel): Outcome<SessionRecord> {
  if (!stored) return fail(404, 'session_not_found', 'No such session.');
  if (cred.kind === 'token') {
    if (!digestsEqual(stored.tokenHash, cred.tokenHash)) return fail(401, 'invalid_token', 'The token does not open this session.');
  } else {
    if (level === 'token') return fail(403, 'token_required', 'Only the session token may do this.');
    if (cred.tenantId !== stored.tenantId)
      return fail(401, 'invalid_party_key', 'The party key does not belong to this session\u2019s tenant.');
  }
  if (stored.kind === 'tombstone') {
    return stored.reason === 'expired'
      ? fail(410, 'session_expired', 'The session expired; its keys and ciphertexts are deleted.')
      : fail(410, 'session_deleted', 'The session was deleted.');
  }
  return ok(stored);
}

/** Whether a credential may upload a party's inputs: the token for the applicant (every party in demo mode), a party key for its own party. */
export function mayUpload(r: SessionRecord, cred: SessionCredential, party: Party): Outcome<true> {
  if (cred.kind === 'party') {
    return cred.party === party ? ok(true) : fail(403, 'party_not_allowed', `A ${cred.party} key cannot upload ${party} inputs.`);
  }
  if (party === 'applicant' || r.demo) return ok(true);
  return fail(403, 'party_not_allowed', `Only the ${party}'s own key can upload ${party} inputs (the tenant is not in demo mode).`);
}
