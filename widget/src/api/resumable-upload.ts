/**
 * The evaluation key's resumable upload (R2 multipart through the gateway): start or find the
 * upload of this exact key (size + SHA-256), send the parts the gateway does not hold yet, in
 * order, then complete. A part that fails on the network or with 429/5xx is retried with backoff
 * and jitter (`retry.ts`, honouring `Retry-After`, waking early on `online` or a network change);
 * before a retry the client asks the gateway which parts it holds, so a part that landed while
 * its answer was lost is not sent again: a dropped connection costs at most the part in flight.
 * A page reload resumes too: the start call answers the unfinished upload of the same key.
 */
import { BlindScoreError } from '../errors.ts';
import type { GatewayClient, SessionHandle } from './gateway-client.ts';
import { isOffline, isTransient, retryDelayMs, waitForNetwork, type RetryPolicy } from './retry.ts';

/**
 * Parts are worth more patience than a JSON call: about a minute of backoff rides out a gateway
 * restart or a train tunnel (offline time does not count), then the error goes to the check.
 */
export const PART_RETRY: RetryPolicy = { attempts: 10, baseDelayMs: 500, maxDelayMs: 10_000, maxRetryAfterMs: 60_000 };
import type { ServerKeyEvaluatorState, ServerKeyUpload } from '../../../protocol/public-api.ts';

/** The gateway calls the upload makes (a {@link GatewayClient} has them). */
export type UploadTransport = Pick<
  GatewayClient,
  'startServerKeyUpload' | 'serverKeyUpload' | 'uploadServerKeyPart' | 'completeServerKeyUpload'
>;

export interface ResumableUploadOptions {
  transport: UploadTransport;
  session: SessionHandle;
  bytes: Uint8Array;
  /** Lowercase hex SHA-256 of `bytes`. */
  sha256: string;
  /** Bytes the gateway holds, counting the part in flight as far as it got. */
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
  retry?: RetryPolicy;
}

export interface ResumableUploadReport {
  /** Parts sent (retries included); parts the gateway already held are not counted. */
  partsSent: number;
  /** Part numbers sent more than once. */
  partsResent: number[];
  /** Whether the gateway already held the whole key (`server_key_exists`). */
  alreadyAccepted: boolean;
  /** Where the evaluator is with the key, as `complete` said (absent when the key was already there). */
  evaluator?: ServerKeyEvaluatorState | undefined;
}

/** The byte range of part `n` (1-based) of an upload. */
export function partRange(upload: Pick<ServerKeyUpload, 'partSize' | 'partCount'>, n: number, total: number): [number, number] {
  const start = (n - 1) * upload.partSize;
  return [start, n === upload.partCount ? total : Math.min(total, start + upload.partSize)];
}

export async function uploadResumable(o: ResumableUploadOptions): Promise<ResumableUploadReport> {
  const { transport, session, bytes, signal } = o;
  const policy = o.retry ?? PART_RETRY;
  const total = bytes.byteLength;
  const report: ResumableUploadReport = { partsSent: 0, partsResent: [], alreadyAccepted: false };
  const sentOnce = new Set<number>();

  let upload: ServerKeyUpload;
  try {
    upload = await transport.startServerKeyUpload(session, { size: total, sha256: o.sha256 }, signal);
  } catch (e) {
    // The session holds this key already (an earlier attempt completed it): nothing to send.
    if (e instanceof BlindScoreError && e.code === 'server_key_exists') {
      report.alreadyAccepted = true;
      o.onProgress?.(total, total);
      return report;
    }
    throw e;
  }
  if (upload.partCount !== Math.ceil(total / upload.partSize)) {
    throw new BlindScoreError(
      'bad_response',
      `the gateway planned ${upload.partCount} parts of ${upload.partSize} bytes for ${total} bytes`,
    );
  }

  const stored = new Map<number, number>();
  const learn = (u: ServerKeyUpload) => {
    stored.clear();
    for (const p of u.parts) stored.set(p.partNumber, p.size);
  };
  const storedBytes = () => [...stored.values()].reduce((a, b) => a + b, 0);
  learn(upload);
  o.onProgress?.(storedBytes(), total);

  for (let round = 0; ; round++) {
    for (let n = 1; n <= upload.partCount; n++) {
      if (stored.has(n)) continue;
      await sendPart(n);
    }
    try {
      const status = await transport.completeServerKeyUpload(session, upload.uploadId, signal);
      report.evaluator = status.serverKey.evaluator;
      o.onProgress?.(total, total);
      return report;
    } catch (e) {
      // Parts the gateway lost (or never had): ask which, and send those once more.
      if (!(e instanceof BlindScoreError && e.code === 'upload_incomplete') || round >= 1) throw e;
      learn(await transport.serverKeyUpload(session, upload.uploadId, signal));
    }
  }

  async function sendPart(n: number): Promise<void> {
    const [start, end] = partRange(upload, n, total);
    for (let retry = 1; ; retry++) {
      if (sentOnce.has(n) && !report.partsResent.includes(n)) report.partsResent.push(n);
      sentOnce.add(n);
      report.partsSent++;
      const before = storedBytes();
      try {
        await transport.uploadServerKeyPart(
          session,
          upload.uploadId,
          n,
          bytes.subarray(start, end),
          (sent) => o.onProgress?.(before + sent, total),
          signal,
        );
        stored.set(n, end - start);
        return;
      } catch (e) {
        if (signal?.aborted) throw new BlindScoreError('cancelled', 'cancelled');
        if (e instanceof BlindScoreError && e.code === 'part_exists') {
          stored.set(n, end - start);
          return;
        }
        const delay = retryDelayMs(e, retry, policy);
        if (delay === null) throw e;
        const offline = isOffline();
        await waitForNetwork(delay, signal);
        if (offline) retry--;
        // The part may have landed with its answer lost: the gateway says what it holds. If it
        // cannot say yet, the next PUT finds out (`part_exists`).
        try {
          learn(await transport.serverKeyUpload(session, upload.uploadId, signal));
          o.onProgress?.(storedBytes(), total);
          if (stored.has(n)) return;
        } catch (e2) {
          if (!isTransient(e2)) throw e2;
        }
      }
    }
  }
}
