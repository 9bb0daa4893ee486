/**
 * One Durable Object per session: the only writer of the session's record, the owner of its TTL
 * alarm, and the one that hands the session to the evaluator.
 *
 * Keys and inputs are streamed into R2 by the Worker first and then committed here (so a
 * repeated or concurrent upload costs nothing but its own blob). `run` re-sends to the
 * evaluator whatever it lacks from R2, so a retry after an evaluator failure needs no upload.
 * While a run is in flight the alarm polls the evaluator; the result is copied to R2 and the
 * evaluator's copy of the session is dropped once no run can follow. The evaluator side (the
 * hand-over, polls, the result) is `evaluator-sync.ts`, its record transitions
 * `evaluator-state.ts`; this object keeps storage, RPC, uploads, the alarm and teardown.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Party } from '../../../protocol/ciphertexts.ts';
import {
  PublicBodyLimits,
  SERVER_KEY_UPLOAD,
  type InputsAccepted,
  type KeyAccepted,
  type ServerKeyUpload,
  type SessionProgress,
  type SessionStatus,
  type UploadedPart,
} from '../../../protocol/public-api.ts';
import { blobKeys, deletePrefix, digestHex, type BlobRef, type KeyKind } from '../blobs.ts';
import { asWebStream } from '../platform.ts';
import { checkPart, missingParts, partCountOf, uploadView, type KeyUpload, type OpenMultipart } from './uploads.ts';
import { newSessionId } from '../crypto/tokens.ts';
import type { Bindings } from '../env.ts';
import { failureOfRunError, refusedKeyAgain } from './evaluator-state.ts';
import { EvaluatorSync } from './evaluator-sync.ts';
import type { AccessLevel, SessionCredential } from './access.ts';
import { fail, ok, type Outcome } from './outcome.ts';
import { acquireSlots, releaseSlots, type SlotHold, type SlotLimits } from './slots.ts';
import {
  IDLE_RUN,
  TOMBSTONE_MS,
  authorize,
  detailFor,
  keyExists,
  mayUpload,
  missingParties,
  progressOf,
  currentRunInputs,
  runsExhausted,
  sameRunInputs,
  serverKeyReplaceable,
  stateOf,
  statusOf,
  type SessionRecord,
  type StoredSession,
  type Tombstone,
} from './record.ts';

/** How often the alarm asks the evaluator about a running session. */
const POLL_MS = 1_000;
/** The longest a progress read waits for a change. */
const MAX_PROGRESS_WAIT_MS = 20_000;
/** When deleting a session's blobs failed, the alarm tries again after this long. */
const CLEANUP_RETRY_MS = 30_000;
/** A part lease older than this (its request died without ending it) no longer blocks a re-send. */
const PART_LEASE_MS = 2 * 60_000;

export type CreateSession = Pick<
  SessionRecord,
  'sessionId' | 'tenantId' | 'tokenHash' | 'modelVersion' | 'demo' | 'parties' | 'maxRuns'
> & {
  ttlSeconds: number;
};

export interface OpenedSession {
  tenantId: string;
  modelVersion: string;
  demo: boolean;
}

const STORAGE_KEY = 'session';

export class SessionObject extends DurableObject<Bindings> {
  private cached: StoredSession | undefined | null = null;
  /** The evaluator side of the session: hand-overs, polls, the result (see evaluator-sync.ts). */
  private readonly evaluator = new EvaluatorSync({
    env: this.env,
    load: () => this.load(),
    save: (r) => this.save(r),
    scheduleAlarm: (r) => this.scheduleAlarm(r),
    ended: () => this.cached?.kind === 'tombstone',
  });
  /** Progress streams waiting for the record to change (see {@link progress}). */
  private readonly waiters = new Set<() => void>();

  // -------------------------------------------------------------------------------------------
  // Storage

  private async load(): Promise<StoredSession | undefined> {
    if (this.cached === null) this.cached = await this.ctx.storage.get<StoredSession>(STORAGE_KEY);
    return this.cached;
  }

  private async save(r: StoredSession): Promise<void> {
    // A run or poll still in flight must not resurrect a deleted or expired session.
    if (this.cached?.kind === 'tombstone' && r.kind === 'session') return;
    // Every state change passes here: a session whose last allowed run ended frees its slots.
    const freed = r.kind === 'session' && r.slots && runsExhausted(r) ? r.slots : undefined;
    if (r.kind === 'session' && freed) delete r.slots;
    this.cached = r;
    await this.ctx.storage.put(STORAGE_KEY, r);
    // Wake the progress streams waiting for a change.
    for (const wake of this.waiters) wake();
    this.waiters.clear();
    if (freed) await releaseSlots(this.env, r.sessionId, freed);
  }

  /** Resolves at the next saved change, or after `ms`. */
  private nextChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.add(done);
    });
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
    const r = await this.evaluator.refreshed(opened.value);
    if (detailFor(cred) === 'full') await this.evaluator.refreshKeyState(r);
    return ok(statusOf(r, detailFor(cred)));
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
    if (existing && !serverKeyReplaceable(r)) {
      const differs = existing.bytes !== declared.bytes || (declared.sha256 !== undefined && declared.sha256 !== existing.sha256);
      return differs ? { ok: false, error: keyExists('server-key', existing.sha256) } : ok({ existing });
    }
    if (existing && declared.sha256 === existing.sha256) return { ok: false, error: refusedKeyAgain() };
    const held = await this.holdSlots(r, cred, uploader);
    return held.ok ? ok({}) : held;
  }

  /**
   * Takes the session's active-session slots for a server-key upload (a session keeps them until
   * it ends or its last run does), or refuses with 429 `too_many_active_sessions`.
   */
  private async holdSlots(
    r: SessionRecord,
    cred: SessionCredential,
    uploader: { ip?: string; limits: SlotLimits },
  ): Promise<Outcome<SessionRecord>> {
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
    return ok(latest);
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
    if (kind === 'server-key' && existing && serverKeyReplaceable(r)) {
      if (existing.sha256 === ref.sha256) return { ok: false, error: refusedKeyAgain() };
      return ok({ accepted: await this.acceptServerKey(r, ref), discard: existing.key });
    }
    if (existing) {
      if (existing.sha256 !== ref.sha256) return { ok: false, error: keyExists(kind, existing.sha256) };
      return ok({ accepted: { bytes: existing.bytes, sha256: existing.sha256, duplicate: true }, discard: ref.key });
    }
    if (kind === 'server-key') return ok({ accepted: await this.acceptServerKey(r, ref) });
    r.publicKey = ref;
    await this.save(r);
    return ok({ accepted: { bytes: ref.bytes, sha256: ref.sha256, duplicate: false } });
  }

  /** Makes `ref` the session's server key (the first, or one replacing a key the evaluator refused). */
  private async acceptServerKey(r: SessionRecord, ref: BlobRef): Promise<KeyAccepted> {
    r.serverKey = ref;
    r.serverKeyEvaluator = 'pending';
    await this.save(r);
    return { bytes: ref.bytes, sha256: ref.sha256, duplicate: false };
  }

  // -------------------------------------------------------------------------------------------
  // Resumable server-key uploads (see uploads.ts). Each step runs under the upload lock, so two
  // requests never decide on the same upload record at once.

  private uploadLock: Promise<unknown> = Promise.resolve();
  /** Parts being streamed into R2 now, by `uploadId:partNumber`: a second copy of one is refused. */
  private readonly partsInFlight = new Map<string, { lease: string; since: number }>();

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.uploadLock.catch(() => undefined).then(fn);
    this.uploadLock = next;
    return next;
  }

  /**
   * Starts a resumable upload of the server key, or returns the unfinished one announced with
   * the same size and hash (to resume). An unfinished upload with another size or hash is
   * aborted and replaced. Takes the session's active-session slots like a single-request upload.
   */
  async startUpload(
    cred: SessionCredential,
    announced: { size: number; sha256: string },
    uploader: { ip?: string; limits: SlotLimits },
  ): Promise<Outcome<{ upload: ServerKeyUpload; created: boolean }>> {
    return this.locked(async () => {
      const opened = await this.open(cred, 'token');
      if (!opened.ok) return opened;
      let r = opened.value;
      if (announced.size > PublicBodyLimits.serverKey) {
        return fail(413, 'body_too_large', `A server key has at most ${PublicBodyLimits.serverKey} bytes.`, {
          details: { limit: PublicBodyLimits.serverKey },
        });
      }
      if (r.serverKey && !serverKeyReplaceable(r)) return { ok: false, error: keyExists('server-key', r.serverKey.sha256) };
      if (r.serverKey && r.serverKey.sha256 === announced.sha256) return { ok: false, error: refusedKeyAgain() };
      if (r.upload?.size === announced.size && r.upload.sha256 === announced.sha256) {
        return ok({ upload: uploadView(r.upload), created: false });
      }
      const held = await this.holdSlots(r, cred, uploader);
      if (!held.ok) return held;
      r = held.value;
      const replaced = r.upload;
      const r2Key = blobKeys.key(r.sessionId, 'server-key');
      const multipart = await this.env.BLOBS.createMultipartUpload(r2Key, { httpMetadata: { contentType: 'application/octet-stream' } });
      const upload: KeyUpload = {
        uploadId: newSessionId(),
        r2Key,
        r2UploadId: multipart.uploadId,
        size: announced.size,
        sha256: announced.sha256,
        partSize: SERVER_KEY_UPLOAD.partSize,
        partCount: partCountOf(announced.size),
        parts: [],
      };
      r.upload = upload;
      await this.save(r);
      if (replaced) await this.abortMultipart(replaced);
      return ok({ upload: uploadView(upload), created: true });
    });
  }

  /** The unfinished upload `uploadId` of this session. */
  async uploadStatus(cred: SessionCredential, uploadId: string): Promise<Outcome<ServerKeyUpload>> {
    const found = await this.findUpload(cred, uploadId);
    return found.ok ? ok(uploadView(found.value.upload)) : found;
  }

  /**
   * Decides whether part `partNumber` of `length` bytes may be streamed now, and leases it to
   * the caller until {@link endPart}: where it goes in R2, and the size the whole key must have
   * (part 1 is checked against it as the key's header).
   */
  async beginPart(
    cred: SessionCredential,
    uploadId: string,
    partNumber: number,
    length: number,
  ): Promise<Outcome<{ r2Key: string; r2UploadId: string; keySize: number; lease: string }>> {
    return this.locked(async () => {
      const found = await this.findUpload(cred, uploadId);
      if (!found.ok) return found;
      const { upload } = found.value;
      const allowed = checkPart(upload, partNumber, length);
      if (!allowed.ok) return allowed;
      const slot = `${uploadId}:${partNumber}`;
      const busy = this.partsInFlight.get(slot);
      if (busy && Date.now() - busy.since < PART_LEASE_MS) {
        return fail(409, 'part_in_progress', `Part ${partNumber} is being uploaded by another request; retry once it ends.`, {
          retriable: true,
          details: { partNumber, retryAfterSeconds: 1 },
        });
      }
      const lease = newSessionId();
      this.partsInFlight.set(slot, { lease, since: Date.now() });
      return ok({ r2Key: upload.r2Key, r2UploadId: upload.r2UploadId, keySize: upload.size, lease });
    });
  }

  /** Ends a part's lease; with `stored`, records the part R2 accepted. */
  async endPart(
    cred: SessionCredential,
    uploadId: string,
    partNumber: number,
    lease: string,
    stored?: { size: number; etag: string },
  ): Promise<Outcome<UploadedPart>> {
    return this.locked(async () => {
      const slot = `${uploadId}:${partNumber}`;
      if (this.partsInFlight.get(slot)?.lease === lease) this.partsInFlight.delete(slot);
      const found = await this.findUpload(cred, uploadId);
      if (!found.ok) return found;
      const { record, upload } = found.value;
      if (!stored) return ok({ partNumber, size: 0 });
      const allowed = checkPart(upload, partNumber, stored.size);
      if (!allowed.ok) return allowed;
      upload.parts.push({ partNumber, size: stored.size, etag: stored.etag });
      await this.save(record);
      return ok({ partNumber, size: stored.size });
    });
  }

  /**
   * Completes the upload: every part stored, R2 assembles the object, its size and SHA-256 are
   * checked (read back through a digest stream, never held whole), and the key is accepted. A
   * hash that differs discards the upload (422 `server_key_hash_mismatch`).
   */
  async completeUpload(cred: SessionCredential, uploadId: string): Promise<Outcome<SessionStatus>> {
    return this.locked(async () => {
      const found = await this.findUpload(cred, uploadId);
      if (!found.ok) return found;
      const { record: r, upload } = found.value;
      const missing = missingParts(upload);
      if (missing.length > 0) {
        return fail(409, 'upload_incomplete', `Parts missing: ${missing.join(', ')}.`, { details: { missingParts: missing } });
      }
      if (r.serverKey && !serverKeyReplaceable(r)) return { ok: false, error: keyExists('server-key', r.serverKey.sha256) };
      const multipart = this.env.BLOBS.resumeMultipartUpload(upload.r2Key, upload.r2UploadId);
      // A retry after a completion whose answer was lost finds the object already assembled.
      await multipart.complete(upload.parts.map(({ partNumber, etag }) => ({ partNumber, etag }))).catch(() => undefined);
      const object = await this.env.BLOBS.get(upload.r2Key);
      if (!object) return fail(500, 'internal', 'The upload could not be assembled; complete it again.', { retriable: true });
      const sha256 = await digestHex(asWebStream(object.body));
      const latest = await this.load();
      if (latest?.kind !== 'session' || latest.upload?.uploadId !== uploadId) {
        await this.env.BLOBS.delete(upload.r2Key);
        if (latest?.kind === 'session') return fail(404, 'upload_not_found', 'The upload was replaced meanwhile.');
        const gone = authorize(latest, cred, 'token');
        return gone.ok ? fail(500, 'internal', 'The session changed while its upload completed.') : gone;
      }
      delete latest.upload;
      if (object.size !== upload.size || sha256 !== upload.sha256) {
        await this.save(latest);
        await this.env.BLOBS.delete(upload.r2Key);
        return fail(422, 'server_key_hash_mismatch', 'The uploaded key does not hash to the announced sha256; the upload is discarded.', {
          details: { expected: upload.sha256, received: sha256, bytes: object.size },
        });
      }
      const replaced = latest.serverKey;
      await this.acceptServerKey(latest, { key: upload.r2Key, bytes: upload.size, sha256 });
      if (replaced) await this.env.BLOBS.delete(replaced.key).catch(() => undefined);
      return ok(statusOf(latest, 'full'));
    });
  }

  private async findUpload(cred: SessionCredential, uploadId: string): Promise<Outcome<{ record: SessionRecord; upload: KeyUpload }>> {
    const opened = await this.open(cred, 'token');
    if (!opened.ok) return opened;
    const upload = opened.value.upload;
    if (!upload || upload.uploadId !== uploadId) {
      return fail(404, 'upload_not_found', 'This session has no unfinished upload with that id.');
    }
    return ok({ record: opened.value, upload });
  }

  /** Aborts an R2 multipart upload (best effort: R2 also expires abandoned ones). */
  private async abortMultipart(u: OpenMultipart): Promise<boolean> {
    try {
      await this.env.BLOBS.resumeMultipartUpload(u.r2Key, u.r2UploadId).abort();
      return true;
    } catch {
      return false;
    }
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
  async commitInputs(
    cred: SessionCredential,
    party: Party,
    ref: BlobRef,
  ): Promise<Outcome<{ accepted: InputsAccepted; discard?: string }>> {
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
    // After a run ended, new inputs are the next run's; while one is in flight they would mix.
    if (r.phase === 'running') return fail(409, 'run_started', 'A run is in progress; upload new inputs once it ends.');
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
    // Also after a run: the next run's inputs go over now, not when it is requested.
    await this.evaluator.prepare(r);
    return ok({});
  }

  /**
   * Starts a run with the key and inputs the session holds now, or retries a failed one.
   * Concurrent calls share one attempt. A run is new when what it would use differs from the
   * latest run's (then it gets a new `runId`, within the tenant's `maxRuns`); asked again with
   * the same key and inputs, the latest run is answered (done or in flight) or retried (failed,
   * retriable).
   */
  async run(cred: SessionCredential): Promise<Outcome<{ status: SessionStatus; started: boolean }>> {
    const opened = await this.open(cred, 'token');
    if (!opened.ok) return opened;
    const r = opened.value;
    if (r.phase === 'running') return ok({ status: statusOf(await this.evaluator.refreshed(r), 'full'), started: false });
    if (!r.serverKey) return fail(409, 'missing_server_key', 'Upload the server key before running.');
    if (r.serverKeyEvaluator === 'failed') return { ok: false, error: refusedKeyAgain() };
    const missing = missingParties(r);
    if (missing.length > 0) {
      return fail(409, 'missing_inputs', `Inputs missing from: ${missing.join(', ')}.`, { details: { missingParties: missing } });
    }
    const same = sameRunInputs(r);
    if (same && r.phase === 'done') return ok({ status: statusOf(r, 'full'), started: false });
    if (same && r.phase === 'failed' && r.run.error && r.run.error.retriable !== true) {
      const e = r.run.error;
      return { ok: false, error: failureOfRunError(e, { retriable: false, ...(e.details ? { details: e.details } : {}) }) };
    }
    if (!(same && r.phase === 'failed') && !this.evaluator.handingOver) {
      // A new run: its own id, its own inputs; the previous result is gone for good.
      if (r.runNumber >= r.maxRuns) {
        return fail(429, 'run_limit_reached', `This session has run ${r.maxRuns} times, its limit; start a new session.`, {
          retriable: false,
          details: { maxRuns: r.maxRuns },
        });
      }
      r.runId = newSessionId();
      r.runNumber += 1;
      r.attempts = 0;
      r.runInputs = currentRunInputs(r);
      if (r.result) {
        await this.env.BLOBS.delete(r.result.key);
        delete r.result;
      }
    }
    const outcome = await this.evaluator.start(r);
    return outcome.ok ? ok({ status: outcome.value, started: true }) : outcome;
  }

  /**
   * Progress for the stream: refreshed from the evaluator while running (`fresh`: even if it
   * was polled a moment ago, because the evaluator just reported the end of the run). With
   * `unchangedFrom` (the progress the stream last sent, as JSON), a long poll: answers as soon
   * as the record changes (a run handed over, a poll's news), or after `waitMs`. Once done, also
   * where the run's result is.
   */
  async progress(
    cred: SessionCredential,
    fresh: boolean,
    unchangedFrom?: string,
    waitMs = 0,
  ): Promise<Outcome<{ progress: SessionProgress; evaluatorSessionId?: string; result?: { ref: BlobRef; runId: string } }>> {
    const opened = await this.open(cred, 'token');
    if (!opened.ok) return opened;
    let r = await this.evaluator.refreshed(opened.value, fresh);
    if (unchangedFrom !== undefined && JSON.stringify(progressOf(r)) === unchangedFrom && waitMs > 0) {
      await this.nextChange(Math.min(waitMs, MAX_PROGRESS_WAIT_MS));
      const again = await this.open(cred, 'token');
      if (!again.ok) return again;
      r = again.value;
    }
    const progress = progressOf(r);
    if (r.phase === 'running') return ok({ progress, evaluatorSessionId: r.evaluator.sessionId });
    // Done: where the run's result is, for the stream to send it with the end.
    return ok(r.phase === 'done' && r.result && r.runId ? { progress, result: { ref: r.result, runId: r.runId } } : { progress });
  }

  /** Where the latest run's encrypted result is, once the session is `done`; with `runId`, only that run's. */
  async result(cred: SessionCredential, runId?: string): Promise<Outcome<{ ref: BlobRef; runId: string }>> {
    const opened = await this.open(cred, 'token');
    if (!opened.ok) return opened;
    const r = await this.evaluator.refreshed(opened.value);
    if (runId !== undefined && runId !== r.runId) {
      return fail(409, 'run_superseded', 'That run is not the session\u2019s latest; its result is gone.', {
        details: { runId: r.runId ?? null },
      });
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
    // Not while a run is being handed over (its outcome decides the record).
    await this.evaluator.pollFromAlarm(stored);
    const latest = await this.load();
    if (latest) await this.scheduleAlarm(latest);
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
      ...(r.upload ? { openUploads: [{ r2Key: r.upload.r2Key, r2UploadId: r.upload.r2UploadId }] } : {}),
    };
    // Tombstone first: from here on nothing can use the session, even if cleanup below fails.
    await this.save(tombstone);
    if (r.slots) await releaseSlots(this.env, r.sessionId, r.slots);
    await this.scheduleAlarm(tombstone);
    await this.deleteBlobs(tombstone).catch(() => undefined); // the alarm retries
    await this.scheduleAlarm(tombstone);
    // The evaluator's copy would also lapse at its own TTL, which ends with the session's.
    await this.evaluator.removeRemote(r);
    return tombstone;
  }

  private async deleteBlobs(tombstone: Tombstone): Promise<void> {
    // An unfinished upload's parts are not objects a prefix sweep finds: abort it (once, best
    // effort: an upload R2 no longer knows fails to abort, and R2 expires abandoned ones itself).
    for (const u of tombstone.openUploads ?? []) await this.abortMultipart(u);
    delete tombstone.openUploads;
    await deletePrefix(this.env.BLOBS, blobKeys.prefix(tombstone.sessionId));
    tombstone.blobsDeleted = true;
    await this.ctx.storage.put(STORAGE_KEY, tombstone);
  }
}
