/**
 * R2 storage of a session's keys, inputs and result. Large bodies are streamed: the request body
 * flows through a hashing tap into a `FixedLengthStream`, so R2 knows the length up front, the
 * Worker never holds more than a chunk, and a body shorter or longer than declared fails.
 *
 * Layout, one prefix per session so deletion is a prefix sweep:
 * `sessions/<id>/server-key/<upload id>`, `sessions/<id>/public-key/<upload id>`,
 * `sessions/<id>/inputs/<party>/<upload id>`, `sessions/<id>/result`.
 */
import type { Party } from '../../protocol/ciphertexts.ts';
import type { ApiError } from '../../protocol/errors.ts';
import { asWebStream, asWebWritable, digestStream, fixedLengthStream, type R2Bucket, type R2Object } from './platform.ts';
import { bytesToBase64url, bytesToHex, sha256Hex } from '../../protocol/bytes.ts';
import { PublicApiError } from '../../protocol/public-api.ts';

/** A stored blob: where, how long, and the SHA-256 of its bytes. */
export interface BlobRef {
  key: string;
  bytes: number;
  sha256: string;
}

export type KeyKind = 'server-key' | 'public-key';

export const blobKeys = {
  prefix: (sessionId: string) => `sessions/${sessionId}/`,
  /**
   * Every upload is written under a fresh name, so concurrent uploads never overwrite each other
   * and deleting a refused, duplicate or replaced upload can never hit the blob a commit names.
   */
  key: (sessionId: string, kind: KeyKind) => `sessions/${sessionId}/${kind}/${uploadId()}`,
  inputs: (sessionId: string, party: Party) => `sessions/${sessionId}/inputs/${party}/${uploadId()}`,
  result: (sessionId: string) => `sessions/${sessionId}/result`,
};

function uploadId(): string {
  return bytesToBase64url(crypto.getRandomValues(new Uint8Array(12)));
}

function lengthMismatch(length: number): ApiError {
  return new PublicApiError(400, 'invalid_request', `The body did not carry exactly the ${length} bytes its Content-Length declared.`);
}

function hashMismatch(): ApiError {
  return new PublicApiError(400, 'body_hash_mismatch', 'The body does not hash to x-blindscore-content-sha256.');
}

/** A pass-through stream that hashes what flows through it; `digest` settles once it is flushed. */
function hashingTap(): { tap: TransformStream<Uint8Array, Uint8Array>; digest: Promise<ArrayBuffer> } {
  const digest = digestStream('SHA-256');
  const digestWriter = digest.getWriter();
  const tap = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      await digestWriter.write(chunk);
      controller.enqueue(chunk);
    },
    async flush() {
      await digestWriter.close();
    },
  });
  return { tap, digest: digest.digest };
}

/** The SHA-256 (hex) of a whole stream, read a chunk at a time through a digest stream. */
export async function digestHex(body: ReadableStream<Uint8Array>): Promise<string> {
  const digest = digestStream('SHA-256');
  await body.pipeTo(asWebWritable(digest));
  return bytesToHex(await digest.digest);
}

/**
 * The SHA-256 (hex) of exactly `length` bytes of `body`, read a chunk at a time and kept
 * nowhere. Throws 400 `invalid_request` when the body is shorter or longer than `length`.
 */
export async function hashExact(body: ReadableStream<Uint8Array>, length: number): Promise<string> {
  const { tap, digest } = hashingTap();
  const fixed = fixedLengthStream(length);
  const drained = asWebStream(fixed.readable).pipeTo(new WritableStream());
  const [piped] = await Promise.allSettled([body.pipeThrough(tap).pipeTo(asWebWritable(fixed.writable)), drained]);
  if (piped.status === 'rejected') throw lengthMismatch(length);
  return bytesToHex(await digest);
}

/**
 * Streams exactly `length` bytes of `body` into R2 under `key`, hashing them on the way.
 * Throws 400 `invalid_request` when the body is shorter or longer than `length`, and 400
 * `body_hash_mismatch` when `expectedSha256` is given and differs (the object is then removed).
 */
export async function putStreamExact(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  length: number,
  expectedSha256?: string,
): Promise<BlobRef> {
  const { tap, digest } = hashingTap();
  const fixed = fixedLengthStream(length);
  const piping = body.pipeThrough(tap).pipeTo(asWebWritable(fixed.writable));
  const [stored, piped] = await Promise.allSettled([
    bucket.put(key, fixed.readable, { httpMetadata: { contentType: 'application/octet-stream' } }),
    piping,
  ]);
  if (piped.status === 'rejected') {
    // The body ended early, ran long or broke off: R2 stored nothing.
    throw lengthMismatch(length);
  }
  if (stored.status === 'rejected') throw stored.reason;
  const sha256 = bytesToHex(await digest);
  if (expectedSha256 !== undefined && expectedSha256 !== sha256) {
    await bucket.delete(key);
    throw hashMismatch();
  }
  return { key, bytes: length, sha256 };
}

/**
 * Reads a small body of exactly `length` bytes into memory (a body already capped by its
 * declared length), for checks before it is stored. Throws like {@link putStreamExact}: 400
 * `invalid_request` when it ends early or runs past `length`, 400 `body_hash_mismatch`.
 */
export async function readExact(
  body: ReadableStream<Uint8Array>,
  length: number,
  expectedSha256?: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Uint8Array(length);
  const reader = body.getReader();
  let filled = 0;
  let overran = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      overran = filled + value.length > length;
      if (overran) {
        await reader.cancel();
        break;
      }
      out.set(value, filled);
      filled += value.length;
    }
  } catch {
    // A body that breaks off is a short one.
  }
  if (overran || filled !== length) throw lengthMismatch(length);
  if (expectedSha256 !== undefined && expectedSha256 !== (await sha256Hex(out))) throw hashMismatch();
  return out;
}

/** Stores a small body held in memory (party inputs, results). */
export async function putBytes(bucket: R2Bucket, key: string, bytes: Uint8Array<ArrayBuffer>, contentType: string): Promise<BlobRef> {
  const sha256 = await sha256Hex(bytes);
  await bucket.put(key, bytes, { httpMetadata: { contentType } });
  return { key, bytes: bytes.byteLength, sha256 };
}

/** UTF-8 bytes of a text (TextEncoder's bytes always own their buffer; workers-types types them loosely). */
export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;
}

/** Opens a stored blob as a stream; `undefined` if it is gone. */
export async function openBlob(bucket: R2Bucket, ref: BlobRef): Promise<ReadableStream<Uint8Array> | undefined> {
  const object = await bucket.get(ref.key);
  return object ? asWebStream(object.body) : undefined;
}

/** Reads a small stored blob as text; `undefined` if it is gone. */
export async function readBlobText(bucket: R2Bucket, ref: BlobRef): Promise<string | undefined> {
  const object = await bucket.get(ref.key);
  return object ? object.text() : undefined;
}

/** Deletes every object under a prefix, a page (≤ 1000 keys) at a time. */
export async function deletePrefix(bucket: R2Bucket, prefix: string): Promise<void> {
  for (;;) {
    const page = await bucket.list({ prefix, limit: 1000 });
    if (page.objects.length > 0) await bucket.delete(page.objects.map((o: R2Object) => o.key));
    if (!page.truncated) return;
  }
}
