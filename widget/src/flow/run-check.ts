/**
 * One eligibility check, end to end: keys in the worker, a gateway session, the public and
 * server key uploads, each party's encrypted answers, the run and its progress stream, and the decrypted
 * decision. The element drives it and renders what it reports; this module has no UI.
 */
import type { Party } from '../../../protocol/ciphertexts.ts';
import type { SessionProgress } from '../../../protocol/public-api.ts';
import type { Manifest } from '../../../model/manifest.ts';
import type { GatewayClient, SessionHandle } from '../api/gateway-client.ts';
import type { CryptoWorkerController } from '../crypto/crypto-worker-controller.ts';
import type { KeygenResult } from '../crypto/worker-protocol.ts';
import { DevWarning, warnOnce } from '../dev-warnings.ts';
import { BlindScoreError } from '../errors.ts';
import type { BlindScoreDecisionDetail, BlindScoreProgressDetail, BlindScoreSessionDetail } from '../events.ts';
import { SessionStage } from '../session-stage.ts';
import { interpretResult } from './decision.ts';

export type Answers = Partial<Record<Party, Record<string, boolean | number | string>>>;

export interface CheckOptions {
  client: GatewayClient;
  crypto: CryptoWorkerController;
  manifest: Manifest;
  /** The answers this page encrypts: the applicant's, plus the bank's and bureau's in demo mode. */
  answers: Answers;
  /** IndexedDB name for cached keys, or `null` to keep keys in memory only. */
  cacheName: string | null;
  /** Keys from an earlier attempt with the same worker, to skip key generation on a retry. */
  keys?: KeygenResult | undefined;
  signal: AbortSignal;
  onProgress: (detail: BlindScoreProgressDetail) => void;
  onKeys?: (keys: KeygenResult) => void;
  onSession?: (detail: BlindScoreSessionDetail) => void;
  /**
   * A session whose key and answers were all uploaded by an earlier attempt that then failed
   * retriably: the check resumes at the run, uploading nothing again.
   */
  resume?: SessionHandle | undefined;
  /** Called once every upload of a fresh session is accepted: the session a retry may resume. */
  onUploaded?: (session: SessionHandle) => void;
}

/** Progress streams may drop (proxies, sleep); each reconnect gets the current state first. */
const MAX_STREAM_RECONNECTS = 5;

export async function runCheck(o: CheckOptions): Promise<BlindScoreDecisionDetail> {
  const { client, crypto, manifest, signal } = o;
  const checkAborted = () => {
    if (signal.aborted) throw new BlindScoreError('cancelled', 'cancelled');
  };

  if (o.resume) {
    const session = o.resume;
    try {
      return await runAndDecrypt(o, session);
    } catch (e) {
      if (!isRetriable(e)) client.deleteSession(session).catch(() => undefined);
      throw e;
    }
  }

  o.onProgress({ stage: SessionStage.Keygen, fraction: null });
  const keys =
    o.keys ??
    (await crypto.request({ type: 'keygen', paramSet: manifest.parameterSet.id, cacheName: o.cacheName }));
  if (keys.cacheWarning) warnOnce(DevWarning.KeyCacheFailed, `cache-keys: ${keys.cacheWarning}; the keys work, the next visit generates new ones`);
  o.onKeys?.(keys);
  o.onProgress({ stage: SessionStage.Keygen, fraction: 1 });
  checkAborted();

  const created = await client.createSession({ modelVersion: manifest.modelVersion }, signal);
  const session: SessionHandle = { sessionId: created.sessionId, token: created.token };
  let uploaded = false;
  try {
    o.onSession?.({ sessionId: session.sessionId, missingParties: created.status.parties.missing });
    await uploadAll(o, session, keys);
    uploaded = true;
    o.onUploaded?.(session);
    return await runAndDecrypt(o, session);
  } catch (e) {
    // A retriable failure after every upload keeps the session for a retry that only re-runs it
    // (the gateway keeps the key and answers); otherwise forget its keys and ciphertexts now
    // rather than at the TTL.
    if (!(uploaded && isRetriable(e))) client.deleteSession(session).catch(() => undefined);
    throw e;
  }
}

function isRetriable(e: unknown): boolean {
  return e instanceof BlindScoreError && e.retriable;
}

/**
 * Uploads the compact public key (first: the bank's and bureau's backends start as soon as it
 * lands), the server key, and this page's encrypted answers, then waits for the other parties.
 * Both keys report progress as one upload of their summed bytes.
 */
async function uploadAll(o: CheckOptions, session: SessionHandle, keys: KeygenResult): Promise<void> {
  const { client, crypto, manifest, signal } = o;
  const publicBytes = keys.publicKey.byteLength;
  const total = publicBytes + keys.serverKey.byteLength;
  const report = (sent: number) =>
    o.onProgress({ stage: SessionStage.Uploading, fraction: total > 0 ? sent / total : 0, bytesSent: sent, bytesTotal: total });
  report(0);
  await client.uploadPublicKey(session, keys.publicKey, (sent) => report(Math.min(sent, publicBytes)), signal);
  await client.uploadServerKey(session, keys.serverKey, (sent) => report(publicBytes + Math.min(sent, total - publicBytes)), signal);
  report(total);

  const parties = (Object.keys(o.answers) as Party[]).filter((p) => o.answers[p] !== undefined);
  let missing: Party[] = [];
  for (const [i, party] of parties.entries()) {
    o.onProgress({ stage: SessionStage.Encrypting, fraction: i / parties.length });
    const inputs = await crypto.request({
      type: 'encrypt',
      modelVersion: manifest.modelVersion,
      party,
      inputs: manifest.inputs,
      features: o.answers[party]!,
    });
    missing = (await client.uploadInputs(session, inputs, signal)).missing;
  }
  o.onProgress({ stage: SessionStage.Encrypting, fraction: 1 });

  if (missing.length > 0) {
    o.onProgress({ stage: SessionStage.WaitingForParties, fraction: null });
    const ready = await follow(o, session, (u) => u.state !== 'created' && u.state !== 'keys', () => undefined);
    if (ready.state === 'failed') throw runFailure(ready);
  }
  o.onProgress({ stage: SessionStage.WaitingForParties, fraction: 1 });
}

/** Starts (or, after a retriable failure, restarts) the run, follows it and decrypts the result. */
async function runAndDecrypt(o: CheckOptions, session: SessionHandle): Promise<BlindScoreDecisionDetail> {
  const { client, crypto, manifest, signal } = o;
  o.onProgress({ stage: SessionStage.Running, fraction: 0 });
  await client.run(session, signal);
  const final = await follow(
    o,
    session,
    (u) => u.state === 'done' || u.state === 'failed',
    (u) =>
      o.onProgress({
        stage: SessionStage.Running,
        fraction: u.run.fraction,
        ...(u.run.queuePosition === undefined ? {} : { queuePosition: u.run.queuePosition }),
      }),
  );
  if (final.state === 'failed') throw runFailure(final);
  o.onProgress({ stage: SessionStage.Running, fraction: 1 });

  o.onProgress({ stage: SessionStage.Decrypting, fraction: null });
  const encrypted = await client.result(session, signal);
  if (encrypted.modelVersion !== manifest.modelVersion) {
    throw new BlindScoreError('model_version_mismatch', 'the result was computed by another model version');
  }
  const decrypted = await crypto.request({ type: 'decrypt', result: encrypted });
  const decision = interpretResult(
    decrypted,
    encrypted.modelVersion,
    manifest.explanation.bins.map((b) => b.label),
  );
  o.onProgress({ stage: SessionStage.Decrypting, fraction: 1 });
  client.deleteSession(session).catch(() => undefined);
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
): Promise<SessionProgress> {
  for (let attempt = 0; attempt <= MAX_STREAM_RECONNECTS; attempt++) {
    const found = await o.client.followProgress(session, onUpdate, until, o.signal);
    if (found) return found;
  }
  throw new BlindScoreError('stream_ended', 'the progress stream kept closing before the run ended', true);
}
