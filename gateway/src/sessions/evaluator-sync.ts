/**
 * The session object's side of the evaluator: hands a session over (syncing what the evaluator
 * lacks from R2, then starting the run), polls a running session, and collects the result. The
 * record changes only through the transitions of `evaluator-state.ts`; this module makes the
 * calls between them and keeps them from overlapping:
 *
 * - one hand-over at a time (`handingOver`): concurrent `run` calls share it, and no poll runs
 *   meanwhile (its outcome decides the record; a poll finishing after it, or seeing the
 *   evaluator before the hand-over, would overwrite it);
 * - one sync at a time (`syncing`): an eager preparation and a run's sync never interleave their
 *   uploads;
 * - one poll at a time (`polling`), shared by concurrent readers, and none within
 *   {@link REFRESH_MIN_MS} of the last unless asked for fresh news.
 */
import { EncryptedResult } from '../../../protocol/ciphertexts.ts';
import { ApiError } from '../../../protocol/errors.ts';
import type { SessionStatus } from '../../../protocol/public-api.ts';
import { blobKeys, openBlob, putBytes, readBlobText, utf8, type BlobRef } from '../blobs.ts';
import { newSessionId } from '../crypto/tokens.ts';
import type { Bindings } from '../env.ts';
import { EvaluatorClient, type EvaluatorSessionStatus } from '../evaluator/client.ts';
import { EvaluatorFailure } from '../evaluator/failures.ts';
import {
  attemptAnswer,
  beginAttempt,
  evaluatorSessionCreated,
  evaluatorSessionStep,
  evaluatorTouched,
  expectEmptyEvaluatorSession,
  inputsForwarded,
  inputsToForward,
  keyExpansionObserved,
  modelMismatch,
  pollAnswered,
  pollFailed,
  refusedKeyAgain,
  resultRefused,
  runAnswered,
  runFailed,
  runSucceeded,
  serverKeyForwardFailed,
  serverKeyForwarded,
  serverKeyStep,
  type RunNext,
} from './evaluator-state.ts';
import { failureOf, type Failure, type Outcome } from './outcome.ts';
import { markFailed, runsExhausted, type SessionRecord, type StoredSession } from './record.ts';
import { PublicApiError } from '../../../protocol/public-api.ts';

/** Fresh enough: status reads within this window reuse the last poll. */
const REFRESH_MIN_MS = 200;
/** How often a status read may ask the evaluator whether the key is expanded yet. */
const KEY_CHECK_MS = 500;

/** What the session object lends the sync: its record's storage and its alarm. */
export interface SyncHost {
  readonly env: Bindings;
  load(): Promise<StoredSession | undefined>;
  /** Saves the record and wakes the progress streams (ignored once the session is deleted). */
  save(r: StoredSession): Promise<void>;
  scheduleAlarm(r: StoredSession): Promise<void>;
  /** Whether the session was deleted or expired (its record is a tombstone). */
  ended(): boolean;
}

export class EvaluatorSync {
  /** The hand-over in flight (its sync and the start of its run), shared by concurrent `run` calls. */
  private handOver: Promise<Outcome<SessionStatus>> | undefined;
  /** The one evaluator sync in flight (eager preparation or a run's); syncs never overlap. */
  private syncing: Promise<unknown> = Promise.resolve();
  /** The one poll in flight, shared by concurrent readers. */
  private polling: Promise<void> | undefined;
  private lastPoll = 0;
  private lastKeyCheck = 0;

  constructor(private readonly host: SyncHost) {}

  /** Whether a run is being handed over now. */
  get handingOver(): boolean {
    return this.handOver !== undefined;
  }

  /** A client for the evaluator's copy of the session. */
  client(r: SessionRecord): EvaluatorClient {
    return new EvaluatorClient(this.host.env, r.sessionId, r.evaluator.sessionId);
  }

  /**
   * Hands the evaluator what the session holds (server key, inputs so far) ahead of the run.
   * Best effort: a failure here is retried by the run itself.
   */
  async prepare(r: SessionRecord): Promise<void> {
    if (r.phase === 'running' || !r.serverKey || this.handOver) return;
    await this.exclusiveSync(r).catch(() => undefined);
  }

  /** Hands the run over (or joins the hand-over in flight) and answers its outcome. */
  start(r: SessionRecord): Promise<Outcome<SessionStatus>> {
    if (!this.handOver) {
      this.handOver = this.submit(r).finally(() => {
        this.handOver = undefined;
      });
    }
    return this.handOver;
  }

  /** The record, refreshed from the evaluator when running and not polled very recently (`fresh`: even then). */
  async refreshed(r: SessionRecord, fresh = false): Promise<SessionRecord> {
    if (fresh) this.lastPoll = 0;
    if (r.phase === 'running' && !this.handOver && Date.now() - this.lastPoll >= REFRESH_MIN_MS) await this.poll(r, false);
    const latest = await this.host.load();
    return latest?.kind === 'session' ? latest : r;
  }

  /** The alarm's poll of a running session; its failures count towards marking the run failed. */
  async pollFromAlarm(r: SessionRecord): Promise<void> {
    if (r.phase === 'running' && !this.handOver) await this.poll(r, true);
  }

  /** While the evaluator expands the key, asks it (at most every {@link KEY_CHECK_MS}) whether it is done. */
  async refreshKeyState(r: SessionRecord): Promise<void> {
    if (r.serverKeyEvaluator !== 'expanding' || r.phase === 'running' || Date.now() - this.lastKeyCheck < KEY_CHECK_MS) return;
    this.lastKeyCheck = Date.now();
    const remote = await this.client(r)
      .status()
      .catch(() => undefined);
    if (keyExpansionObserved(r, remote)) await this.host.save(r);
  }

  /** Deletes the evaluator's copy, if it may have one (best effort: it lapses at its own TTL). */
  async removeRemote(r: SessionRecord): Promise<void> {
    if (evaluatorTouched(r))
      await this.client(r)
        .remove()
        .catch(() => undefined);
  }

  /** Hands the session to the evaluator: sync what it lacks, then start the run. */
  private async submit(r: SessionRecord): Promise<Outcome<SessionStatus>> {
    beginAttempt(r);
    await this.host.save(r);
    await this.host.scheduleAlarm(r);
    try {
      const ev = await this.exclusiveSync(r);
      const next = runAnswered(r, await ev.run());
      await this.host.save(r);
      await this.follow(r, ev, next);
      return attemptAnswer(await this.host.load(), r);
    } catch (error) {
      const failure = failureFrom(error);
      markFailed(r, failure);
      await this.host.save(r);
      await this.host.scheduleAlarm(r);
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
    let ev = this.client(r);
    const found = await ev.status();
    const step = evaluatorSessionStep(r, found);
    let remote: EvaluatorSessionStatus;
    if (step === 'reuse' && typeof found === 'object') remote = found;
    else {
      if (step === 'replace') await ev.remove();
      if (step === 'replace' || step === 'renew') {
        expectEmptyEvaluatorSession(r, newSessionId());
        ev = this.client(r);
      }
      expectEmptyEvaluatorSession(r);
      const ttlSeconds = Math.min(24 * 3600, Math.max(10, Math.ceil((r.expiresAt - Date.now()) / 1000)));
      remote = await ev.create({ modelVersion: r.modelVersion, ttlSeconds });
      evaluatorSessionCreated(r);
      await this.host.save(r);
    }
    const mismatch = modelMismatch(r, remote);
    if (mismatch) throw new EvaluatorFailure(mismatch);
    const keyStep = serverKeyStep(r, remote);
    if (keyStep === 'refused') throw new EvaluatorFailure(refusedKeyAgain());
    if (keyStep === 'send') {
      const key = r.serverKey!;
      const body = await openBlob(this.host.env.BLOBS, key);
      if (!body) throw new PublicApiError(500, 'internal', 'The stored server key is missing.');
      await this.forwardServerKey(r, ev, body, key);
    }
    for (const party of r.parties) {
      const ref = inputsToForward(r, remote, party);
      if (!ref) continue;
      const json = await readBlobText(this.host.env.BLOBS, ref);
      if (json === undefined) throw new PublicApiError(500, 'internal', `The stored ${party} inputs are missing.`);
      await ev.putInputs(party, json, ref.sha256);
      inputsForwarded(r, party, ref.sha256);
      await this.host.save(r);
    }
    return ev;
  }

  /** Streams the stored key to the evaluator; a refusal is read from its status when it cut the upload short. */
  private async forwardServerKey(r: SessionRecord, ev: EvaluatorClient, body: ReadableStream<Uint8Array>, key: BlobRef): Promise<void> {
    try {
      await ev.putServerKey(body, key.bytes, key.sha256);
    } catch (error) {
      const failure = failureFrom(error);
      const after = failure.retriable ? await ev.status().catch(() => undefined) : undefined;
      const refused = typeof after === 'object' ? after.serverKey.refused : undefined;
      const outcome = serverKeyForwardFailed(r, failure, refused);
      if (outcome.changed) await this.host.save(r);
      throw new EvaluatorFailure(outcome.failure);
    }
    serverKeyForwarded(r, key.sha256);
    await this.host.save(r);
  }

  /** Polls the evaluator once (shared between concurrent callers). */
  private async poll(r: SessionRecord, fromAlarm: boolean): Promise<void> {
    if (!this.polling) {
      this.polling = this.pollOnce(r, fromAlarm).finally(() => {
        this.polling = undefined;
      });
    }
    await this.polling;
  }

  private async pollOnce(r: SessionRecord, fromAlarm: boolean): Promise<void> {
    this.lastPoll = Date.now();
    const ev = this.client(r);
    try {
      const next = pollAnswered(r, await ev.status());
      await this.host.save(r);
      await this.follow(r, ev, next);
    } catch (error) {
      // A status read between alarms may fail transiently; only the alarm's polls count.
      if (!fromAlarm) return;
      pollFailed(r, failureFrom(error));
      await this.host.save(r);
    }
  }

  /** Acts on a run's end: collects the result or records the failure. */
  private async follow(r: SessionRecord, ev: EvaluatorClient, next: RunNext): Promise<void> {
    if (next === 'collect') await this.collect(r, ev);
    else if (next === 'failure') {
      runFailed(r);
      await this.host.save(r);
    }
  }

  /** Copies the result to R2, marks the session done and frees the evaluator. */
  private async collect(r: SessionRecord, ev: EvaluatorClient): Promise<void> {
    const result = await ev.result();
    if (result.modelVersion !== r.modelVersion) {
      resultRefused(r);
      await this.host.save(r);
      return;
    }
    const bytes = utf8(JSON.stringify(EncryptedResult.parse(result)));
    const ref = await putBytes(this.host.env.BLOBS, blobKeys.result(r.sessionId), bytes, 'application/json');
    if (this.host.ended()) {
      await this.host.env.BLOBS.delete(ref.key); // deleted meanwhile: keep nothing
      return;
    }
    runSucceeded(r, ref);
    await this.host.save(r);
    // The evaluator keeps the expanded key for the next run, unless there can be none.
    if (runsExhausted(r)) await ev.remove().catch(() => undefined);
  }
}

function failureFrom(error: unknown): Failure {
  if (error instanceof EvaluatorFailure) return error.failure;
  if (error instanceof ApiError) return failureOf(error);
  console.error('session run failed:', error instanceof Error ? error.name : typeof error);
  return { status: 500, code: 'internal', message: 'The gateway failed while handing the run over; retry.', retriable: true };
}
