/**
 * Everything a check needs that the answers do not: keys in the worker, a gateway session, the
 * compact public key and the evaluation key uploaded (resumably). The element starts it while the
 * applicant fills the form (`prepare`), or at submit; a check then only encrypts and runs.
 * This module has no UI: it reports progress and which stages are done.
 */
import type { Party } from '../../../protocol/ciphertexts.ts';
import type { ServerKeyEvaluatorState } from '../../../protocol/public-api.ts';
import type { Manifest } from '../../../model/manifest.ts';
import type { GatewayClient, SessionHandle } from '../api/gateway-client.ts';
import { uploadResumable } from '../api/resumable-upload.ts';
import type { CryptoWorkerController } from '../crypto/crypto-worker-controller.ts';
import type { KeygenResult } from '../crypto/worker-protocol.ts';
import { DevWarning, warnOnce } from '../dev-warnings.ts';
import { BlindScoreError } from '../errors.ts';
import type { BlindScoreSessionDetail, PreparationStage, StageProgress } from '../events.ts';
import { SessionStage } from '../session-stage.ts';

/** A session ready for checks: its keys are uploaded and accepted. */
export interface PreparedSession {
  session: SessionHandle;
  keys: KeygenResult;
  /** Parties whose inputs the session still needs from their backends (applicant mode). */
  missingParties: Party[];
  /** Where the evaluator was with the key when the upload completed. */
  evaluator: ServerKeyEvaluatorState;
  /** Each party's answers (JSON) whose ciphertexts the session holds: a re-check skips those. */
  uploaded: Map<Party, string>;
  /** Each party's uploads under way, settled (never rejected): see `party-uploads.ts`. */
  pendingUploads: Map<Party, Promise<void>>;
  /** Decisions this session gave so far. */
  decisions: number;
}

export interface PrepareOptions {
  client: GatewayClient;
  crypto: CryptoWorkerController;
  manifest: Manifest;
  /** IndexedDB name for cached keys, or `null` to keep keys in memory only. */
  cacheName: string | null;
  /** Keys the worker still holds from an earlier session: no key generation. */
  keys?: KeygenResult | undefined;
  signal: AbortSignal;
  onProgress: (detail: StageProgress) => void;
  /** Each preparation stage as it finishes. */
  onStageDone?: (stage: PreparationStage) => void;
  onKeys?: (keys: KeygenResult) => void;
  /** The session exists (before any upload): the caller must delete it if it gives up. */
  onSession?: (session: SessionHandle, detail: BlindScoreSessionDetail) => void;
}

export async function prepareSession(o: PrepareOptions): Promise<PreparedSession> {
  const { client, crypto, manifest, signal } = o;
  const checkAborted = () => {
    if (signal.aborted) throw new BlindScoreError('cancelled', 'cancelled');
  };

  o.onProgress({ stage: SessionStage.Keygen, fraction: null });
  // The one place the element asks for keys: the worker makes (or loads) them.
  const keys = o.keys ?? (await crypto.request({ type: 'keygen', paramSet: manifest.parameterSet.id, cacheName: o.cacheName }));
  if (keys.cacheWarning)
    warnOnce(DevWarning.KeyCacheFailed, `cache-keys: ${keys.cacheWarning}; the keys work, the next visit generates new ones`);
  o.onKeys?.(keys);
  o.onProgress({ stage: SessionStage.Keygen, fraction: 1 });
  o.onStageDone?.('keygen');
  checkAborted();

  const created = await client.createSession({ modelVersion: manifest.modelVersion }, signal);
  const session: SessionHandle = { sessionId: created.sessionId, token: created.token };
  o.onSession?.(session, { sessionId: session.sessionId, missingParties: created.status.parties.missing });
  o.onStageDone?.('session');
  checkAborted();

  // The public key first: the bank's and bureau's backends start as soon as it lands. Both keys
  // report as one upload of their summed bytes.
  const publicBytes = keys.publicKey.byteLength;
  const total = publicBytes + keys.serverKey.byteLength;
  const report = (sent: number) =>
    o.onProgress({ stage: SessionStage.Uploading, fraction: total > 0 ? sent / total : 0, bytesSent: sent, bytesTotal: total });
  report(0);
  await client.uploadPublicKey(session, keys.publicKey, (sent) => report(Math.min(sent, publicBytes)), signal);
  o.onStageDone?.('publicKey');
  const upload = await uploadResumable({
    transport: client,
    session,
    bytes: keys.serverKey,
    sha256: keys.serverKeySha256,
    onProgress: (sent) => report(publicBytes + sent),
    signal,
  });
  report(total);
  o.onStageDone?.('serverKey');
  return {
    session,
    keys,
    missingParties: created.status.parties.missing,
    evaluator: upload.evaluator ?? 'pending',
    uploaded: new Map(),
    pendingUploads: new Map(),
    decisions: 0,
  };
}

/**
 * Resolves once the evaluator holds the session's key expanded (`ready`), or refused it
 * (`failed`). Not on a check's path (a run waits for the expansion at the gateway): it tells
 * the host, through `blind-score:prepared`, that the first run will cost its compute only.
 */
export async function watchKeyExpansion(
  client: GatewayClient,
  prepared: PreparedSession,
  signal: AbortSignal,
): Promise<ServerKeyEvaluatorState> {
  if (prepared.evaluator === 'ready' || prepared.evaluator === 'failed') return prepared.evaluator;
  const settled = (s: ServerKeyEvaluatorState) => s === 'ready' || s === 'failed';
  for (let attempt = 0; attempt < 5; attempt++) {
    const found = await client.followProgress(
      prepared.session,
      () => undefined,
      (u) => settled(u.serverKey),
      signal,
    );
    if (found) return found.serverKey;
  }
  throw new BlindScoreError('stream_ended', 'the progress stream kept closing before the key was expanded', true);
}
