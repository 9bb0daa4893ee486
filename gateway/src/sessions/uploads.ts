/**
 * Resumable server-key uploads (R2 multipart through the gateway): the record a session keeps of
 * its one unfinished upload, and the pure rules over it. No I/O here.
 *
 * Parts go in order: part n is accepted only once parts 1..n-1 are stored, and each has the one
 * size the announced total implies (every part but the last exactly `partSize`). So the stored
 * parts are always a prefix of the key, a resumed upload re-sends at most the part that was in
 * flight, and part 1 (which holds the key's whole header) is checked before anything else is kept.
 */
import { SERVER_KEY_UPLOAD, type ServerKeyUpload, type UploadedPart } from '../../../protocol/public-api.ts';
import { fail, ok, type Outcome } from './outcome.ts';

export interface StoredPart extends UploadedPart {
  /** R2's etag of the part, needed to complete the upload. */
  etag: string;
}

export interface KeyUpload {
  uploadId: string;
  /** The R2 object the upload completes into, and R2's id of the multipart upload. */
  r2Key: string;
  r2UploadId: string;
  size: number;
  sha256: string;
  partSize: number;
  partCount: number;
  parts: StoredPart[];
}

/** An R2 multipart upload to abort (an abandoned or replaced one). */
export interface OpenMultipart {
  r2Key: string;
  r2UploadId: string;
}

export function partCountOf(size: number, partSize: number = SERVER_KEY_UPLOAD.partSize): number {
  return Math.ceil(size / partSize);
}

/** The size part `n` must have. */
export function expectedPartSize(u: Pick<KeyUpload, 'size' | 'partSize' | 'partCount'>, n: number): number {
  return n < u.partCount ? u.partSize : u.size - (u.partCount - 1) * u.partSize;
}

/** The upload as the API shows it (etags stay inside). */
export function uploadView(u: KeyUpload): ServerKeyUpload {
  return {
    uploadId: u.uploadId,
    size: u.size,
    sha256: u.sha256,
    partSize: u.partSize,
    partCount: u.partCount,
    parts: u.parts.map(({ partNumber, size }) => ({ partNumber, size })),
  };
}

/**
 * Whether part `n` of `length` bytes may be stored now: in range, the next one in order, not
 * already stored, of the size the total implies.
 */
export function checkPart(u: KeyUpload, n: number, length: number): Outcome<{ expectedSize: number }> {
  if (!Number.isSafeInteger(n) || n < 1 || n > u.partCount) {
    return fail(400, 'invalid_part_number', `Parts are numbered 1 to ${u.partCount}.`, { details: { partCount: u.partCount } });
  }
  const stored = u.parts.find((p) => p.partNumber === n);
  if (stored) {
    return fail(409, 'part_exists', `Part ${n} is already stored.`, { details: { partNumber: n, size: stored.size } });
  }
  const next = u.parts.length + 1;
  if (n !== next) {
    return fail(409, 'part_out_of_order', `Send part ${next} first: parts are stored in order.`, { details: { nextPart: next } });
  }
  const expectedSize = expectedPartSize(u, n);
  if (length !== expectedSize) {
    return fail(400, 'invalid_part_size', `Part ${n} must be exactly ${expectedSize} bytes.`, {
      details: { partNumber: n, expected: expectedSize, received: length },
    });
  }
  return ok({ expectedSize });
}

/** The parts complete still lacks. */
export function missingParts(u: KeyUpload): number[] {
  const have = new Set(u.parts.map((p) => p.partNumber));
  return Array.from({ length: u.partCount }, (_, i) => i + 1).filter((n) => !have.has(n));
}
