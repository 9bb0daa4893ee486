/**
 * One Durable Object per session: the only writer of the session's record, the owner of its TTL
 * alarm, and the one that hands the session to the evaluator.
 *
 * Keys and inputs are streamed into R2 by the Worker first and then committed here (so a
 * repeated or concurrent upload costs nothing but its own blob). `run` re-sends to the
 * evaluator whatever it lacks from R2, so a retry after an evaluator failure needs no upload.
 * While a run is in flight the alarm polls the evaluator; the result is copied to R2 and the
 * evaluator's copy of the session is dropped as soon as it succeeds.
 */
import { DurableObject } from 'cloudflare:workers';
import { ApiError, type ErrorStatus } from '../../../protocol/errors.ts';
import { EncryptedResult, type Party } from '../../../protocol/ciphertexts.ts';
import { PublicErrorCode, type InputsAccepted, type KeyAccepted, type SessionProgress, type SessionStatus } from '../../../protocol/public-api.ts';
import { blobKeys, deletePrefix, openBlob, putBytes, readBlobText, type BlobRef, type KeyKind } from '../blobs.ts';
import { newSessionId } from '../crypto/tokens.ts';
import type { Bindings } from '../env.ts';
import { EvaluatorClient, EvaluatorFailure, classifyEvaluatorError, type EvaluatorSessionStatus } from '../evaluator/client.ts';
import type { AccessLevel, SessionCredential } from './access.ts';
import { fail, failureOf, ok, type Failure, type Outcome } from './outcome.ts';
import { acquireSlots, releaseSlots, type SlotHold, type SlotLimits } from './slots.ts';
import {
  IDLE_RUN,
  TOMBSTONE_MS,
  authorize,
  detailFor,
  keyExists,
  markFailed,
  mayUpload,
  missingParties,
  progressOf,
  runEnded,
  stateOf,
  statusOf,
  type SessionRecord,
  type StoredSession,
  type Tombstone,
} from './record.ts';

/** How often the alarm asks the evaluator about a running session. */
const POLL_MS = 1_000;
/** Fresh enough: status reads within this window reuse the last poll. */
const REFRESH_MIN_MS = 200;
/** When deleting a session's blobs failed, the alarm tries again after this long. */
const CLEANUP_RETRY_MS = 30_000;
/** Consecutive failed polls after which a running session is marked failed (retriable). */
const MAX_POLL_FAILURES = 3;

export type CreateSession = Pick<SessionRecord, 'sessionId' | 'tenantId' | 'tokenHash' | 'modelVersion' | 'demo' | 'parties' | 'maxRuns'> & {
  ttlSeconds: number;
};

export interface OpenedSession {
  tenantId: string;
  modelVersion: string;
  demo: boolean;
}

const STORAGE_KEY = 'session';
const encoder = new TextEncoder();

export class SessionObject extends DurableObject<Bindings> {
  private cached: StoredSession | undefined | null = null;
  private lastRefresh = 0;
  private running: Promise<Outcome<SessionStatus>> | undefined;
  /** The one evaluator sync in flight (eager preparation or a run's); syncs never overlap. */
  private syncing: Promise<unknown> = Promise.resolve();
  private refreshing: Promise<void> | undefined;

  // -------------------------------------------------------------------------------------------
  // Storage

  private async load(): Promise<StoredSession | undefined> {
    if (this.cached === null) this.cached = await this.ctx.storage.get<StoredSession>(STORAGE_KEY);
    return this.cached;
  }

  private async save(r: StoredSession): Promise<void> {
    // A run or poll still in flight must not resurrect a deleted or expired session.
    if (this.cached?.kind === 'tombstone' && r.kind === 'session') return;
    // Every state change passes here: a run that ended frees the session's slots.
    const freed = r.kind === 'session' && r.slots && runEnded(r) ? r.slots : undefined;
    if (r.kind === 'session' && freed) delete r.slots;
    this.cached = r;
    await this.ctx.storage.put(STORAGE_KEY, r);
    if (freed) await releaseSlots(this.env, r.sessionId, freed);
  }

  private async scheduleAlarm(r: StoredSession): Promise<void> {
    const at =
      r.kind === 'tombstone'
        ? r.blobsDeleted
          ? r.purgeAt
          : Date.now() + CLEANUP_RETRY_MS
        : r.phase === 'running'
          ? Math.min(r.expiresAt, Date.now() + POLL_MS)
          : r.expiresAt;
    await this.ctx.storage.setAlarm(at);
  }

  /** Loads and authorizes; a session past its TTL is destroyed on the spot (alarms can lag). */
  private async open(cred: SessionCredential, level: AccessLevel): Promise<Outcome<SessionRecord>> {
    let stored = await this.load();
    if (stored?.kind === 'session' && Date.now() >= stored.expiresAt) stored = await this.destroy(stored, 'expired');
    return authorize(stored, cred, level);
  }

  // -------------------------------------------------------------------------------------------
  // RPC methods (called by the Worker)

  async create(init: CreateSession): Promise<Outcome<SessionStatus>> {
    if (await this.load()) return fail(500, 'internal', 'Session id collision.');
    const now = Date.now();
    const record: SessionRecord = {
      kind: 'session',
      sessionId: init.sessionId,
      tenantId: init.tenantId,
      tokenHash: init.tokenHash,
      modelVersion: init.modelVersion,
      demo: init.demo,
      parties: init.parties,
      createdAt: now,
      expiresAt: now + init.ttlSeconds * 1000,
      inputs: {},
      phase: 'open',
      run: IDLE_RUN,
      runNumber: 0,
      maxRuns: init.maxRuns,
      attempts: 0,
      serverKeyEvaluator: 'none',
      evaluator: { sessionId: init.sessionId, inputsSha256: {} },
      pollFailures: 0,
    };
    await this.save(record);
    await this.scheduleAlarm(record);
    return ok(statusOf(record, 'full'));
  }

  /** Authenticates a caller; the Worker then checks the Origin against the tenant. */
  async authenticate(cred: SessionCredential, level: AccessLevel): Promise<Outcome<OpenedSession>> {
    const opened = await this.open(cred, level);
    if (!opened.ok) return opened;
    const r = opened.value;
    return ok({ tenantId: r.tenantId, modelVersion: r.modelVersion, demo: r.demo });
  }

  async status(cred: SessionCredential): Promise<Outcome<SessionStatus>> {
    const opened = await this.open(cred, 'token-or-party');
    if (!opened.ok) return opened;
    return ok(statusOf(await this.refreshed(opened.value), detailFor(cred)));
  }

  /** The stored key of a kind, if any (public key downloads, repeat detection). */
  async keyRef(cred: SessionCredential, kind: KeyKind): Promise<Outcome<BlobRef | undefined>> {
    const opened = await this.open(cred, kind === 'public-key' ? 'token-or-party' : 'token');
    if (!opened.ok) return opened;
    return ok(kind === 'public-key' ? opened.value.publicKey : opened.value.serverKey);
  }

  /**
   * Decides a server-key upload before a byte of it is read. With a key already accepted the
   * upload is never stored: `existing` is returned for the Worker to answer a duplicate (it
   * hashes the body when no hash was announced), and an announced hash or a length that differs
   * is refused at once (409). Otherwise the session takes its active-session slots, or the
   * upload is refused with 429 `too_many_active_sessions`; the slots stay with the session (a
   * failed upload is retried into them) until it is deleted, expires or its run ends.
   */
  async admitServerKey(
    cred: SessionCredential,
    declared: { bytes: number; sha256?: string },
    uploader: { ip?: string; limits: SlotLimits },
  ): Promise<Outcome<{ existing?: BlobRef }>> {
    const opened = await this.open(cred, 'token');
    if (!opened.ok) return opened;
    const r = opened.value;
    const existing = r.serverKey;
    if (existing) {
      const differs = existing.bytes !== declared.bytes || (declared.sha256 !== undefined && declared.sha256 !== existing.sha256);
      return differs ? { ok: false, error: keyExists('server-key', existing.sha256) } : ok({ existing });
    }
    const hold: SlotHold = r.slots ?? { tenantId: r.tenantId, ...(uploader.ip === undefined ? {} : { ip: uploader.ip }) };
    const acquired = await acquireSlots(this.env, r.sessionId, hold, r.expiresAt, uploader.limits);
    if (!acquired.ok) return acquired;
    const latest = await this.load();
    if (latest?.kind !== 'session') {
      // Deleted or expired meanwhile: its slots were given back before these were taken.
      await releaseSlots(this.env, r.sessionId, hold);
      const gone = authorize(latest, cred, 'token');
      return gone.ok ? fail(500, 'internal', 'The session changed while its upload was admitted.') : gone;
    }
    if (!latest.slots) {
      latest.slots = hold;
      await this.save(latest);
    }
    return ok({});
  }

  /**
   * Commits a key blob the Worker streamed into R2. A byte-identical repeat is accepted as a
   * duplicate; a different key after one was accepted is refused. `discard` names a blob the
   * Worker must delete (its own upload, when not kept).
   */
  async commitKey(cred: SessionCredential, kind: KeyKind, ref: BlobRef): Promise<Outcome<{ accepted: KeyAccepted; discard?: string }>> {
    const opened = await this.open(cred, 'token');
    if (!opened.ok) return opened;
    const r = opened.value;
    const existing = kind === 'server-key' ? r.serverKey : r.publicKey;
    if (existing) {
      if (existing.sha256 !== ref.sha256) return { ok: false, error: keyExists(kind, existing.sha256) };
      return ok({ accepted: { bytes: existing.bytes, sha256: existing.sha256, duplicate: true }, discard: ref.key });
    }
    if (kind === 'server-key') r.serverKey = ref;
    else r.publicKey = ref;
    await this.save(r);
    return ok({ accepted: { bytes: ref.bytes, sha256: ref.sha256, duplicate: false } });
  }

  /** Checks that a credential may upload a party's inputs before the Worker stores them. */
  async mayUploadInputs(cred: SessionCredential, party: Party): Promise<Outcome<{ modelVersion: string }>> {
    const opened = await this.open(cred, 'token-or-party');
    if (!opened.ok) return opened;
    const allowed = mayUpload(opened.value, cred, party);
    return allowed.ok ? ok({ modelVersion: opened.value.modelVersion }) : allowed;
  }

  /**
   * Commits a party's inputs. A byte-identical repeat is a duplicate; different inputs replace
   * the earlier ones until the run starts (and again after a failed run). `discard` names the
   * blob the Worker must delete: the duplicate upload's own, or the replaced inputs'. On a
   * failure the Worker deletes its upload.
   */
  async commitInputs(cred: SessionCredential, party: Party, ref: BlobRef): Promise<Outcome<{ accepted: InputsAccepted; discard?: string }>> {
    const opened = await this.open(cred, 'token-or-party');
    if (!opened.ok) return opened;
    const r = opened.value;
    const allowed = mayUpload(r, cred, party);
    if (!allowed.ok) return allowed;
    const existing = r.inputs[party];
    const accepted = (duplicate: boolean): InputsAccepted => ({
      party,
      sha256: ref.sha256,
      duplicate,
      received: r.parties.filter((p) => r.inputs[p] !== undefined),
      missing: missingParties(r),
    });
    // Each upload has its own blob: a duplicate's is not kept.
    if (existing?.sha256 === ref.sha256) return ok({ accepted: accepted(true), discard: ref.key });
    if (r.phase === 'running' || r.phase === 'done') {
      return fail(409, 'run_started', 'The run has started; inputs can no longer change.');
    }
    r.inputs[party] = ref;
    await this.save(r);
    return ok({ accepted: accepted(false), ...(existing ? { discard: existing.key } : {}) });
  }

  /**
   * Hands the evaluator what the session already holds (server key, inputs so far), ahead of
   * the run, so the key transfer and its expansion are off the run's critical path. Best
   * effort: a failure here is retried by the run itself.
   */
  async prepare(cred: SessionCredential): Promise<Outcome<Record<string, never>>> {
    const opened = await this.open(cred, 'token-or-party');
    if (!opened.ok) return opened;
    const r = opened.value;
    if (r.phase !== 'open' || !r.serverKey || this.running) return ok({});
    await this.exclusiveSync(r).catch(() => undefined);
    return ok({});
  }

  /** Starts the run, or retries a failed one. Concurrent calls share one attempt. */
  async run(cred: SessionCredential): Promise<Outcome<{ status: SessionStatus; started: boolean }>> {
    const opened = await this.open(cred, 'token');
    if (!opened.ok) return opened;
    const r = opened.value;
    if (r.phase === 'running' || r.phase === 'done') {
      return ok({ status: statusOf(await this.refreshed(r), 'full'), started: false });
    }
    if (!r.serverKey) return fail(409, 'missing_server_key', 'Upload the server key before running.');
    const missing = missingParties(r);
    if (missing.length > 0) {
      return fail(409, 'missing_inputs', `Inputs missing from: ${missing.join(', ')}.`, { details: { missingParties: missing } });
    }
    if (r.runId === undefined) {
      r.runId = newSessionId();
      r.runNumber = 1;
    }
    if (!this.running) {
      this.running = this.submit(r).finally(() => {
        this.running = undefined;
      });
    }
    const outcome = await this.running;
    return outcome.ok ? ok({ status: outcome.value, started: true }) : outcome;
  }

  /**
   * Progress for the stream: refreshed from the evaluator while running (`fresh`: even if it
   * was polled a moment ago, because the evaluator just reported the end of the run).
   */
  async progress(cred: SessionCredential, fresh: boolean): Promise<Outcome<{ progress: SessionProgress; evaluatorSessionId?: string }>> {
    const opened = await this.open(cred, 'token');
    if (!opened.ok) return opened;
    if (fresh) this.lastRefresh = 0;
    const r = await this.refreshed(opened.value);
    const progress = progressOf(r);
    return ok(r.phase === 'running' ? { progress, evaluatorSessionId: r.evaluator.sessionId } : { progress });
  }

  /** Where the latest run's encrypted result is, once the session is `done`; with `runId`, only that run's. */
  async result(cred: SessionCredential, runId?: string): Promise<Outcome<{ ref: BlobRef; runId: string }>> {
    const opened = await this.open(cred, 'token');
    if (!opened.ok) return opened;
    const r = await this.refreshed(opened.value);
    if (runId !== undefined && runId !== r.runId) {
      return fail(409, 'run_superseded', 'That run is not the session\u2019s latest; its result is gone.', { details: { runId: r.runId ?? null } });
    }
    if (r.phase === 'done' && r.result && r.runId) return ok({ ref: r.result, runId: r.runId });
    return fail(409, 'result_not_ready', `The session is ${stateOf(r)}; the result is not ready.`, {
      retriable: r.phase !== 'failed',
      details: { state: stateOf(r) },
    });
  }

  /** Deletes every key, ciphertext and result of the session, here, in R2 and on the evaluator. */
  async remove(cred: SessionCredential): Promise<Outcome<Record<string, never>>> {
    const opened = await this.open(cred, 'token');
    if (!opened.ok) return opened;
    await this.destroy(opened.value, 'deleted');
    return ok({});
  }

  override async alarm(): Promise<void> {
    const stored = await this.load();
    if (!stored) return;
    if (stored.kind === 'tombstone') {
      if (!stored.blobsDeleted) {
        await this.deleteBlobs(stored);
      } else if (Date.now() >= stored.purgeAt) {
        await this.ctx.storage.deleteAll();
        this.cached = undefined;
        return;
      }
      await this.scheduleAlarm(stored);
      return;
    }
    if (Date.now() >= stored.expiresAt) {
      await this.destroy(stored, 'expired');
      return;
    }
    // Not while a submit is handing the run over: its outcome decides the record, and a poll
    // finishing after it (or seeing the evaluator before the hand-over) would overwrite it.
    if (stored.phase === 'running' && !this.running) await this.refresh(stored, true);
    const latest = await this.load();
    if (latest) await this.scheduleAlarm(latest);
  }

  // -------------------------------------------------------------------------------------------
  // Evaluator

  private evaluator(r: SessionRecord): EvaluatorClient {
    return new EvaluatorClient(this.env, r.sessionId, r.evaluator.sessionId);
  }

  /** Hands the session to the evaluator: sync what it lacks, then start the run. */
  private async submit(r: SessionRecord): Promise<Outcome<SessionStatus>> {
    r.phase = 'running';
    r.attempts += 1;
    r.pollFailures = 0;
    r.run = { ...IDLE_RUN, state: 'queued', stage: 'submitting' };
    await this.save(r);
    await this.scheduleAlarm(r);
    try {
      const ev = await this.exclusiveSync(r);
      r.run = await ev.run();
      await this.save(r);
      if (r.run.state === 'succeeded') await this.finalize(r, ev);
      else if (r.run.state === 'failed') await this.failFromRun(r);
      const latest = (await this.load()) ?? r;
      if (latest.kind === 'session' && latest.phase === 'failed' && latest.run.error) {
        const e = latest.run.error;
        return fail(statusOfCode(e.code), e.code, e.message, { retriable: e.retriable ?? false });
      }
      return ok(statusOf(latest.kind === 'session' ? latest : r, 'full'));
    } catch (error) {
      const failure = failureFrom(error);
      markFailed(r, failure);
      await this.save(r);
      await this.scheduleAlarm(r);
      return { ok: false, error: failure };
    }
  }

  /** Runs {@link sync} after any sync in flight, so two never interleave their uploads. */
  private exclusiveSync(r: SessionRecord): Promise<EvaluatorClient> {
    const next = this.syncing.catch(() => undefined).then(() => this.sync(r));
    this.syncing = next;
    return next;
  }

  /** Makes the evaluator hold this session's key and the inputs stored so far; returns a client for it. */
  private async sync(r: SessionRecord): Promise<EvaluatorClient> {
    let ev = this.evaluator(r);
    let remote: EvaluatorSessionStatus | 'missing' | 'gone' = await ev.status();
    const stale =
      remote !== 'missing' &&
      remote !== 'gone' &&
      (remote.run.state === 'failed' ||
        remote.modelVersion !== r.modelVersion ||
        (remote.serverKey.received && r.evaluator.serverKeySha256 !== r.serverKey?.sha256) ||
        (remote.run.state !== 'idle' && r.parties.some((p) => r.evaluator.inputsSha256[p] !== r.inputs[p]?.sha256)));
    if (stale) {
      // A failed or outdated evaluator session cannot be reused: start a fresh one.
      await ev.remove();
      remote = 'gone';
    }
    if (remote === 'gone') {
      r.evaluator = { sessionId: newSessionId(), inputsSha256: {} };
      ev = this.evaluator(r);
      remote = 'missing';
    }
    if (remote === 'missing') {
      r.evaluator = { sessionId: r.evaluator.sessionId, inputsSha256: {} };
      const ttlSeconds = Math.min(24 * 3600, Math.max(10, Math.ceil((r.expiresAt - Date.now()) / 1000)));
      remote = await ev.create({ modelVersion: r.modelVersion, ttlSeconds });
      r.evaluator.created = true;
      await this.save(r);
    }
    if (remote.modelVersion !== r.modelVersion) {
      throw new EvaluatorFailure(classifyEvaluatorError(409, { code: 'model_version_mismatch', message: '' }));
    }
    const key = r.serverKey!;
    if (!remote.serverKey.received) {
      const body = await openBlob(this.env.BLOBS, key);
      if (!body) throw new ApiError(500, 'internal', 'The stored server key is missing.');
      await ev.putServerKey(body, key.bytes, key.sha256);
      r.evaluator.serverKeySha256 = key.sha256;
      await this.save(r);
    }
    for (const party of r.parties) {
      const ref = r.inputs[party];
      if (!ref) continue;
      if (remote.parties.received.includes(party) && r.evaluator.inputsSha256[party] === ref.sha256) continue;
      const json = await readBlobText(this.env.BLOBS, ref);
      if (json === undefined) throw new ApiError(500, 'internal', `The stored ${party} inputs are missing.`);
      await ev.putInputs(party, json, ref.sha256);
      r.evaluator.inputsSha256[party] = ref.sha256;
      await this.save(r);
    }
    return ev;
  }

  /** The record, refreshed from the evaluator when running and not polled very recently. */
  private async refreshed(r: SessionRecord): Promise<SessionRecord> {
    if (r.phase === 'running' && !this.running && Date.now() - this.lastRefresh >= REFRESH_MIN_MS) await this.refresh(r, false);
    const latest = await this.load();
    return latest?.kind === 'session' ? latest : r;
  }

  /** Polls the evaluator once (shared between concurrent callers). */
  private async refresh(r: SessionRecord, fromAlarm: boolean): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = this.poll(r, fromAlarm).finally(() => {
        this.refreshing = undefined;
      });
    }
    await this.refreshing;
  }

  private async poll(r: SessionRecord, fromAlarm: boolean): Promise<void> {
    this.lastRefresh = Date.now();
    const ev = this.evaluator(r);
    try {
      const remote = await ev.status();
      if (remote === 'missing' || remote === 'gone') {
        markFailed(r, {
          status: 503,
          code: 'evaluator_unavailable',
          message: 'The evaluator lost the session (restarted?); retry the run.',
          retriable: true,
        });
        await this.save(r);
        return;
      }
      r.pollFailures = 0;
      r.run = remote.run;
      await this.save(r);
      if (remote.run.state === 'succeeded') await this.finalize(r, ev);
      else if (remote.run.state === 'failed') await this.failFromRun(r);
    } catch (error) {
      // A status read between alarms may fail transiently; only the alarm's polls count.
      if (!fromAlarm) return;
      r.pollFailures += 1;
      if (r.pollFailures >= MAX_POLL_FAILURES) markFailed(r, failureFrom(error));
      await this.save(r);
    }
  }

  private async failFromRun(r: SessionRecord): Promise<void> {
    const error = r.run.error;
    markFailed(r, classifyEvaluatorError(500, error ?? { code: 'run_failed', message: 'The run failed.' }));
    await this.save(r);
  }

  /** Copies the result to R2, marks the session done and frees the evaluator. */
  private async finalize(r: SessionRecord, ev: EvaluatorClient): Promise<void> {
    const result = await ev.result();
    if (result.modelVersion !== r.modelVersion) {
      markFailed(r, classifyEvaluatorError(502, undefined));
      await this.save(r);
      return;
    }
    const bytes = encoder.encode(JSON.stringify(EncryptedResult.parse(result)));
    r.result = await putBytes(this.env.BLOBS, blobKeys.result(r.sessionId), bytes, 'application/json');
    if (this.cached?.kind === 'tombstone') {
      await this.env.BLOBS.delete(r.result.key); // deleted meanwhile: keep nothing
      return;
    }
    r.phase = 'done';
    await this.save(r);
    await ev.remove().catch(() => undefined);
  }

  // -------------------------------------------------------------------------------------------
  // Teardown

  private async destroy(r: SessionRecord, reason: Tombstone['reason']): Promise<Tombstone> {
    const tombstone: Tombstone = {
      kind: 'tombstone',
      reason,
      sessionId: r.sessionId,
      tenantId: r.tenantId,
      tokenHash: r.tokenHash,
      blobsDeleted: false,
      purgeAt: Date.now() + TOMBSTONE_MS,
    };
    // Tombstone first: from here on nothing can use the session, even if cleanup below fails.
    await this.save(tombstone);
    if (r.slots) await releaseSlots(this.env, r.sessionId, r.slots);
    await this.scheduleAlarm(tombstone);
    await this.deleteBlobs(tombstone).catch(() => undefined); // the alarm retries
    await this.scheduleAlarm(tombstone);
    // The evaluator's copy would also lapse at its own TTL, which ends with the session's.
    const evaluatorTouched = r.attempts > 0 || r.evaluator.created === true;
    if (evaluatorTouched) await this.evaluator(r).remove().catch(() => undefined);
    return tombstone;
  }

  private async deleteBlobs(tombstone: Tombstone): Promise<void> {
    await deletePrefix(this.env.BLOBS, blobKeys.prefix(tombstone.sessionId));
    tombstone.blobsDeleted = true;
    await this.ctx.storage.put(STORAGE_KEY, tombstone);
  }
}

function statusOfCode(code: string): ErrorStatus {
  return (PublicErrorCode as Record<string, ErrorStatus | undefined>)[code] ?? 502;
}

function failureFrom(error: unknown): Failure {
  if (error instanceof EvaluatorFailure) return error.failure;
  if (error instanceof ApiError) return failureOf(error);
  console.error('session run failed:', error instanceof Error ? error.name : typeof error);
  return { status: 500, code: 'internal', message: 'The gateway failed while handing the run over; retry.', retriable: true };
}
