/**
 * One eligibility check on a prepared session (`prepare-session.ts`): each party's answers
 * encrypted in the worker and uploaded, the run and its progress stream, and the decrypted
 * decision. The session stays open afterwards: a re-check with changed answers uploads only the
 * new inputs and runs again. The element drives it and renders what it reports; no UI here.
 */
import type { Party, PartyInputs } from '../../../protocol/ciphertexts.ts';
import type { ResultResponse, SessionProgress } from '../../../protocol/public-api.ts';
import type { Manifest } from '../../../model/manifest.ts';
import type { GatewayClient, SessionHandle } from '../api/gateway-client.ts';
import type { CryptoWorkerController } from '../crypto/crypto-worker-controller.ts';
import type { DecryptResult } from '../crypto/worker-protocol.ts';
import { BlindScoreError } from '../errors.ts';
import type { BlindScoreDecisionDetail, StageProgress } from '../events.ts';
import { SessionStage } from '../session-stage.ts';
import { interpretResult } from './decision.ts';
import { partyUploadsSettled, uploadPartyInputs } from './party-uploads.ts';
import type { PreparedSession } from './prepare-session.ts';

export type Answers = Partial<Record<Party, Record<string, boolean | number | string>>>;

export interface CheckOptions {
  client: GatewayClient;
  crypto: CryptoWorkerController;
  manifest: Manifest;
  prepared: PreparedSession;
  /**
   * The answers this page encrypts: the applicant's, plus the bank's and bureau's in demo mode.
   * `null` re-runs the inputs the session holds (a retry after a retriable run failure).
   */
  answers: Answers | null;
  signal: AbortSignal;
  /**
   * The ciphertexts of a party's answers when the worker already made them while the applicant
   * typed (exactly these answers, under this session's keys), else `undefined`.
   */
  encrypted?: (party: Party, features: Record<string, boolean | number | string>) => Promise<PartyInputs> | undefined;
  onProgress: (detail: StageProgress) => void;
  /**
   * Applicant mode: how long to wait for the bank's and the bureau's backends to upload before
   * failing with the retriable `parties_timeout`.
   */
  partiesTimeoutMs?: number;
  /** Called once every input of this check is accepted: a retry may then only re-run. */
  onUploaded?: () => void;
}

/** Progress streams may drop (proxies, sleep); each reconnect gets the current state first. */
const MAX_STREAM_RECONNECTS = 5;

export async function runCheck(o: CheckOptions): Promise<BlindScoreDecisionDetail> {
  if (o.answers) await uploadAnswers(o, o.answers);
  o.onUploaded?.();
  return runAndDecrypt(o, o.prepared.session);
}

/**
 * Encrypts and uploads each party's answers (all requested from the worker at once, each
 * uploaded as soon as it is encrypted), then waits for the parties this page does not encrypt.
 */
async function uploadAnswers(o: CheckOptions, answers: Answers): Promise<void> {
  const { client, crypto, manifest, signal, prepared } = o;
  const session = prepared.session;
  const given = (Object.keys(answers) as Party[]).filter((p) => answers[p] !== undefined);
  // An upload made ahead of the click (demo mode) may still be under way: its outcome decides.
  await Promise.all(given.map((p) => partyUploadsSettled(prepared, p)));
  // The session keeps each party's last inputs: send only the parties whose answers changed.
  const parties = given.filter((p) => prepared.uploaded.get(p) !== JSON.stringify(answers[p]));
  let encrypted = 0;
  o.onProgress({ stage: SessionStage.Encrypting, fraction: 0 });
  const accepted = await Promise.all(
    parties.map(async (party) => {
      const inputs = await (o.encrypted?.(party, answers[party]!) ??
        crypto.request({
          type: 'encrypt',
          modelVersion: manifest.modelVersion,
          party,
          inputs: manifest.inputs,
          features: answers[party]!,
        }));
      o.onProgress({ stage: SessionStage.Encrypting, fraction: ++encrypted / (parties.length + 1) });
      return uploadPartyInputs(client, prepared, party, JSON.stringify(answers[party]), inputs, signal);
    }),
  );
  o.onProgress({ stage: SessionStage.Encrypting, fraction: 1 });

  // The last answer to arrive knows who is still missing. With nothing uploaded this time (a
  // retry after the parties timed out, or unchanged answers), only the session's state knows.
  const missing = accepted.reduce<Party[]>((m, a) => (a.missing.length < m.length ? a.missing : m), accepted[0]?.missing ?? []);
  if (missing.length > 0 || accepted.length === 0) {
    o.onProgress({ stage: SessionStage.WaitingForParties, fraction: null });
    const ready = await waitForParties(o, session);
    if (ready.state === 'failed') throw runFailure(ready);
  }
  o.onProgress({ stage: SessionStage.WaitingForParties, fraction: 1 });
}

/** Follows the session until every party's inputs are in, for at most `partiesTimeoutMs`. */
async function waitForParties(o: CheckOptions, session: SessionHandle): Promise<SessionProgress> {
  const timeout = o.partiesTimeoutMs === undefined ? undefined : AbortSignal.timeout(o.partiesTimeoutMs);
  const signal = timeout ? AbortSignal.any([o.signal, timeout]) : o.signal;
  try {
    return await follow(
      { ...o, signal },
      session,
      (u) => u.state !== 'created' && u.state !== 'keys',
      () => undefined,
    );
  } catch (e) {
    if (timeout?.aborted && !o.signal.aborted) {
      const seconds = Math.round(o.partiesTimeoutMs! / 1000);
      throw new BlindScoreError('parties_timeout', `the bank's and the credit bureau's inputs did not arrive within ${seconds} s`, true);
    }
    throw e;
  }
}

/**
 * Starts (or, after a retriable failure, restarts) the run and follows it in one request (the
 * run's answer is its progress stream), then decrypts the result the stream carries.
 */
async function runAndDecrypt(o: CheckOptions, session: SessionHandle): Promise<BlindScoreDecisionDetail> {
  const { client, crypto, manifest, signal } = o;
  o.onProgress({ stage: SessionStage.Running, fraction: 0 });
  // The stream sends the run's result before its `done`: no request after the run ends, and the
  // worker decrypts it while the gateway finishes storing it.
  let streamed: { result: ResultResponse; decrypted: Promise<DecryptResult> } | undefined;
  let runId: string | undefined;
  // Events of an earlier run (a reconnected stream opens with the current state) are not this run's end.
  const ended = (u: SessionProgress) => u.runId === runId && (u.state === 'done' || u.state === 'failed');
  const onUpdate = (u: SessionProgress) =>
    o.onProgress({
      stage: SessionStage.Running,
      fraction: u.run.fraction,
      ...(u.run.queuePosition === undefined ? {} : { queuePosition: u.run.queuePosition }),
    });
  const onResult = (r: ResultResponse) => {
    if (r.runId !== runId || streamed) return;
    const { runId: _, ...encrypted } = r;
    const decrypted = crypto.request({ type: 'decrypt', result: encrypted });
    decrypted.catch(() => undefined); // awaited once the run is known done; unused if it failed
    streamed = { result: r, decrypted };
  };
  const started = await client.runAndFollow(
    session,
    onUpdate,
    (u, id) => {
      runId = id;
      return ended(u);
    },
    signal,
    (r, id) => {
      // A run already done sends its result before any progress event.
      runId ??= id;
      onResult(r);
    },
  );
  runId = started.runId;
  // The stream may drop before the end (or the gateway answered without one): follow the run.
  const final = started.found ?? (await follow(o, session, ended, onUpdate, onResult));
  if (final.state === 'failed') throw runFailure(final);
  o.onProgress({ stage: SessionStage.Running, fraction: 1 });

  o.onProgress({ stage: SessionStage.Decrypting, fraction: null });
  // A gateway that does not stream results (or a stream that dropped before) leaves the request.
  const { runId: resultRunId, ...encrypted } = streamed?.result ?? (await client.result(session, runId, signal));
  if (resultRunId !== runId) throw new BlindScoreError('bad_response', 'the result is of another run');
  if (encrypted.modelVersion !== manifest.modelVersion) {
    throw new BlindScoreError('model_version_mismatch', 'the result was computed by another model version');
  }
  const decrypted = await (streamed?.decrypted ?? crypto.request({ type: 'decrypt', result: encrypted }));
  const decision = interpretResult(
    decrypted,
    encrypted.modelVersion,
    manifest.explanation.bins.map((b) => b.label),
  );
  o.onProgress({ stage: SessionStage.Decrypting, fraction: 1 });
  return decision;
}

function runFailure(update: SessionProgress): BlindScoreError {
  const err = update.run.error;
  return new BlindScoreError(err?.code ?? 'run_failed', err?.message ?? 'the evaluation failed', err?.retriable ?? true);
}

/** Follows the progress stream until `until` holds, reconnecting when the server drops it. */
async function follow(
  o: CheckOptions,
  session: SessionHandle,
  until: (u: SessionProgress) => boolean,
  onUpdate: (u: SessionProgress) => void,
  onResult?: (r: ResultResponse) => void,
): Promise<SessionProgress> {
  for (let attempt = 0; attempt <= MAX_STREAM_RECONNECTS; attempt++) {
    const found = await o.client.followProgress(session, onUpdate, until, o.signal, onResult);
    if (found) return found;
  }
  throw new BlindScoreError('stream_ended', 'the progress stream kept closing before the run ended', true);
}
